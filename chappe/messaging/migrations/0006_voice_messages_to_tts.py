"""TTS voice messages become messages of the TTS channel (decision 0027): each
`callcenter.VoiceMessage` becomes a `Send` with the same id, each of its
`VoiceMessageCall`s a `Message` with the same id, so the ids clients hold still read
(GET /api/v1/voice-messages/{id}). The calls' outcomes become statuses with their history:

| the call was         | the message becomes                                             |
|----------------------|-----------------------------------------------------------------|
| queued, calling      | queued (called by the engine as any other; see below)           |
| listened, answered   | sent, then delivered (detail: listened / answered)              |
| busy, no_answer      | sent, then undelivered, error `sip_<its SIP status>`            |
| failed               | sent, then undelivered, error `sip_<its SIP status>`            |

Its price is what the old per-answered-call charge took (0 when it took nothing); the
usage records stay as they were (billing proof, never rewritten). A call still waiting
was accepted under the old terms (billed only if answered): it is called without a
charge. A sent message names its call record (`carrier_message_id`), as the engine does.
The callcenter migration 0005 then drops the old tables."""

from datetime import timedelta

from django.db import migrations

from chappe.common.numbers import number_facts

FINAL = {
    "listened": ("delivered", False),
    "answered": ("delivered", False),
    "busy": ("undelivered", True),
    "no_answer": ("undelivered", True),
    "failed": ("undelivered", True),
}
DEFAULT_SIP = {"busy": 486, "no_answer": 408, "failed": 503}


def copy(apps, schema_editor):
    VoiceMessage = apps.get_model("callcenter", "VoiceMessage")
    VoiceMessageCall = apps.get_model("callcenter", "VoiceMessageCall")
    UsageRecord = apps.get_model("billing", "UsageRecord")
    Send = apps.get_model("messaging", "Send")
    Message = apps.get_model("messaging", "Message")
    MessageEvent = apps.get_model("messaging", "MessageEvent")
    for voice_message in VoiceMessage.objects.all().iterator():
        send = Send.objects.create(
            id=voice_message.id, account_id=voice_message.account_id, channel="tts",
            kind="transactional", sender=voice_message.caller_id, text=voice_message.text,
            send_at=voice_message.send_at, callback_url=voice_message.callback_url,
            created_by="migrated", tts_language=voice_message.language,
            tts_voice=voice_message.voice, tts_repeat=voice_message.repeat)
        Send.objects.filter(pk=send.pk).update(created_at=voice_message.created_at)
        for call in VoiceMessageCall.objects.filter(message=voice_message).iterator():
            _message(Message, MessageEvent, UsageRecord, voice_message, call)


def _message(Message, MessageEvent, UsageRecord, voice_message, call):
    charge = UsageRecord.objects.filter(account_id=call.account_id,
                                        cause_type="callcenter.voicemessagecall",
                                        cause_id=str(call.pk)).first()
    facts = number_facts(call.recipient)
    final = FINAL.get(call.status)
    created = voice_message.created_at
    status, error_code, sent_at = "queued", "", None
    if final is not None:
        status, failed = final
        sip = call.sip_status or DEFAULT_SIP.get(call.status, 503)
        error_code = f"sip_{sip}" if failed else ""
        sent_at = call.call.started_at if call.call_id else call.updated_at
    message = Message.objects.create(
        id=call.id, account_id=call.account_id, send_id=voice_message.id, channel="tts",
        kind="transactional", recipient=call.recipient, country=facts.country if facts else "",
        sender=voice_message.caller_id, text=voice_message.text, encoding="", segments=1,
        price_micros=charge.amount_micros if charge else 0,
        currency=charge.currency if charge else "EUR", status=status,
        status_changed_at=call.updated_at, error_code=error_code, due_at=call.send_at,
        expires_at=call.send_at + timedelta(hours=24),
        connector="voice" if final else "",
        carrier_message_id=str(call.call_id) if final and call.call_id else "",
        attempts=1 if final else 0, sent_at=sent_at)
    Message.objects.filter(pk=message.pk).update(created_at=created)
    events = [("accepted", created, "", ""), ("queued", created, "", "")]
    if final is not None:
        events += [("sent", sent_at, "", "called"),
                   (status, call.updated_at, error_code, call.status)]
    MessageEvent.objects.bulk_create(
        MessageEvent(message_id=message.pk, status=name, at=at, error_code=code, detail=detail)
        for name, at, code, detail in events)


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0004_prepaid_fees"),
        ("callcenter", "0004_rental_prepaid_and_voicemail_alerts"),
        ("messaging", "0005_tts_channel"),
    ]

    operations = [migrations.RunPython(copy, migrations.RunPython.noop)]
