"""TTS voice messages as a channel of messaging (decision 0027): accepted by the same core
as SMS (red list, one per number, Idempotency-Key, hours, validity, credit, a charge per
call at acceptance), claimed by the voice engine like a connector (SMS gateways never see
them), checked again for suspension when called, and their calls' outcomes recorded as
moves of the lifecycle."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.services import (
    account_reactivate,
    account_suspend,
    service_reactivate,
    service_suspend,
)
from chappe.billing.models import UsageRecord
from chappe.billing.selectors import balance_summary
from chappe.contacts.models import OptOut
from chappe.messaging.models import Message, Send
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.dispatch import LEASE, dispatch_claim
from chappe.messaging.services.tts import tts_call_finish, tts_calls_claim, tts_calls_extend
from chappe.voice import outbound
from chappe.voice.directory import MessageCallEnd
from chappe.voice.flows import Prompt
from chappe.webhooks.models import WebhookEvent

ENGINE = "voice:test"
# Monday 7 December 2026, 12:00 in Paris: inside the French marketing window.
MONDAY_NOON = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)


@pytest.fixture
def tts_api(api_for, funded_account):
    return api_for(funded_account)


def post(client, **body):
    body.setdefault("text", "Votre colis arrive demain.")
    headers = body.pop("headers", {})
    return client.post("/api/v1/voice-messages", body, headers=headers)


def usable(account) -> Decimal:
    [eur] = balance_summary(account=account)
    return Decimal(eur["usable_micros"]) / 1_000_000


def accept_one(account, **kw) -> Message:
    from chappe.messaging.services.tts import tts_send

    outcome = tts_send(actor=SYSTEM.on(account), account=account,
                       recipients=[kw.pop("recipient", "+33612345678")],
                       text=kw.pop("text", "Bonjour"), **kw)
    return Message.objects.get(pk=outcome.recipients[0].message.pk)


def test_a_voice_message_goes_through_the_acceptance_core_and_is_charged_per_call(
        tts_api, funded_account):
    OptOut.objects.create(account=funded_account, number="+33612345603", source="manual")
    before = usable(funded_account)
    response = post(tts_api, recipients=["+33612345601", "06 12 34 56 01", "+33612345603",
                                         "+33612345602"],
                    language="en", voice="en-us", repeat=2, caller_id="+33189000001",
                    callback_url="https://client.example/hook")
    assert response.status_code == 201, response.content
    body = response.json()
    # One call per number (M-6); the red-listed number gets none (M-5) and is not billed.
    assert sorted((c["recipient"], c["status"]) for c in body["calls"]) == [
        ("+33612345601", "queued"), ("+33612345602", "queued"), ("+33612345603", "opted_out")]
    assert Decimal(str(body["total_price"])) == Decimal("0.24")
    assert usable(funded_account) == before - Decimal("0.24")
    usage = UsageRecord.objects.filter(account=funded_account)
    # The two calls are one kind of use: one record of two (decision 0036).
    assert [(u.product, u.uses, u.billed_quantity, u.cause_type) for u in usage] == [
        ("tts", 2, 2, "messaging.send")]
    send = Send.objects.get(pk=body["id"])
    assert (send.channel, send.sender, send.text) == ("tts", "+33189000001",
                                                      "Votre colis arrive demain.")
    assert (send.tts_language, send.tts_voice, send.tts_repeat) == ("en", "en-us", 2)
    message = Message.objects.get(recipient="+33612345601")
    assert (message.channel, message.segments, message.encoding) == ("tts", 1, "")
    assert message.expires_at - message.due_at == timedelta(hours=24)  # M-7
    assert (body["language"], body["voice"], body["repeat"], body["caller_id"]) == (
        "en", "en-us", 2, "+33189000001")


def test_the_idempotency_key_replays_a_voice_message(tts_api, funded_account):
    first = post(tts_api, recipients=["+33612345601"], headers={"Idempotency-Key": "k1"})
    again = post(tts_api, recipients=["+33612345601"], headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["replayed"]
    assert again.json()["id"] == first.json()["id"]
    assert Message.objects.count() == 1
    other = post(tts_api, recipients=["+33612345601"], repeat=3,
                 headers={"Idempotency-Key": "k1"})
    assert other.status_code == 409


def test_without_credit_no_voice_message_is_accepted(api_for, account, price_list):
    response = post(api_for(account), recipients=["+33612345601"])
    assert response.status_code == 402
    assert not Send.objects.exists()
    assert not UsageRecord.objects.exists()


def test_marketing_voice_messages_wait_for_the_sending_window(tts_api, funded_account):
    with time_machine.travel(datetime(2026, 12, 6, 11, 0, tzinfo=UTC), tick=False):  # Sunday
        body = post(tts_api, recipients=["+33612345601"], kind="marketing").json()
    assert body["calls"][0]["message_status"] == "scheduled"
    message = Message.objects.get()
    assert message.due_at.astimezone(UTC) == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # 08:00
    assert "STOP" not in message.text  # no STOP mention read out in a call


@pytest.mark.parametrize(("body", "field"), [
    ({"recipients": ["+33612345678", "not a number"]}, "recipients"),
    ({"recipients": ["+33612345678"], "voice": "fr; rm -rf"}, "voice"),
    ({"recipients": ["+33612345678"], "caller_id": "Chappe"}, "caller_id"),
])
def test_voice_message_input_is_validated(tts_api, body, field):
    response = post(tts_api, **body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["details"]
    assert not Message.objects.exists()


def test_the_sms_gateway_and_the_voice_engine_claim_only_their_own_channel(funded_account):
    sms = sms_send(actor=SYSTEM.on(funded_account), account=funded_account,
                   recipients=["+33612345601"], text="Hello", sender="Chappe")
    voice = accept_one(funded_account, caller_id="+33189000001", language="en", repeat=2)
    claimed = dispatch_claim(worker="gateway:1")
    assert [m.pk for m in claimed] == [sms.recipients[0].message.pk]
    [call] = tts_calls_claim(worker=ENGINE)
    assert (call.id, call.recipient, call.caller, call.repeat) == (
        str(voice.pk), "+33612345678", "33189000001", 2)
    assert call.prompt == Prompt(text="Bonjour", language="en")
    voice.refresh_from_db()
    assert (voice.status, voice.locked_by) == ("queued", ENGINE)
    assert tts_calls_claim(worker="voice:other") == []  # leased


def test_sms_endpoints_do_not_show_voice_messages(tts_api, funded_account):
    message = accept_one(funded_account)
    assert tts_api.get("/api/v1/sms").json()["count"] == 0
    assert tts_api.get(f"/api/v1/sms/{message.pk}").status_code == 404
    assert tts_api.delete(f"/api/v1/sms/sends/{message.send_id}").status_code == 404


@pytest.mark.parametrize("suspend", ["service", "account"])
def test_a_suspension_after_acceptance_holds_the_message_until_it_is_lifted(
        funded_account, suspend):
    """P-8: checked again when the engine takes it, not only at acceptance; a suspended
    account's voice messages wait, like its SMS, and are called once it is lifted."""
    message = accept_one(funded_account, callback_url="https://client.example/hook")
    service = funded_account.services.get(kind="messaging")
    if suspend == "service":
        service_suspend(actor=SYSTEM, service=service, reason="non_payment")
    else:
        account_suspend(actor=SYSTEM, account=funded_account, reason="legal_order")
    assert tts_calls_claim(worker=ENGINE) == []
    message.refresh_from_db()
    assert (message.status, message.locked_until) == ("queued", None)
    assert not WebhookEvent.objects.filter(type="message.status").exists()
    if suspend == "service":
        service_reactivate(actor=SYSTEM, service=service)
    else:
        account_reactivate(actor=SYSTEM, account=funded_account)
    [call] = tts_calls_claim(worker=ENGINE)
    assert call.id == str(message.pk)


