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
