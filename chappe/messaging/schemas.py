from datetime import datetime
from decimal import Decimal
from uuid import UUID

from ninja import Schema
from pydantic import Field

from chappe.messaging.models import Message, MessageKind


class SmsCreate(Schema):
    recipients: list[str] = Field(min_length=1, max_length=10_000,
                                  description="Numbers in E.164 or national form")
    text: str = Field(min_length=1, max_length=10_000)
    sender: str = Field(max_length=20)
    kind: MessageKind = MessageKind.TRANSACTIONAL
    send_at: datetime | None = Field(None, description="ISO 8601 with a time zone")
    callback_url: str = Field("", max_length=500)
    reference: str = Field("", max_length=40)
    allow_reply: bool = False
    max_segments: int | None = Field(None, ge=1, le=255)


class RecipientOut(Schema):
    input: str
    status: str
    message_id: UUID | None = None
    number: str = ""
    country: str = ""
    encoding: str = ""
    segments: int = 0
    price: Decimal | None = None
    currency: str = ""
    sender: str = ""
    sender_note: str = ""
    error: dict | None = None


class SendOut(Schema):
    send_id: UUID
    replayed: bool
    accepted: int
    total_price: Decimal
    currency: str
    recipients: list[RecipientOut]


class EventOut(Schema):
    status: str
    at: datetime
    error_code: str
    detail: str


class ArchivedEventOut(Schema):
    status: str
    at: datetime
    error_code: str = ""


class ArchivedMessageOut(Schema):
    """A message read back from the archive (M-13): what the archive kept of it."""

    id: UUID
    send_id: UUID
    channel: str
    kind: str
    recipient: str
    country: str
    sender: str
    text: str
    encoding: str
    segments: int
    price: Decimal
    currency: str
    status: str
    error_code: str
    reference: str = ""
    created_at: datetime
    sent_at: datetime | None
    history: list[ArchivedEventOut]

    @staticmethod
    def resolve_price(obj: dict) -> Decimal:
        return Decimal(obj["price_micros"]) / 1_000_000


class MessageOut(Schema):
    id: UUID
    send_id: UUID
    kind: str
    recipient: str
    country: str
    operator: str
    sender: str
    sender_note: str
    text: str
    encoding: str
    segments: int
    price: Decimal
    currency: str
    status: str
    error_code: str
    reference: str
    due_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_price(obj: Message) -> Decimal:
        return Decimal(obj.price_micros) / 1_000_000

    @staticmethod
    def resolve_reference(obj: Message) -> str:
        return obj.send.reference


class MessageDetailOut(MessageOut):
    history: list[EventOut]

    @staticmethod
    def resolve_history(obj: Message) -> list:
        return obj.history()


class MessagePatch(Schema):
    send_at: datetime | None = None
    text: str | None = Field(None, min_length=1, max_length=10_000)


class ReplyOut(Schema):
    id: UUID
    message_id: UUID | None
    from_number: str
    to: str
    text: str
    is_stop: bool
    received_at: datetime


class VoiceMessageIn(Schema):
    recipients: list[str] = Field(min_length=1, max_length=1000,
                                  json_schema_extra={"example": ["+33612345678"]})
    text: str = Field(min_length=1, max_length=2000)
    language: str = Field("fr", pattern="^(fr|en)$")
    voice: str = Field("", max_length=50)
    repeat: int = Field(1, ge=1, le=5)
    kind: MessageKind = MessageKind.TRANSACTIONAL
    send_at: datetime | None = None
    callback_url: str = Field("", max_length=500)
    reference: str = Field("", max_length=40)
    caller_id: str = Field("", max_length=16, description="One of your numbers, E.164")


class VoiceMessageCallOut(Schema):
    id: UUID  # the message's
    recipient: str
    # queued, calling, listened, answered, busy, no_answer, failed (the call's outcome),
    # or the message's own final status: opted_out, rejected, expired, canceled.
    status: str
    message_status: str  # the message lifecycle, as GET /sms shows it (M-3)
    error_code: str
    sip_status: int | None
    call_id: UUID | None  # its call record (GET /calls/{id}) once it was called
    price: Decimal


class VoiceMessageOut(Schema):
    id: UUID  # the send's
    replayed: bool = False
    text: str
    language: str
    voice: str
    repeat: int
    caller_id: str
    send_at: datetime
    created_at: datetime
    total_price: Decimal
    currency: str
    calls: list[VoiceMessageCallOut]
