"""Emit and deliver webhooks through the job queue (at least once, 24 h of retries)."""

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.common.erasure import mentioning, number_variants, scrub
from chappe.common.errors import ValidationFailed
from chappe.common.outbound_http import UnsafeTarget, post, send, url_check
from chappe.queue.jobs import job_enqueue
from chappe.webhooks.formats import webhook_format
from chappe.webhooks.models import (
    WebhookAttempt,
    WebhookEvent,
    WebhookSettings,
    WebhookStatus,
    new_secret,
)
from chappe.webhooks.signing import EVENT_HEADER, HEADER, sign

RETRY_WINDOW = timedelta(hours=24)
# Back-off is the job queue's (10 s doubling, capped at 1 h): ~32 attempts fill 24 h.
MAX_ATTEMPTS = 40
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class EventDraft:
    account_id: Any
    url: str
    type: str
    payload: dict[str, Any]
    subject_id: str = ""
    format: str = ""  # "" = Chappe's signed JSON; else `webhooks.formats`


def callback_url_problem(url: str) -> str | None:
    """Why a client's callback URL cannot be saved (not http(s), or aimed at the platform's
    own network: `common.outbound_http`), or None."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except DjangoValidationError:
        return _("Enter an http(s) URL.")
    try:
        url_check(url)
    except UnsafeTarget as exc:
        return str(exc)
    return None


def webhook_settings_for(*, account: Account) -> WebhookSettings:
    settings, _created = WebhookSettings.objects.get_or_create(account=account)
    return settings


@transaction.atomic
def webhook_settings_update(*, actor: Actor, account: Account, default_url: str | None = None,
                            rotate_secret: bool = False,
                            twilio_sms_url: str | None = None) -> WebhookSettings:
    """Set the default callback URL, the Twilio-compatible SMS URL and/or draw a new
    signing secret (audited)."""
    actor.require(Perm.ACCOUNT_MANAGE)
    settings = webhook_settings_for(account=account)
    changed = []
    if default_url is not None and default_url != settings.default_url:
        if default_url and (problem := callback_url_problem(default_url)):
            raise ValidationFailed(details={"default_url": [problem]})
        settings.default_url = default_url
        changed.append("default_url")
    if twilio_sms_url is not None and twilio_sms_url != settings.twilio_sms_url:
        if twilio_sms_url and (problem := callback_url_problem(twilio_sms_url)):
            raise ValidationFailed(details={"twilio_sms_url": [problem]})
        settings.twilio_sms_url = twilio_sms_url
        changed.append("twilio_sms_url")
    if rotate_secret:
        settings.secret = new_secret()
        changed.append("secret")
    if changed:
        settings.save(update_fields=changed)
        audit_record(actor=actor, account=account, action="webhooks.update", target=settings,
                     details={"fields": changed})
    return settings


@transaction.atomic
def webhook_redeliver(*, actor: Actor, event: WebhookEvent) -> WebhookEvent:
    """Send an event again (after the receiver was fixed): same id, fresh retry window."""
    actor.require(Perm.MESSAGING_SEND)
    event.status = WebhookStatus.PENDING
    event.created_at = timezone.now()
    event.save(update_fields=["status", "created_at"])
    job_enqueue(name="webhooks.deliver", payload={"event": str(event.id)},
                max_attempts=MAX_ATTEMPTS)
    return event


def webhooks_emit(drafts: Iterable[EventDraft]) -> list[WebhookEvent]:
    """Write events and their delivery jobs in the caller's transaction (outbox)."""
    events = [WebhookEvent(account_id=d.account_id, url=d.url, type=d.type, payload=d.payload,
                           subject_id=d.subject_id, format=d.format)
              for d in drafts if d.url]
    if not events:
        return []
    WebhookEvent.objects.bulk_create(events)
    for event in events:
        job_enqueue(name="webhooks.deliver", payload={"event": str(event.id)},
                    max_attempts=MAX_ATTEMPTS)
    return events


def webhook_events_erase_number(*, account: Account, number: str, subject_ids: Iterable[Any],
                                personal_keys: frozenset[str]) -> int:
    """The webhooks' part of a recipient's erasure (P-12): in the events about
    `subject_ids` (the erased messages), or mentioning `number` (E.164, or its national
    digits), every mention — and the values of `personal_keys` — become `[erased]`.
    Returns how many events changed."""
    variants = number_variants(number)
    events = WebhookEvent.objects.filter(account=account)
    changed = 0
    for event in events.filter(Q(subject_id__in=[str(pk) for pk in subject_ids]) | Q(
            pk__in=mentioning(events, "payload", variants).values("pk"))):
        event.payload = scrub(event.payload, variants, personal_keys)
        event.save(update_fields=["payload"])
        changed += 1
    return changed


def _body(event: WebhookEvent) -> bytes:
    return json.dumps({"id": str(event.id), "type": event.type,
                       "created_at": event.created_at.isoformat(), "data": event.payload},
                      separators=(",", ":")).encode()


class DeliveryFailed(RuntimeError):
    """Raised so the job queue retries the delivery later."""


def webhook_deliver(*, event_id: str) -> None:
    event = WebhookEvent.objects.select_related("account").get(pk=event_id)
    if event.status != WebhookStatus.PENDING:
        return
    fmt = webhook_format(event.format) if event.format else None
    if event.format and fmt is None:
        raise DeliveryFailed(f"unknown webhook format {event.format!r}")
    start = time.monotonic()
    # Checked again now (the name may resolve elsewhere than when it was saved), sent to the
    # checked address; the attempt log keeps a status code or a failure class, never the
    # text of an exception (which would map the network behind the receiver).
    if fmt is not None:
        # A compatibility format (issue 17): the protocol's own request, same guard.
        request = fmt.render(event)
        outcome = send(request.method, request.url, content=request.content,
                       headers={"User-Agent": "Chappe-Webhooks/1", **request.headers},
                       timeout=TIMEOUT_SECONDS, read_body=fmt.answer_limit)
    else:
        secret = webhook_settings_for(account=event.account).secret
        body = _body(event)
        headers = {"Content-Type": "application/json", EVENT_HEADER: str(event.id),
                   HEADER: sign(secret, body, int(time.time())),
                   "User-Agent": "Chappe-Webhooks/1"}
        outcome = post(event.url, content=body, headers=headers, timeout=TIMEOUT_SECONDS)
    status_code, error = outcome.status_code, outcome.failure
    if status_code is not None and not 200 <= status_code < 300:
        error = f"HTTP {status_code}"
    with transaction.atomic():
        WebhookAttempt.objects.create(event=event, status_code=status_code, error=error,
                                      duration_ms=int((time.monotonic() - start) * 1000))
        event.attempts += 1
        if not error:
            event.status, event.delivered_at = WebhookStatus.DELIVERED, timezone.now()
            if fmt is not None and fmt.answered is not None:
                fmt.answered(event, outcome.body)
        elif timezone.now() - event.created_at >= RETRY_WINDOW or event.attempts >= MAX_ATTEMPTS:
            event.status = WebhookStatus.FAILED
        event.save(update_fields=["attempts", "status", "delivered_at"])
    if error and event.status == WebhookStatus.PENDING:
        raise DeliveryFailed(error)
