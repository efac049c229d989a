"""SMS endpoints: send, read with history, list/filter/export, cancel or edit before it
leaves, replies. TTS voice messages: send, read, cancel before they leave."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from asgiref.sync import sync_to_async
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from chappe.accounts.roles import Perm
from chappe.api.v1.base import ASYNC_AUTH, actor_of
from chappe.common.csv_export import csv_response
from chappe.common.errors import ValidationFailed
from chappe.common.numbers import InvalidNumber, normalize
from chappe.messaging import selectors
from chappe.messaging.archive import ARCHIVE_CSV_HEADER, archive_csv_rows, archive_search
from chappe.messaging.export import MESSAGE_CSV_FILENAME, MESSAGE_CSV_HEADER, message_csv_rows
from chappe.messaging.group_commit import SCOPE_KEY
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import Message, Send
from chappe.messaging.schemas import (
    ArchivedMessageOut,
    MessageDetailOut,
    MessageOut,
    MessagePatch,
    ReplyOut,
    SendOut,
    SmsCreate,
    VoiceMessageIn,
    VoiceMessageOut,
)
from chappe.messaging.services.accept import SendOutcome, SmsRequest, sms_send_one
from chappe.messaging.services.edit import message_cancel, message_edit, send_cancel, send_edit
from chappe.messaging.services.tts import VOICE_CONNECTOR, tts_send

router = Router(tags=["sms"])
MICROS = Decimal(1_000_000)


def send_answer(outcome: SendOutcome) -> dict:
    """The `SendOut` of an outcome (also served by `single_send`, outside ninja)."""
    recipients, total, currency = [], 0, ""
    for result in outcome.recipients:
        row: dict = {"input": result.input, "status": result.status, "number": result.e164,
                     "country": result.country}
        if message := result.message:
            total += message.price_micros
            currency = message.currency
            row.update(message_id=message.id, encoding=message.encoding,
                       segments=message.segments, price=message.price_micros / MICROS,
                       currency=message.currency, sender=message.sender,
                       sender_note=message.sender_note)
        if result.error_code:
            row["error"] = {"code": result.error_code, "message": str(result.error_message)}
        recipients.append(row)
    return {"send_id": outcome.send.id, "replayed": outcome.replayed,
            "accepted": sum(1 for r in outcome.recipients if r.message is not None),
            "total_price": total / MICROS, "currency": currency or "EUR",
            "recipients": recipients}


@router.post("/sms", response={200: SendOut, 201: SendOut}, auth=ASYNC_AUTH)
async def sms_create(request: HttpRequest, payload: SmsCreate,
                     idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """Send an SMS to up to 10,000 recipients, now or at `send_at`. Problems with one
    recipient (invalid number, duplicate, red list) are reported in its row; the other
    recipients are accepted. A replay with the same `Idempotency-Key` answers 200 with
    the original result and sends nothing."""
    actor = actor_of(request)
    send = SmsRequest(actor=actor, account=actor.account, idempotency_key=idempotency_key,
                      **payload.dict())
    # The web role's group commit (decision 0028), handed over in the ASGI scope.
    group_commit = getattr(request, "scope", {}).get(SCOPE_KEY)
    if group_commit is not None:
        outcome = await group_commit.send(send, language=get_language())
    else:
        outcome = await sync_to_async(sms_send_one)(send)
    return Status(200 if outcome.replayed else 201, send_answer(outcome))


class MessageFilters(Schema):
    status: str | None = None
    recipient: str | None = None
    sender: str | None = None
    reference: str | None = None
    send_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@router.get("/sms", response=list[MessageOut])
@paginate(LimitOffsetPagination)
def sms_list(request: HttpRequest, filters: Query[MessageFilters]):
    """Messages, newest first, filtered by status, recipient, sender, reference, send or
    creation time."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    return selectors.message_list(account=actor.account, **filters.dict())


@router.get("/sms/export", response={200: None})
def sms_export(request: HttpRequest, filters: Query[MessageFilters]):
    """The same list as CSV (streamed, all matching rows)."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    rows = selectors.message_list(account=actor.account, **filters.dict())
    return csv_response(MESSAGE_CSV_FILENAME, MESSAGE_CSV_HEADER, message_csv_rows(rows))


class ArchiveFilters(Schema):
    number: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _archived(request: HttpRequest, filters: ArchiveFilters) -> list[dict]:
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    number = None
    if filters.number:
        try:
            number = normalize(filters.number,
                               default_country=actor.account.default_country).e164
        except InvalidNumber:
            raise ValidationFailed(details={"number": [_("Not a valid phone number.")]}) \
                from None
    return archive_search(account=actor.account, number=number, since=filters.since,
                          until=filters.until)


@router.get("/sms/archive", response=list[ArchivedMessageOut])
@paginate(LimitOffsetPagination)
def sms_archive(request: HttpRequest, filters: Query[ArchiveFilters]):
    """Archived messages (older than the active period, M-13), newest first, by number
    and acceptance time."""
    return _archived(request, filters)


@router.get("/sms/archive/export", response={200: None})
def sms_archive_export(request: HttpRequest, filters: Query[ArchiveFilters]):
    """The same archived messages as CSV."""
    return csv_response("sms-archive.csv", ARCHIVE_CSV_HEADER,
                        archive_csv_rows(_archived(request, filters)))


@router.get("/sms/replies", response=list[ReplyOut])
@paginate(LimitOffsetPagination)
def reply_list(request: HttpRequest, since: datetime | None = None):
    """Replies (MO) received, newest first (M-16)."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    return selectors.reply_list(account=actor.account, since=since)


