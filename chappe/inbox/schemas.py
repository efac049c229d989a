"""Inbox shapes of `/api/v1`."""

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Schema
from pydantic import Field

from chappe.messaging.rcs.content import RcsContent


class ThreadOut(Schema):
    id: UUID
    correspondent: str
    address: str
    channel: str
    last_in_at: datetime
    last_in_text: str
    answered_at: datetime | None
    unread: bool
    unanswered: bool
    overdue: bool = Field(description="RCS, unanswered for 72 hours or more (M-15)")
    assigned_to: str | None


class ThreadItemOut(Schema):
    direction: str
    id: UUID
    at: datetime
    text: str
    channel: str
    status: str
    postback_data: str


class ThreadDetailOut(ThreadOut):
    messages: list[ThreadItemOut]


class ReplyIn(Schema):
    text: str = Field("", max_length=1_600)
    content: RcsContent | None = Field(None, description="RCS conversations: rich content")


class AssignIn(Schema):
    user_id: Any | None = Field(None, description="A user of the account; null: nobody")