def test_a_voice_message_past_its_validity_expires_uncalled(funded_account):
    message = accept_one(funded_account)
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert tts_calls_claim(worker=ENGINE) == []
    message.refresh_from_db()
    assert message.status == "expired"


def end(status, sip_status=200, **kw):
    started = timezone.now()
    answered = started + timedelta(seconds=2) if status in (outbound.LISTENED,
                                                            outbound.ANSWERED) else None
    return MessageCallEnd(status=status, sip_status=sip_status, started_at=started,
                          ended_at=started + timedelta(seconds=8), answered_at=answered,
                          sip_call_id="abc@host", plays=1, trunk="carrier", **kw)


@pytest.mark.parametrize(("outcome", "sip", "moves", "code"), [
    (outbound.LISTENED, 200, ["sent", "delivered"], ""),
    (outbound.ANSWERED, 200, ["sent", "delivered"], ""),
    (outbound.BUSY, 486, ["sent", "undelivered"], "sip_486"),
    (outbound.NO_ANSWER, 408, ["sent", "undelivered"], "sip_408"),
    (outbound.FAILED, 603, ["sent", "undelivered"], "sip_603"),
    (outbound.NO_ROUTE, 503, ["rejected"], "no_route"),
    (outbound.ERROR, 503, ["rejected"], "call_failed"),
])
def test_each_outcome_of_a_call_is_a_move_of_the_lifecycle(funded_account, outcome, sip,
                                                            moves, code):
    message = accept_one(funded_account, callback_url="https://client.example/hook")
    [call] = tts_calls_claim(worker=ENGINE)
    tts_call_finish(message_id=call.id, end=end(outcome, sip), call_ref="ref-1")
    message.refresh_from_db()
    stored = list(message.events.order_by("at", "id"))
    assert [e.status for e in stored] == moves
    assert (message.status, message.error_code) == (moves[-1], code)
    assert (message.locked_by, message.locked_until) == ("", None)
    if "sent" in moves:
        assert (message.connector, message.carrier_message_id) == ("voice", "ref-1")
        assert stored[-1].detail == outcome
    assert [e.payload["status"] for e in WebhookEvent.objects.order_by("created_at")] == moves
    assert UsageRecord.objects.filter(account=funded_account).count() == 1  # charged once


