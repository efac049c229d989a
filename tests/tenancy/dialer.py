"""Tenant data and path parameters of chappe.dialer: a draft call campaign on the agents'
seed queue presenting the callcenter seed's number, a launched one with an attempt, and
a consent record."""

from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.dialer.models import (
    BloctelScrub,
    CampaignContact,
    CampaignState,
    Consent,
    ContractExemption,
    DialAttempt,
)
from chappe.dialer.services import call_campaign_create
from tests.tenancy import IdFactory, NotTenantScoped, Tenant


def seed(t: Tenant) -> None:
    now = timezone.now()
    campaign = call_campaign_create(
        actor=SYSTEM.on(t.account), account=t.account, queue=t.objects["queue"],
        name=f"Calls {t.tag}", caller_id=t.objects["rental"].number.e164,
        numbers=["+33612340001"], mode="preview")
    running = call_campaign_create(
        actor=SYSTEM.on(t.account), account=t.account, queue=t.objects["queue"],
        name=f"Running {t.tag}", caller_id=t.objects["rental"].number.e164,
        numbers=["+33612340002"], mode="preview")
    running.state = CampaignState.RUNNING
    running.save()
    contact = CampaignContact.objects.create(campaign=running, number="+33612340002")
    attempt = DialAttempt.objects.create(account=t.account, campaign=running,
                                         campaign_contact=contact, number=contact.number,
                                         at=now)
    consent = Consent.objects.create(account=t.account, number="+33612340003", given_at=now,
                                     source=f"form {t.tag}", proof=f"proof {t.tag}")
    ContractExemption.objects.create(account=t.account, number="+33612340004",
                                     reference=f"contract {t.tag}")
    BloctelScrub.objects.create(account=t.account, imported_at=now,
                                filename=f"bloctel-{t.tag}.txt", path="bloctel/none", sha256="0")
    t.markers |= {f"form {t.tag}", f"contract {t.tag}", f"bloctel-{t.tag}.txt"}
    t.objects.update(call_campaign=campaign, call_attempt=attempt, call_consent=consent)


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "call_campaign_id": lambda t: [t.objects["call_campaign"].pk],
    "call_attempt_id": lambda t: [t.objects["call_attempt"].pk],
    "call_consent_id": lambda t: [t.objects["call_consent"].pk],
}

LISTS_WITHOUT_TENANT_DATA = {
    "GET /api/v1/bloctel/export": "a text file of the tenant's prospects, not ids",
    "GET /api/v1/dialer-policy": "the account's setting, no id",
}

BODY_OVERRIDES = {
    "POST /api/v1/call-attempts/{call_attempt_id}/disposition": {"code": "interested"},
}
