"""TTS voice messages (M-1) end to end: the API accepts them as messages of the TTS
channel (charged at acceptance), the engine claims them like a connector through its
directory, calls a SIPp phone behind a trunk, and the outcome comes back as the message's
transitions (history, `message.status` webhooks) with a call record of the call."""

import time
from decimal import Decimal

import pytest
from django.db import OperationalError

from chappe.billing.models import UsageRecord
from chappe.callcenter.models import CallRecord, Trunk
from chappe.messaging.models import Message
from chappe.webhooks.models import WebhookEvent
from tests.ports import free_port
from tests.voice.sipp_tools import EngineThread, Phone, scenario

pytestmark = [pytest.mark.slow, pytest.mark.tools("sipp", "espeak-ng", "sox")]

FINAL = ("delivered", "undelivered", "rejected", "expired", "canceled", "opted_out")


def wait_final(timeout=40.0) -> list[Message]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            messages = list(Message.objects.filter(channel="tts"))
        except OperationalError:  # SQLite's shared in-memory test database, mid-write
            messages = []
        if messages and all(m.status in FINAL for m in messages):
            return messages
        time.sleep(0.1)
    raise AssertionError("the voice messages never ended")


def history(message: Message) -> list[tuple[str, str]]:
    return [(event.status, event.detail) for event in message.history()]


def test_a_voice_message_is_charged_at_acceptance_called_and_delivered(
        transactional_db, data_dir, account, api, buy_credits):
    buy_credits(account, Decimal("10"))
    phone = Phone(cwd=data_dir)
    Trunk.objects.create(name="carrier", host="127.0.0.1", port=phone.port)
    try:
        response = api.post("/api/v1/voice-messages", {
            "recipients": ["+33612345678"], "text": "Votre colis arrive demain.",
            "language": "fr", "repeat": 1, "callback_url": "https://client.example/hook"})
        assert response.status_code == 201, response.content
        sent = response.json()
        [queued] = sent["calls"]
        assert (queued["status"], queued["message_status"]) == ("queued", "queued")
        # M-8: charged per call at acceptance, before anyone is called.
        [usage] = UsageRecord.objects.filter(account=account, product="tts")
        assert (usage.amount_micros, usage.destination_country) == (120_000, "FR")
        # One use of one call: its record is caused by the send, named by the message.
        assert (usage.uses, usage.cause_type, usage.cause_id) == (1, "messaging.send",
                                                                 sent["id"])
        assert str(Message.objects.get(pk=queued["id"]).usage_id) == str(usage.pk)
        assert Decimal(str(queued["price"])) == Decimal("0.12")
        with EngineThread() as engine:
            engine.engine.dialer_poll = 0.2
            [message] = wait_final()
        status, output = phone.finish()
    finally:
        phone.stop()
    assert status == 0, output[-2000:]
    assert message.status == "delivered"
    assert history(message) == [("accepted", ""), ("queued", ""),
                                ("sent", "called via trunk carrier"),
                                ("delivered", "listened")]
    assert (message.connector, message.locked_by, message.locked_until) == ("voice", "", None)
    record = CallRecord.objects.get(pk=message.carrier_message_id)
    assert (record.direction, record.to_number) == ("outbound", "+33612345678")
    assert record.flow_path == ["voice_message"]
    assert record.billed  # through its message: never rated per second
    assert 1 <= record.duration_seconds <= 4
    assert UsageRecord.objects.filter(account=account).count() == 1
    events = WebhookEvent.objects.filter(account=account, type="message.status")
    assert [e.payload["status"] for e in events.order_by("created_at")] == ["sent", "delivered"]
    assert {e.url for e in events} == {"https://client.example/hook"}
    [call] = api.get(f"/api/v1/voice-messages/{sent['id']}").json()["calls"]
    assert (call["status"], call["sip_status"], call["call_id"]) == ("listened", 200,
                                                                     str(record.pk))


def test_a_busy_phone_makes_the_message_undelivered_with_the_sip_code(
        transactional_db, data_dir, account, api, buy_credits):
    buy_credits(account, Decimal("10"))
    phone = Phone(*scenario("refuse.xml", data_dir, status="486"), cwd=data_dir)
    Trunk.objects.create(name="carrier", host="127.0.0.1", port=phone.port)
    try:
        response = api.post("/api/v1/voice-messages", {"recipients": ["0612345678"],
                                                        "text": "Bonjour"})
        with EngineThread() as engine:
            engine.engine.dialer_poll = 0.2
            [message] = wait_final()
        assert phone.finish()[0] == 0
    finally:
        phone.stop()
    assert (message.status, message.error_code) == ("undelivered", "sip_486")
    assert history(message)[-1] == ("undelivered", "busy")
    assert UsageRecord.objects.filter(account=account, product="tts").count() == 1  # M-8
    [call] = api.get(f"/api/v1/voice-messages/{response.json()['id']}").json()["calls"]
    assert (call["status"], call["sip_status"]) == ("busy", 486)
    assert CallRecord.objects.get(pk=message.carrier_message_id).disposition == "busy"


def test_nobody_answering_is_undelivered_408(transactional_db, data_dir, account, api,
                                             buy_credits, monkeypatch):
    buy_credits(account, Decimal("10"))
    Trunk.objects.create(name="carrier", host="127.0.0.1", port=free_port())  # silent
    import chappe.voice.outbound as outbound

    original = outbound.message_play

    async def quick(*args, **kwargs):
        return await original(*args, **{**kwargs, "ring_timeout": 1})

    monkeypatch.setattr(outbound, "message_play", quick)
    api.post("/api/v1/voice-messages", {"recipients": ["0612345678"], "text": "Bonjour"})
    with EngineThread() as engine:
        engine.engine.dialer_poll = 0.2
        [message] = wait_final()
    assert (message.status, message.error_code) == ("undelivered", "sip_408")
    assert history(message)[-1] == ("undelivered", "no_answer")


def test_a_number_no_trunk_routes_is_rejected_without_a_call(transactional_db, data_dir,
                                                             account, api, buy_credits):
    buy_credits(account, Decimal("10"))
    Trunk.objects.create(name="uk", host="127.0.0.1", port=free_port(),
                         number_prefixes=["+44"])
    api.post("/api/v1/voice-messages", {"recipients": ["0612345678"], "text": "Bonjour"})
    with EngineThread() as engine:
        engine.engine.dialer_poll = 0.2
        [message] = wait_final()
    assert (message.status, message.error_code) == ("rejected", "no_route")
    assert not CallRecord.objects.filter(account=account).exists()
