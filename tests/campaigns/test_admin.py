"""The operator's back-office for campaigns held for review (M-9): listed, released at
the operator-specific price or refused (with a reason), audited with the staff user."""

import pytest
from django.contrib.admin import helpers
from django.test import Client
from django.urls import reverse

from chappe.accounts.models import User
from chappe.audit.models import AuditEntry
from chappe.campaigns.services import campaign_launch
from chappe.contacts.models import Contact
from tests.campaigns.conftest import refreshed


@pytest.fixture
def staff(db) -> Client:
    user = User.objects.create_superuser("ops@operator.example", "correct-horse-battery-9")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def held(actor, funded_account, make_campaign, settings):
    settings.CHAPPE_OPERATOR_SKEW = {
        "action": "hold", "threshold": 0.30, "min_recipients": 5,
        "mix": {"FR": {"Orange France": {"share": 0.40, "code": "20801"}}}}
    for i in range(6):
        Contact(account=funded_account, mobile=f"+3363{i:07d}").save()
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    assert campaign.status == "review"
    return campaign


def _act(staff, action: str, campaign, **extra):
    return staff.post(reverse("admin:campaigns_campaign_changelist"), {
        "action": action, helpers.ACTION_CHECKBOX_NAME: [str(campaign.pk)], **extra})


def test_held_campaigns_are_listed_and_released_at_the_operator_price(staff, held):
    page = staff.get(reverse("admin:campaigns_campaign_changelist") + "?held=yes")
    assert held.name in page.content.decode()
    assert staff.get(reverse("admin:campaigns_campaign_change",
                             args=[held.pk])).status_code == 200
    _act(staff, "release_at_operator_price", held)
    campaign = refreshed(held)
    assert campaign.status == "launching"
    assert campaign.operator_pricing == {"FR": {"Orange France": "20801"}}
    assert campaign.reviewed_by == "ops@operator.example"
    assert AuditEntry.objects.filter(action="campaign.review_release",
                                     actor_label="ops@operator.example").exists()


def test_refusing_asks_for_a_reason(staff, held):
    form = _act(staff, "refuse_the_held_campaign", held)
    assert "Reason" in form.content.decode()
    _act(staff, "refuse_the_held_campaign", held, apply="1", reason="Traffic pumping")
    assert refreshed(held).status == "refused"
    entry = AuditEntry.objects.get(action="campaign.review_refuse")
    assert entry.details == {"reason": "Traffic pumping"}
