"""What the agents app holds about a caller goes with a recipient's erasure (P-12): the
caller-priority rules naming their number and their callback requests. The queue log
never holds caller numbers."""

from django.utils import timezone

from chappe.agents.models import CallbackRequest, CallerPriorityRule
from chappe.agents.services.setup import PriorityRuleDraft, queue_create
from chappe.privacy.rights import recipient_erase


def test_an_erasure_removes_the_priority_rules_naming_the_number(admin_actor):
    account = admin_actor.account
    queue = queue_create(actor=admin_actor, account=account, fields={"name": "VIP"},
                         priority_rules=[PriorityRuleDraft("caller_prefix", "+33612345678", 9),
                                         PriorityRuleDraft("caller_prefix", "+3361", 5),
                                         PriorityRuleDraft("branch", "vip", 3)])
    now = timezone.now()
    CallbackRequest.objects.create(account=account, queue=queue, call_id="c1",
                                   number="+33612345678", entered_at=now, requested_at=now)
    CallbackRequest.objects.create(account=account, queue=queue, call_id="c2",
                                   number="+33699999999", entered_at=now, requested_at=now)
    recipient_erase(actor=admin_actor, account=account, number="06 12 34 56 78")
    assert list(CallbackRequest.objects.values_list("number", flat=True)) == ["+33699999999"]
    left = sorted(CallerPriorityRule.objects.filter(queue=queue).values_list("kind", "value"))
    assert left == [("branch", "vip"), ("caller_prefix", "+3361")]  # a prefix names nobody
