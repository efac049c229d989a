"""RCS through the gateway with the RCS simulator: capability, rich send, SMS fallback
(not capable, and not delivered in time), read receipts, replies and taps, and the
session billing of M-15."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from chappe.accounts.actor import SYSTEM
from chappe.billing.models import UsageRecord
from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.rcs_simulator.connector import (
    CAPABLE,
    CLICKS,
    NOT_CAPABLE,
    READS,
    REPLIES,
    SILENT,
)
from chappe.carriers.selectors import routes_load
from chappe.carriers.services import rcs_simulator_ensure, simulator_ensure
from chappe.messaging.models import Message, Reply
from chappe.messaging.rcs.dispatch import rcs_dispatch, rcs_fallback_due
from chappe.messaging.rcs.models import RcsInteraction, RcsSession
from chappe.messaging.rcs.send import rcs_send
from chappe.messaging.services.dispatch import dispatch_batch
from chappe.runtime.gateway import gateway_poll
from tests.messaging.rcs.test_content import card

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
CAROUSEL = {"type": "carousel", "cards": [card(0, 2), card(1, 2)]}
MICROS = Decimal(1_000_000)


@pytest.fixture
def fleet(db):
    simulator_ensure(config={"latency_ms": 0})
    rcs_simulator_ensure(config={"latency_ms": 0})
    connectors = ConnectorFleet(process="test").refresh()
    return connectors, routes_load()


def run(fleet, now=None):
    connectors, routes = fleet
    rcs = {n: c for n, c in connectors.items() if getattr(c, "carries_rcs", False)}
    rcs_dispatch(worker="test", connectors=rcs, now=now)
    dispatch_batch(worker="test", connectors=connectors, routes=routes)
    gateway_poll(connectors)


def send(account, agent, recipients, **kwargs):
    kwargs.setdefault("content", CAROUSEL)
    return rcs_send(actor=SYSTEM.on(account), account=account, recipients=recipients,
                    agent_id=agent.pk, **kwargs)


def prices(account, product):
    return sum(r.amount_micros for r in UsageRecord.objects.filter(
        account=account, product=product)) / MICROS


def test_capable_phones_get_rcs_and_the_others_the_sms_fallback(
        funded_account, launched_agent, fleet):
    send(funded_account, launched_agent, [CAPABLE, NOT_CAPABLE, READS],
         fallback_text="New shoes at acme.example")
    run(fleet)
    run(fleet)  # the fallback SMS, accepted during the first run, leaves now
    rcs = {m.recipient: m for m in Message.objects.filter(channel="rcs")}
    assert rcs[CAPABLE].status == "delivered"
    assert rcs[NOT_CAPABLE].status == "rejected"
    assert rcs[NOT_CAPABLE].error_code == "rcs_not_capable"
    [sms] = Message.objects.filter(channel="sms")
    assert (sms.recipient, sms.text, sms.sender, sms.status) == (
        NOT_CAPABLE, "New shoes at acme.example", "Acme", "delivered")
    assert any(f"fallback to SMS {sms.id}" in e.detail for e in rcs[NOT_CAPABLE].history())
    assert "read" in [e.status for e in rcs[READS].history()]
    # Billed: two RCS messages (the not-capable one given back) and one SMS segment.
    assert prices(funded_account, "rcs_message") == Decimal("0.06")
    assert prices(funded_account, "sms") == Decimal("0.045")


def test_not_capable_without_fallback_is_rejected_and_not_billed(
        funded_account, launched_agent, fleet):
    send(funded_account, launched_agent, [NOT_CAPABLE])
    run(fleet)
    assert Message.objects.get().status == "rejected"
    assert prices(funded_account, "rcs_message") == 0


def test_not_delivered_within_the_delay_falls_back(funded_account, launched_agent, fleet):
    with time_machine.travel(T0, tick=False):
        send(funded_account, launched_agent, [SILENT], fallback_text="Your parcel is here",
             fallback_after=300)
        run(fleet)
    rcs = Message.objects.get(channel="rcs")
    assert rcs.status == "sent"
    with time_machine.travel(T0 + timedelta(seconds=299), tick=False):
        assert rcs_fallback_due() == 0
    with time_machine.travel(T0 + timedelta(seconds=300), tick=False):
        assert rcs_fallback_due() == 1
        assert rcs_fallback_due() == 0
    rcs.refresh_from_db()
    assert (rcs.status, rcs.error_code) == ("undelivered", "rcs_fallback")
    assert Message.objects.get(channel="sms").text == "Your parcel is here"
    # The RCS message reached the carrier: it stays billed, and the SMS is billed too.
    assert prices(funded_account, "rcs_message") == Decimal("0.03")
    assert prices(funded_account, "sms") == Decimal("0.045")


def test_a_reply_opens_a_billed_session_and_a_tap_is_billed_at_the_session_price(
        funded_account, launched_agent, fleet):
    with time_machine.travel(T0, tick=False):
        send(funded_account, launched_agent, [REPLIES, CLICKS])
        run(fleet)
    text = Reply.objects.get(from_number=REPLIES)
    tap = Reply.objects.get(from_number=CLICKS)
    assert text.text == "Yes please"
    assert (tap.text, tap.rcs_interaction.postback_data) == ("Pick 0", "p0-0")
    assert tap.rcs_interaction.kind == "suggestion"
    assert RcsSession.objects.count() == 2
    # One session opened by the text reply, one tap (which opened the other session).
    assert prices(funded_account, "rcs_session") == Decimal("0.12")


def test_session_edges_24_hours(funded_account, launched_agent):
    from chappe.messaging.rcs.sessions import rcs_interaction_record

    def mo(at, postback=""):
        with time_machine.travel(at, tick=False):
            reply = Reply.objects.create(
                account=funded_account, from_number=CAPABLE, to=launched_agent.sender,
                text="hi", connector="t", carrier_id=f"mo-{at.timestamp()}-{postback}",
                received_at=at)
            return rcs_interaction_record(reply=reply, postback_data=postback)

    first = mo(T0)
    inside = mo(T0 + timedelta(hours=23, minutes=59, seconds=59))
    tap = mo(T0 + timedelta(hours=23, minutes=59, seconds=59, milliseconds=500), "p1")
    after = mo(T0 + timedelta(hours=24))
    assert first.session == inside.session == tap.session != after.session
    assert (first.price_micros, inside.price_micros, tap.price_micros,
            after.price_micros) == (60_000, 0, 60_000, 60_000)
    assert RcsInteraction.objects.count() == 4
