"""API shapes of support tickets."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from ninja import Schema
from pydantic import Field

from chappe.support.services import BODY_MAX, SUBJECT_MAX


class TicketCreate(Schema):
    subject: str = Field(..., min_length=1, max_length=SUBJECT_MAX)
    body: str = Field(..., min_length=1, max_length=BODY_MAX)
    severity: Literal["", "blocking", "semi_blocking"] = ""


class TicketReply(Schema):
    body: str = Field(..., min_length=1, max_length=BODY_MAX)


class TicketMessageOut(Schema):
    from_operator: bool
    body: str
    created_at: datetime


class TicketOut(Schema):
    id: UUID
    reference: str
    subject: str
    severity: str
    status: str
    channel: str
    opened_at: datetime
    acknowledge_due_at: datetime | None
    acknowledged_at: datetime | None
    closed_at: datetime | None


class TicketDetail(TicketOut):
    messages: list[TicketMessageOut]

    @staticmethod
    def resolve_messages(obj) -> list:
        return list(obj.messages.all())


class QuotaOut(Schema):
    used: int
    limit: int
    resets_at: datetime
