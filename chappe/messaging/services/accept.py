"""`sms_send`: the one way an SMS enters the platform (API, web form, SMPP, campaigns).

Acceptance is one transaction: every rule is checked (encoding, sender per country, red
list, de-duplication, marketing hours), every message row is written with its status
history, and the billable ones are rated and debited — or nothing at all is written.
Once it commits, the messages are durable and the gateway can take them.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.billing.rating import Product
from chappe.common.errors import Conflict, ValidationFailed
from chappe.contacts.selectors import opted_out_numbers
from chappe.messaging.encoding import segment
from chappe.messaging.lifecycle import MessageStatus, check_transition
from chappe.messaging.models import Message, MessageEvent, MessageKind, Send
from chappe.messaging.numbers import InvalidNumber, normalize
from chappe.messaging.quiet_hours import SendingWindow, next_allowed, windows_from_config
from chappe.messaging.selectors import protected_senders, sender_authorisations
from chappe.messaging.senders import (
    DEFAULT_RULE,
    SenderAction,
    SenderDecision,
    check_sender,
    rules_from_config,
)
from chappe.messaging.services.charging import messages_charge

S = MessageStatus
MAX_RECIPIENTS = 10_000
MAX_SCHEDULE_AHEAD = timedelta(days=366)


@dataclass
class RecipientOutcome:
    input: str
    # A message status, or "invalid" / "duplicate" / "sender_rejected" (no message made).
    status: str
    message: Message | None = None
    e164: str = ""
    country: str = ""
    error_code: str = ""
    error_message: str = ""


@dataclass
class SendOutcome:
    send: Send
    recipients: list[RecipientOutcome] = field(default_factory=list)
    replayed: bool = False


def stop_mention() -> str:
    return settings.CHAPPE_STOP_MENTION


def validity() -> timedelta:
    return timedelta(hours=settings.CHAPPE_SMS_VALIDITY_HOURS)


def _request_hash(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _validate(*, recipients: list[str], text: str, reference: str, callback_url: str,
              send_at: datetime | None, kind: str, max_segments: int | None) -> None:
    errors: dict[str, list[str]] = {}
    if not recipients:
        errors["recipients"] = [_("Give at least one recipient.")]
    elif len(recipients) > MAX_RECIPIENTS:
        errors["recipients"] = [_("At most %(n)d recipients per request; use a campaign for "
                                  "more.") % {"n": MAX_RECIPIENTS}]
    if not text or not text.strip():
        errors["text"] = [_("The message text is empty.")]
    if len(reference) > 40:
        errors["reference"] = [_("At most 40 characters.")]
    if callback_url:
        try:
            URLValidator(schemes=["http", "https"])(callback_url)
        except DjangoValidationError:
            errors["callback_url"] = [_("Enter an http(s) URL.")]
    if send_at is not None:
        if send_at.tzinfo is None:
            errors["send_at"] = [_("Give a time zone, e.g. 2026-12-01T09:00:00+01:00.")]
        elif send_at > timezone.now() + MAX_SCHEDULE_AHEAD:
            errors["send_at"] = [_("At most one year ahead.")]
    if kind not in MessageKind.values:
        errors["kind"] = [_("Either transactional or marketing.")]
    if max_segments is not None and max_segments < 1:
        errors["max_segments"] = [_("At least 1.")]
    if errors:
        raise ValidationFailed(details=errors)


def final_text(text: str, kind: str) -> str:
    """Marketing carries the STOP mention (M-10), counted in the segments."""
    mention = stop_mention()
    if kind == MessageKind.MARKETING and mention.lower() not in text.lower():
        return f"{text.rstrip()}\n{mention}"
    return text


def _replay(send: Send) -> SendOutcome:
    messages = {str(m.id): m for m in send.messages.all()}
    outcome = SendOutcome(send=send, replayed=True)
    for row in send_report(send):
        message = messages.get(row.get("message_id", ""))
        outcome.recipients.append(RecipientOutcome(
            input=row["input"], status=message.status if message else row["status"],
            message=message, e164=row.get("e164", ""), country=row.get("country", ""),
            error_code=row.get("error_code", ""), error_message=row.get("error_message", "")))
    return outcome


def sending_windows() -> dict[str, SendingWindow]:
    return windows_from_config(settings.CHAPPE_SENDING_WINDOWS)


def due_for(*, base: datetime, kind: str, country: str, zone: str,
            windows: dict[str, SendingWindow]) -> datetime:
    """When a message may leave: its send time, moved to the next sending window for
    marketing to a country that has one (M-12)."""
    window = windows.get(country)
    if kind == MessageKind.MARKETING and window is not None:
        return next_allowed(base, window, zone)
    return base


def send_report(send: Send) -> list[dict[str, str]]:
    return json.loads(send.report or "[]")


def sms_send(
    *,
    actor: Actor,
    account: Account,
    recipients: list[str],
    text: str,
    sender: str,
    kind: str = MessageKind.TRANSACTIONAL,
    send_at: datetime | None = None,
    callback_url: str = "",
    reference: str = "",
    allow_reply: bool = False,
    max_segments: int | None = None,
    idempotency_key: str | None = None,
    authorised_senders: frozenset[str] = frozenset(),
    product: str = Product.SMS,
    honour_red_list: bool = True,
) -> SendOutcome:
    """Accept an SMS to each recipient; see the module docstring.

    `product` and `honour_red_list` are for the platform's own messages (an unsubscribe
    confirmation is billed as such and goes to a number that just opted out)."""
    actor.require(Perm.MESSAGING_SEND)
    service_require(account=account, kind=ServiceKind.MESSAGING)
    _validate(recipients=recipients, text=text, reference=reference, callback_url=callback_url,
              send_at=send_at, kind=kind, max_segments=max_segments)
    request_hash = _request_hash(recipients=recipients, text=text, sender=sender, kind=kind,
                                 send_at=send_at, callback_url=callback_url, reference=reference,
                                 allow_reply=allow_reply, max_segments=max_segments)
    if idempotency_key:
        existing = Send.objects.filter(account=account, idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.request_hash != request_hash:
                raise Conflict(_("This Idempotency-Key was used for a different request."),
                               code="idempotency_conflict")
            return _replay(existing)
    body = final_text(text, kind)
    seg = segment(body)
    if max_segments is not None and seg.segments > max_segments:
        raise ValidationFailed(
            _("The message needs %(n)d segments, more than max_segments.") % {"n": seg.segments},
            code="too_many_segments",
            details={"segments": seg.segments, "max_segments": max_segments,
                     "encoding": seg.encoding})
    try:
        with transaction.atomic():
            return _accept(actor=actor, account=account, recipients=recipients, body=body,
                           seg=seg, sender=sender, kind=kind, send_at=send_at,
                           callback_url=callback_url, reference=reference,
                           allow_reply=allow_reply, max_segments=max_segments,
                           idempotency_key=idempotency_key, request_hash=request_hash,
                           authorised_senders=authorised_senders, product=product,
                           honour_red_list=honour_red_list)
    except IntegrityError:
        # The same Idempotency-Key committed concurrently: answer with that send.
        if idempotency_key:
            existing = Send.objects.filter(account=account, idempotency_key=idempotency_key).first()
            if existing is not None and existing.request_hash == request_hash:
                return _replay(existing)
        raise


def _accept(*, actor: Actor, account: Account, recipients: list[str], body: str, seg: Any,
            sender: str, kind: str, send_at: datetime | None, callback_url: str,
            reference: str, allow_reply: bool, max_segments: int | None,
            idempotency_key: str | None, request_hash: str,
            authorised_senders: frozenset[str], product: str,
            honour_red_list: bool) -> SendOutcome:
    now = timezone.now()
    send = Send.objects.create(
        account=account, kind=kind, sender=sender, text=body, send_at=send_at,
        callback_url=callback_url, reference=reference, allow_reply=allow_reply,
        max_segments=max_segments, idempotency_key=idempotency_key or None,
        request_hash=request_hash, created_by=actor.label,
    )
    outcome = SendOutcome(send=send)
    seen: dict[str, str] = {}
    parsed: list[tuple[RecipientOutcome, Any]] = []
    for raw in recipients:
        try:
            number = normalize(str(raw), default_country=account.default_country)
        except InvalidNumber as exc:
            outcome.recipients.append(RecipientOutcome(
                input=str(raw), status="invalid", error_code=f"invalid_number:{exc.code}",
                error_message=_("Not a valid phone number.")))
            continue
        result = RecipientOutcome(input=str(raw), status="", e164=number.e164,
                                  country=number.country)
        if number.e164 in seen:
            result.status, result.error_code = "duplicate", "duplicate"
            result.error_message = _("Same number as %(first)s: one message per recipient "
                                     "per send.") % {"first": seen[number.e164]}
        else:
            seen[number.e164] = str(raw)
            parsed.append((result, number))
        outcome.recipients.append(result)
    opted_out = (opted_out_numbers(account=account, numbers=[n.e164 for _r, n in parsed])
                 if honour_red_list else set())
    decisions: dict[str, SenderDecision] = {}
    protected = protected_senders()
    windows = sending_windows()
    rules = rules_from_config(settings.CHAPPE_SENDER_RULES)
    authorised = authorised_senders | sender_authorisations(
        account=account, on=timezone.localdate(now, ZoneInfo(account.timezone)))
    base = send_at or now
    messages: list[Message] = []
    events: list[MessageEvent] = []
    for result, number in parsed:
        if number.country not in decisions:
            decisions[number.country] = check_sender(
                sender, rule=rules.get(number.country) or rules.get("*") or DEFAULT_RULE,
                protected=protected,
                authorised=authorised)
        decision = decisions[number.country]
        if decision.action is SenderAction.REJECT:
            result.status, result.error_code = "sender_rejected", f"sender_{decision.reason}"
            result.error_message = decision.message
            continue
        due = due_for(base=base, kind=kind, country=number.country, zone=account.timezone,
                      windows=windows)
        status = (S.OPTED_OUT if number.e164 in opted_out
                  else S.SCHEDULED if due > now else S.QUEUED)
        check_transition(S.ACCEPTED, status)
        message = Message(
            account=account, send=send, kind=kind, recipient=number.e164,
            country=number.country, operator=number.operator, sender=decision.sender or "",
            sender_note=decision.message if decision.action is not SenderAction.ACCEPT else "",
            text=body, encoding=seg.encoding, segments=seg.segments, status=status,
            status_changed_at=now, due_at=due, expires_at=due + validity(),
        )
        messages.append(message)
        result.message, result.status = message, status
        events.append(MessageEvent(message=message, status=S.ACCEPTED, at=now))
        detail = {S.OPTED_OUT: "red list", S.SCHEDULED: "scheduled"}.get(status, "")
        events.append(MessageEvent(message=message, status=status, at=now, detail=detail))
    Message.objects.bulk_create(messages, batch_size=1000)
    MessageEvent.objects.bulk_create(events, batch_size=1000)
    messages_charge(account=account, send=send, product=product,
                    messages=[m for m in messages if m.status != S.OPTED_OUT])
    send.report = json.dumps([{
        "input": r.input, "status": r.status, "message_id": str(r.message.id) if r.message else "",
        "e164": r.e164, "country": r.country, "error_code": r.error_code,
        "error_message": str(r.error_message)} for r in outcome.recipients])
    send.save(update_fields=["report"])
    return outcome
