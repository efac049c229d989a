"""What the agents app holds about a caller goes with a recipient's erasure (P-12): the
caller-priority rules naming their number. The queue log never holds caller numbers."""

from chappe.agents.models import CallerPriorityRule
from chappe.agents.services.setup import PriorityRuleDraft, queue_create
from chappe.privacy.rights import recipient_erase


def test_an_erasure_removes_the_priority_rules_naming_the_number(admin_actor):
    account = admin_actor.account
    queue = queue_create(actor=admin_actor, account=account, fields={"name": "VIP"},
                         priority_rules=[PriorityRuleDraft("caller_prefix", "+33612345678", 9),
                                         PriorityRuleDraft("caller_prefix", "+3361", 5),
                                         PriorityRuleDraft("branch", "vip", 3)])
    recipient_erase(actor=admin_actor, account=account, number="06 12 34 56 78")
    left = sorted(CallerPriorityRule.objects.filter(queue=queue).values_list("kind", "value"))
    assert left == [("branch", "vip"), ("caller_prefix", "+3361")]  # a prefix names nobody
