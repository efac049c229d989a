"""Webhook settings (default URL, signing secret) and delivery history."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import Field

from chappe.accounts.roles import Perm
from chappe.api.v1.base import actor_of
from chappe.webhooks import selectors, services

router = Router(tags=["webhooks"])


class WebhookSettingsOut(Schema):
    default_url: str
    secret: str = Field(description="Signs every request: see Chappe-Signature")
    signature_header: str = "Chappe-Signature"
    twilio_sms_url: str = Field(description="Twilio-compatible API: where incoming "
                                "messages are POSTed in Twilio's form (a TwiML <Message> "
                                "answer is sent back)")


class WebhookSettingsIn(Schema):
    default_url: str | None = Field(None, max_length=500)
    rotate_secret: bool = False
    twilio_sms_url: str | None = Field(None, max_length=500)


class AttemptOut(Schema):
    at: datetime
    status_code: int | None
    error: str
    duration_ms: int


class EventOut(Schema):
    id: UUID
    type: str
    url: str
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class EventDetailOut(EventOut):
    attempt_log: list[AttemptOut]

    @staticmethod
    def resolve_attempt_log(obj) -> list:
        return list(obj.attempt_log.all())


@router.get("/webhooks/settings", response=WebhookSettingsOut)
def settings_read(request: HttpRequest):
    actor = actor_of(request, Perm.ACCOUNT_MANAGE)
    return services.webhook_settings_for(account=actor.account)


@router.patch("/webhooks/settings", response=WebhookSettingsOut)
def settings_update(request: HttpRequest, payload: WebhookSettingsIn):
    """Set the default callback URL, or draw a new signing secret (`rotate_secret`), or the
    Twilio-compatible API's SMS URL for incoming messages (`twilio_sms_url`)."""
    actor = actor_of(request)
    return services.webhook_settings_update(actor=actor, account=actor.account,
                                            default_url=payload.default_url,
                                            rotate_secret=payload.rotate_secret,
                                            twilio_sms_url=payload.twilio_sms_url)


@router.get("/webhooks/events", response=list[EventOut])
@paginate(LimitOffsetPagination)
def event_list(request: HttpRequest, type: str | None = None, status: str | None = None):
    """Callbacks sent (or being retried), newest first."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    return selectors.webhook_event_list(account=actor.account, type=type, status=status)


@router.get("/webhooks/events/{event_id}", response=EventDetailOut)
def event_read(request: HttpRequest, event_id: str):
    """One callback with every delivery attempt (status code, error, duration)."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    return selectors.webhook_event_get(account=actor.account, id=event_id)


@router.post("/webhooks/events/{event_id}/redeliver", response=EventOut)
def event_redeliver(request: HttpRequest, event_id: str):
    """Send a callback again, with the same event id."""
    actor = actor_of(request)
    event = selectors.webhook_event_get(account=actor.account, id=event_id)
    return services.webhook_redeliver(actor=actor, event=event)
