"""TTS voice messages (M-1) end to end: API → engine dialer → trunk → SIPp `uas` (the
phone) → status, call record, charge, webhook."""

import time
from decimal import Decimal

import pytest
from django.db import OperationalError

from chappe.billing.models import UsageRecord
from chappe.callcenter.models import CallRecord, Trunk, VoiceMessageCall
from chappe.webhooks.models import WebhookEvent
from tests.voice.sipp_tools import EngineThread, Phone, free_port

pytestmark = [pytest.mark.slow, pytest.mark.tools("sipp", "espeak-ng", "sox")]


def wait_final(timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            calls = list(VoiceMessageCall.objects.all())
        except OperationalError:
            calls = []
        if calls and all(c.status not in ("queued", "calling") for c in calls):
            return calls
        time.sleep(0.1)
    raise AssertionError("the voice message calls never ended")


def test_a_voice_message_reaches_a_sipp_phone_and_is_billed(transactional_db, data_dir,
                                                            account, api, buy_credits):
    buy_credits(account, Decimal("10"))
    phone = Phone(cwd=data_dir)
    Trunk.objects.create(name="carrier", host="127.0.0.1", port=phone.port)
    try:
        response = api.post("/api/v1/voice-messages", {
            "recipients": ["+33612345678"], "text": "Votre colis arrive demain.",
            "language": "fr", "repeat": 1, "callback_url": "https://client.example/hook"})
        assert response.status_code == 201, response.content
        message = response.json()
        assert [c["status"] for c in message["calls"]] == ["queued"]
        with EngineThread() as engine:
            engine.engine.dialer_poll = 0.2
            [call] = wait_final()
        status, output = phone.finish()
    finally:
        phone.stop()
    assert call.status == "listened", (call.status, call.sip_status)
    assert status == 0, output[-2000:]
    record = CallRecord.objects.get(pk=call.call_id)
    assert record.direction == "outbound"
    assert record.to_number == "+33612345678"
    assert 1 <= record.duration_seconds <= 4
    assert record.billed
    [usage] = UsageRecord.objects.filter(account=account, product="tts")
    assert usage.amount_micros == 120_000
    assert usage.destination_country == "FR"
    [event] = WebhookEvent.objects.filter(account=account, type="voice_message.status")
    assert event.url == "https://client.example/hook"
    assert event.payload["status"] == "listened"
    read = api.get(f"/api/v1/voice-messages/{message['id']}").json()
    assert read["calls"][0]["status"] == "listened"


def test_nobody_answering_is_no_answer_and_not_billed(transactional_db, data_dir, account, api,
                                                      buy_credits):
    buy_credits(account, Decimal("10"))
    Trunk.objects.create(name="carrier", host="127.0.0.1", port=free_port())  # silent
    api.post("/api/v1/voice-messages", {"recipients": ["0612345678"], "text": "Bonjour"})
    with EngineThread() as engine:
        engine.engine.dialer_poll = 0.2
        import chappe.voice.outbound as outbound

        original = outbound.message_play

        async def quick(*args, **kwargs):
            return await original(*args, **{**kwargs, "ring_timeout": 1})

        outbound.message_play = quick
        try:
            [call] = wait_final()
        finally:
            outbound.message_play = original
    assert call.status == "no_answer"
    assert call.sip_status == 408
    assert not UsageRecord.objects.filter(account=account, product="tts").exists()
