"""RCS campaigns (issue 19, decision 0058): the campaign engine sends the rich content
through an approved agent, and each recipient not RCS-capable or not reached in time
gets the SMS fallback by the path of a single RCS send (`rcs.dispatch`)."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from chappe.billing.models import UsageRecord
from chappe.campaigns.services import campaign_launch
from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.rcs_simulator.connector import CAPABLE, NOT_CAPABLE, SILENT
from chappe.carriers.selectors import routes_load
from chappe.carriers.services import rcs_simulator_ensure, simulator_ensure
from chappe.common.errors import Conflict, NotFound, ValidationFailed
from chappe.messaging.models import Message
from chappe.messaging.rcs.dispatch import rcs_dispatch, rcs_fallback_due
from chappe.messaging.rcs.send import stored_summary
from chappe.messaging.services.dispatch import dispatch_batch
from chappe.runtime.gateway import gateway_poll
from tests.campaigns.conftest import jobs_due_now, refreshed, run_jobs
from tests.messaging.rcs.conftest import PROFILE, png
from tests.messaging.rcs.test_content import card

CAROUSEL = {"type": "carousel", "cards": [card(0, 2), card(1, 2)]}
FALLBACK = "Nouveautés sur acme.example"
MENTION = "STOP au 36034"


@pytest.fixture
def fleet(db):
    simulator_ensure(config={"latency_ms": 0})
    rcs_simulator_ensure(config={"latency_ms": 0})
    return ConnectorFleet(process="test").refresh(), routes_load()


def run_until(fleet, done, rounds: int = 100) -> None:
    """The worker (pacing jobs) and the gateway (RCS then SMS dispatch, receipts) until
    `done()`; a pacing step waiting for its time is run at once."""
    connectors, routes = fleet
    rcs = {n: c for n, c in connectors.items() if getattr(c, "carries_rcs", False)}
    for _round in range(rounds):
        if done():
            return
        moved = run_jobs() + rcs_dispatch(worker="test", connectors=rcs)
        moved += dispatch_batch(worker="test", connectors=connectors, routes=routes)
        moved += gateway_poll(connectors)
        if not moved:
            jobs_due_now()
    raise AssertionError("the campaign did not get there")


def rcs_campaign(make_campaign, agent, **values):
    values.setdefault("numbers", [CAPABLE, NOT_CAPABLE, SILENT])
    return make_campaign(rcs_agent_id=agent.pk, rcs_content=CAROUSEL, fallback_text=FALLBACK,
                         fallback_after=300, **values)


def billed(account, product) -> Decimal:
    return sum((r.amount_micros for r in UsageRecord.objects.filter(
        account=account, product=product)), 0) / Decimal(1_000_000)


def test_an_rcs_campaign_falls_back_to_sms_per_recipient(
        actor, funded_account, launched_agent, make_campaign, fleet):
    campaign = rcs_campaign(make_campaign, launched_agent, kind="marketing")
    assert campaign.sender == launched_agent.sender
    assert campaign.text == stored_summary(campaign.rcs_content)
    campaign = campaign_launch(actor=actor, campaign=campaign)
    rcs = Message.objects.filter(channel="rcs")
    run_until(fleet, lambda: rcs.filter(status__in=("delivered", "rejected", "sent")).count()
              == 3 and Message.objects.filter(channel="sms", status="delivered").exists())
    campaign = refreshed(campaign)
    assert (campaign.recipients, campaign.messages) == (3, 3)
    by_number = {m.recipient: m for m in rcs}
    assert set(by_number) == {CAPABLE, NOT_CAPABLE, SILENT}
    assert all(m.send_id == campaign.send_id for m in by_number.values())
    assert by_number[CAPABLE].status == "delivered"
    assert (by_number[NOT_CAPABLE].status, by_number[NOT_CAPABLE].error_code) == (
        "rejected", "rcs_not_capable")
    assert by_number[SILENT].status == "sent"
    [sms] = Message.objects.filter(channel="sms")
    assert (sms.recipient, sms.text, sms.sender) == (NOT_CAPABLE, f"{FALLBACK}\n{MENTION}",
                                                     "Acme")
    assert any(f"fallback to SMS {sms.id}" in e.detail
               for e in by_number[NOT_CAPABLE].history())
    # Billed as RCS messages (the not-capable one given back), the fallback as SMS.
    assert billed(funded_account, "rcs_message") == Decimal("0.06")
    assert billed(funded_account, "sms") == Decimal("0.045")

    # Never delivered: the SMS fallback once its delay is over, not before.
    sent_at = Message.objects.get(recipient=SILENT, channel="rcs").sent_at
    with time_machine.travel(sent_at + timedelta(seconds=299), tick=False):
        assert rcs_fallback_due() == 0
    with time_machine.travel(sent_at + timedelta(seconds=300), tick=False):
        assert rcs_fallback_due() == 1
    late = Message.objects.get(recipient=SILENT, channel="sms")
    assert late.text == f"{FALLBACK}\n{MENTION}"
    assert (Message.objects.get(recipient=SILENT, channel="rcs").error_code
            == "rcs_fallback")


def test_an_rcs_campaign_through_an_unapproved_agent_is_refused_at_launch(
        actor, funded_account, draft_agent, make_campaign, fleet):
    campaign = rcs_campaign(make_campaign, draft_agent)
    with pytest.raises(Conflict) as refused:
        campaign_launch(actor=actor, campaign=campaign)
    assert refused.value.code == "rcs_agent_not_approved"
    assert refreshed(campaign).status == "draft"


def test_rcs_campaign_fields_are_checked_like_an_rcs_send(
        actor, funded_account, launched_agent, make_campaign, other_account):
    eleven = {"type": "carousel", "cards": [card(i, 2) for i in range(11)]}
    with pytest.raises(ValidationFailed) as bad:
        make_campaign(numbers=[CAPABLE], rcs_agent_id=launched_agent.pk, rcs_content=eleven)
    assert "content.cards" in bad.value.details
    with pytest.raises(ValidationFailed) as bad:
        make_campaign(numbers=[CAPABLE], rcs_agent_id=launched_agent.pk,
                      rcs_content=CAROUSEL, fallback_after=300)
    assert "fallback_text" in bad.value.details
    from chappe.accounts.actor import SYSTEM
    from chappe.messaging.rcs.agents import rcs_agent_create

    theirs = rcs_agent_create(actor=SYSTEM.on(other_account), account=other_account,
                              logo=png(224, 224), banner=png(1440, 448), **PROFILE)
    with pytest.raises(NotFound):
        make_campaign(numbers=[CAPABLE], rcs_agent_id=theirs.pk, rcs_content=CAROUSEL)


def test_the_api_creates_an_rcs_campaign_with_the_rcs_content_schema(
        api_for, funded_account, launched_agent):
    client = api_for(funded_account)
    body = {"name": "Soldes RCS", "numbers": [CAPABLE],
            "rcs": {"agent_id": str(launched_agent.pk), "content": CAROUSEL,
                    "fallback_text": FALLBACK, "fallback_after": 600}}
    response = client.post("/api/v1/campaigns", body)
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["channel"], created["rcs_agent_id"], created["fallback_after"]) == (
        "rcs", str(launched_agent.pk), 600)
    assert created["rcs_content"]["type"] == "carousel"
    assert created["sender"] == launched_agent.sender
    bad = client.post("/api/v1/campaigns", {**body, "rcs": {
        **body["rcs"], "content": {"type": "card", "card": card(0, 5)}}})
    assert bad.status_code in (400, 422), bad.content
    assert bad.json()["error"]["code"] == "validation_error"
    sms = client.post("/api/v1/campaigns", {"name": "SMS", "numbers": [CAPABLE]})
    assert sms.status_code == 400
    assert set(sms.json()["error"]["details"]) == {"sender", "text"}