def test_every_trunk_at_its_caps_queues_the_message_again(funded_account):
    message = accept_one(funded_account)
    [call] = tts_calls_claim(worker=ENGINE)
    tts_call_finish(message_id=call.id, end=end(outbound.CONGESTED, 503))
    message.refresh_from_db()
    assert (message.status, message.locked_until) == ("queued", None)
    assert message.due_at > timezone.now()
    assert not message.events.exists()


def test_heartbeats_keep_a_call_in_flight_leased_to_its_engine(funded_account):
    message = accept_one(funded_account)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        [call] = tts_calls_claim(worker=ENGINE)
    with time_machine.travel(start + LEASE - timedelta(seconds=10), tick=False):
        assert tts_calls_extend(worker=ENGINE, ids=[call.id]) == 1
        assert tts_calls_extend(worker="voice:other", ids=[call.id]) == 0
    with time_machine.travel(start + LEASE + timedelta(seconds=10), tick=False):
        assert tts_calls_claim(worker="voice:other") == []  # still ours
    with time_machine.travel(start + 3 * LEASE, tick=False):  # the engine died: taken back
        assert [c.id for c in tts_calls_claim(worker="voice:other")] == [str(message.pk)]


def test_a_scheduled_voice_message_can_be_canceled_and_its_charge_given_back(
        tts_api, funded_account):
    before = usable(funded_account)
    body = post(tts_api, recipients=["+33612345601"],
                send_at=(timezone.now() + timedelta(days=1)).isoformat()).json()
    assert usable(funded_account) == before - Decimal("0.12")
    canceled = tts_api.delete(f"/api/v1/voice-messages/{body['id']}")
    assert canceled.status_code == 200
    assert canceled.json()["calls"][0]["status"] == "canceled"
    assert usable(funded_account) == before