@router.delete("/sms/sends/{send_id}", response=SendOut)
def send_delete(request: HttpRequest, send_id: str):
    """Cancel every message of a send that has not left yet; their charge is reversed."""
    actor = actor_of(request)
    send = selectors.send_get(account=actor.account, id=send_id)
    return send_answer(send_cancel(actor=actor, send=send))


@router.patch("/sms/sends/{send_id}", response=SendOut)
def send_patch(request: HttpRequest, send_id: str, payload: MessagePatch):
    """Change the send time or the text of every message of a send still scheduled."""
    actor = actor_of(request)
    send = selectors.send_get(account=actor.account, id=send_id)
    return send_answer(send_edit(actor=actor, send=send, **payload.dict(exclude_unset=True)))


@router.get("/sms/{message_id}", response=MessageDetailOut)
def sms_read(request: HttpRequest, message_id: str):
    """One message with its status history (M-3)."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    return selectors.message_get(account=actor.account, id=message_id)


@router.delete("/sms/{message_id}", response=MessageDetailOut)
def sms_cancel(request: HttpRequest, message_id: str):
    """Cancel a message that has not left yet (M-1); its charge is reversed."""
    actor = actor_of(request)
    message = selectors.message_get(account=actor.account, id=message_id)
    return message_cancel(actor=actor, message=message)


@router.patch("/sms/{message_id}", response=MessageDetailOut)
def sms_patch(request: HttpRequest, message_id: str, payload: MessagePatch):
    """Change the send time or the text of a message that has not left yet (M-1)."""
    actor = actor_of(request)
    message = selectors.message_get(account=actor.account, id=message_id)
    return message_edit(actor=actor, message=message, **payload.dict(exclude_unset=True))


# --- TTS voice messages (M-1, decision 0027) -------------------------------------------

S = MessageStatus
WAITING = frozenset({S.ACCEPTED, S.SCHEDULED, S.QUEUED, S.SENT})


def _voice_call(message: Message, now: datetime) -> dict:
    """One recipient's call as this endpoint has always shown it (its statuses), with
    the message's lifecycle status next to it."""
    status, sip_status = str(message.status), None
    if message.status in WAITING:
        leased = message.locked_until is not None and message.locked_until > now
        status = "calling" if leased or message.status == S.SENT else "queued"
    elif message.status in (S.DELIVERED, S.UNDELIVERED):
        finals = [e for e in message.events.all() if e.status == message.status]
        status = finals[-1].detail if finals else status  # listened, answered, busy…
        code = message.error_code.removeprefix("sip_")
        sip_status = 200 if message.status == S.DELIVERED else int(code) if code.isdigit() \
            else None
    called = message.connector == VOICE_CONNECTOR and message.carrier_message_id
    return {"id": message.id, "recipient": message.recipient, "status": status,
            "message_status": message.status, "error_code": message.error_code,
            "sip_status": sip_status, "call_id": UUID(called) if called else None,
            "price": message.price_micros / MICROS}


def _voice_message_out(send: Send, *, replayed: bool = False) -> dict:
    now = timezone.now()
    messages = sorted(send.messages.all(), key=lambda m: m.recipient)
    return {"id": send.id, "replayed": replayed, "text": send.text,
            "language": send.tts_language, "voice": send.tts_voice, "repeat": send.tts_repeat,
            "caller_id": send.sender, "send_at": send.send_at or send.created_at,
            "created_at": send.created_at,
            "total_price": sum(m.price_micros for m in messages) / MICROS,
            "currency": messages[0].currency if messages else "EUR",
            "calls": [_voice_call(m, now) for m in messages]}


@router.post("/voice-messages", response={200: VoiceMessageOut, 201: VoiceMessageOut},
             tags=["messaging"])
def voice_message_submit(request: HttpRequest, payload: VoiceMessageIn,
                         idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """Call each recipient and play the text (text-to-speech) when answered: a messaging
    channel like SMS — red list, one call per number, marketing hours, 24 h validity,
    charged one `tts` unit per message at acceptance (M-8). Call statuses: queued,
    calling, listened, answered, busy, no_answer, failed (and opted_out, rejected,
    expired, canceled); every change of a message's status is sent as a `message.status`
    webhook to `callback_url` (else the account's default webhook). A replay with the same
    `Idempotency-Key` answers 200 with the original result and calls nobody."""
    actor = actor_of(request)
    outcome = tts_send(actor=actor, account=actor.account, idempotency_key=idempotency_key,
                       **payload.dict())
    send = selectors.tts_send_get(account=actor.account, id=outcome.send.pk)
    return Status(200 if outcome.replayed else 201,
                  _voice_message_out(send, replayed=outcome.replayed))


@router.get("/voice-messages/{voice_message_id}", response=VoiceMessageOut, tags=["messaging"])
def voice_message_read(request: HttpRequest, voice_message_id: UUID):
    """A voice message and the call to each recipient."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    return _voice_message_out(selectors.tts_send_get(account=actor.account,
                                                     id=voice_message_id))


@router.delete("/voice-messages/{voice_message_id}", response=VoiceMessageOut,
               tags=["messaging"])
def voice_message_cancel(request: HttpRequest, voice_message_id: UUID):
    """Cancel the calls still scheduled (M-1); their charge is reversed."""
    actor = actor_of(request)
    send = selectors.tts_send_get(account=actor.account, id=voice_message_id)
    send_cancel(actor=actor, send=send)
    return _voice_message_out(selectors.tts_send_get(account=actor.account,
                                                     id=voice_message_id))
