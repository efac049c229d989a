"""The data migration of decision 0027: the contact center's voice messages and their calls
become messages of the TTS channel, with the same ids, statuses, history and prices."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("messaging", "0005_tts_channel"),
          ("callcenter", "0004_rental_prepaid_and_voicemail_alerts")]
AFTER = [("messaging", "0006_voice_messages_to_tts"),
         ("callcenter", "0005_voice_messages_are_messages")]
WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_voice_messages_and_their_calls_become_tts_messages(make_account):
    account = make_account("Old Voice")
    old = migrate(BEFORE)
    VoiceMessage = old.get_model("callcenter", "VoiceMessage")
    VoiceMessageCall = old.get_model("callcenter", "VoiceMessageCall")
    CallRecord = old.get_model("callcenter", "CallRecord")
    voice = VoiceMessage.objects.create(account_id=account.pk, text="Votre colis arrive",
                                        language="en", voice="en-us", repeat=2, send_at=WHEN,
                                        callback_url="https://client.example/hook",
                                        caller_id="+33189000001")
    record = CallRecord.objects.create(account_id=account.pk, sip_call_id="x@y",
                                       direction="outbound", from_number="+33189000001",
                                       to_number="+33612345601", started_at=WHEN,
                                       answered_at=WHEN, ended_at=WHEN, billed=True)
    heard = VoiceMessageCall.objects.create(account_id=account.pk, message=voice,
                                            recipient="+33612345601", send_at=WHEN,
                                            status="listened", sip_status=200, call=record)
    busy = VoiceMessageCall.objects.create(account_id=account.pk, message=voice,
                                           recipient="+33612345602", send_at=WHEN,
                                           status="busy", sip_status=486)
    waiting = VoiceMessageCall.objects.create(account_id=account.pk, message=voice,
                                              recipient="+33612345603", send_at=WHEN)
    try:
        new = migrate(AFTER)
        Send = new.get_model("messaging", "Send")
        Message = new.get_model("messaging", "Message")
        send = Send.objects.get(pk=voice.pk)
        assert (send.channel, send.text, send.sender, send.callback_url) == (
            "tts", "Votre colis arrive", "+33189000001", "https://client.example/hook")
        assert (send.tts_language, send.tts_voice, send.tts_repeat) == ("en", "en-us", 2)
        messages = {m.pk: m for m in Message.objects.filter(send=send)}
        assert set(messages) == {heard.pk, busy.pk, waiting.pk}
        done = messages[heard.pk]
        assert (done.channel, done.status, done.country, done.segments) == ("tts", "delivered",
                                                                           "FR", 1)
        assert (done.connector, done.carrier_message_id) == ("voice", str(record.pk))
        assert [(e.status, e.detail) for e in done.events.order_by("id")] == [
            ("accepted", ""), ("queued", ""), ("sent", "called"), ("delivered", "listened")]
        assert (messages[busy.pk].status, messages[busy.pk].error_code) == ("undelivered",
                                                                            "sip_486")
        assert (messages[waiting.pk].status, messages[waiting.pk].price_micros) == ("queued", 0)
    finally:
        migrate(executor_leaf_nodes())


def executor_leaf_nodes():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()
