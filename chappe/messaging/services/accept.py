"""`sms_send`: the one way an SMS enters the platform (API, web form, SMPP, campaigns).

Acceptance is one transaction: every rule is checked (encoding, sender per country, red
list, de-duplication, marketing hours), every message row is written with its status
history, and the billable ones are rated and debited — or nothing at all is written.
Once it commits, the messages are durable and the gateway can take them.
"""

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.billing.rating import Product
from chappe.billing.services.usage import UsageItem, usage_charge_new
from chappe.common.bulk import RowShape
from chappe.common.errors import ChappeError, Conflict, ValidationFailed
from chappe.common.ids import uuid7_many
from chappe.common.numbers import InvalidNumber, normalize
from chappe.contacts.selectors import opted_out_numbers
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import Channel, Message, MessageKind, Send
from chappe.messaging.quiet_hours import SendingWindow, next_allowed, windows_from_config
from chappe.messaging.selectors import protected_senders, sender_authorisations
from chappe.messaging.senders import (
    DEFAULT_RULE,
    SenderAction,
    SenderDecision,
    check_sender,
    rules_from_config,
)
from chappe.smpp.encoding import segment
from chappe.webhooks.services import callback_url_problem

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
    if callback_url and (problem := callback_url_problem(callback_url)):
        errors["callback_url"] = [problem]
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
    channel: str = Channel.SMS,
    channel_fields: Mapping[str, Any] | None = None,
) -> SendOutcome:
    """Accept an SMS to each recipient; see the module docstring.

    `product` and `honour_red_list` are for the platform's own messages (an unsubscribe
    confirmation is billed as such and goes to a number that just opted out). `channel`
    and `channel_fields` (the Send fields of that channel) are for another channel's
    front (`tts.tts_send`): the same acceptance, its text taken as it is."""
    actor.require(Perm.MESSAGING_SEND)
    service_require(account=account, kind=ServiceKind.MESSAGING)
    _validate(recipients=recipients, text=text, reference=reference, callback_url=callback_url,
              send_at=send_at, kind=kind, max_segments=max_segments)
    request_hash = _request_hash(recipients=recipients, text=text, sender=sender, kind=kind,
                                 send_at=send_at, callback_url=callback_url, reference=reference,
                                 allow_reply=allow_reply, max_segments=max_segments,
                                 **({channel: channel_fields} if channel_fields else {}))
    if idempotency_key:
        existing = Send.objects.filter(account=account, idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.request_hash != request_hash:
                raise Conflict(_("This Idempotency-Key was used for a different request."),
                               code="idempotency_conflict")
            return _replay(existing)
    body = final_text(text, kind) if channel == Channel.SMS else text
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
                           sender=sender, kind=kind, send_at=send_at,
                           callback_url=callback_url, reference=reference,
                           allow_reply=allow_reply, max_segments=max_segments,
                           idempotency_key=idempotency_key, request_hash=request_hash,
                           authorised_senders=authorised_senders, product=product,
                           honour_red_list=honour_red_list,
                           send_fields={"channel": channel, **(channel_fields or {})})
    except IntegrityError:
        # The same Idempotency-Key committed concurrently: answer with that send.
        if idempotency_key:
            existing = Send.objects.filter(account=account, idempotency_key=idempotency_key).first()
            if existing is not None and existing.request_hash == request_hash:
                return _replay(existing)
        raise


def _accept(*, actor: Actor, account: Account, recipients: list[str], body: str,
            sender: str, kind: str, send_at: datetime | None, callback_url: str,
            reference: str, allow_reply: bool, max_segments: int | None,
            idempotency_key: str | None, request_hash: str,
            authorised_senders: frozenset[str], product: str,
            honour_red_list: bool, send_fields: Mapping[str, Any]) -> SendOutcome:
    send = Send.objects.create(
        account=account, kind=kind, sender=sender, text=body, send_at=send_at,
        callback_url=callback_url, reference=reference, allow_reply=allow_reply,
        max_segments=max_segments, idempotency_key=idempotency_key or None,
        request_hash=request_hash, created_by=actor.label, **send_fields,
    )
    outcome = SendOutcome(send=send)
    seen: dict[str, str] = {}
    drafts: list[Draft] = []
    results: dict[str, RecipientOutcome] = {}
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
            drafts.append(Draft(e164=number.e164, country=number.country,
                                operator=number.operator, text=body))
            results[number.e164] = result
        outcome.recipients.append(result)
    accepted = messages_accept(account=account, send=send, drafts=drafts, product=product,
                               honour_red_list=honour_red_list,
                               authorised_senders=authorised_senders)
    for done in accepted:
        result = results[done.e164]
        result.status, result.error_code = done.status, done.error_code
        result.error_message = done.error_message
        if done.row is not None:
            result.message = _message_of(done.row)
    send.report = json.dumps([{
        "input": r.input, "status": r.status, "message_id": str(r.message.id) if r.message else "",
        "e164": r.e164, "country": r.country, "error_code": r.error_code,
        "error_message": str(r.error_message)} for r in outcome.recipients])
    send.save(update_fields=["report"])
    return outcome


@dataclass(frozen=True, slots=True)
class Draft:
    """One message to accept: the recipient as already normalised, and its final text
    (personalised, with the STOP mention of `final_text` for marketing)."""

    e164: str
    country: str
    operator: str
    text: str
    # The caller's reference (a contact id, an SMPP submit), echoed in `Accepted.key`.
    key: str = ""
    # An operator code to rate this message at an operator-specific price (M-9).
    rate_operator: str = ""


@dataclass(slots=True)
class Accepted:
    """What became of a draft: a message status, or why no message was made
    ("sender_rejected", "too_many_segments", "duplicate")."""

    key: str
    e164: str
    status: str
    message_id: uuid.UUID | None = None
    encoding: str = ""
    segments: int = 0
    price_micros: int = 0
    error_code: str = ""
    error_message: str = ""
    # The message row as written (a MESSAGE_ROW tuple), for callers that answer with it.
    row: tuple | None = None


MESSAGE_ROW = RowShape(Message, (
    "id", "account_id", "send_id", "kind", "recipient", "country", "operator", "sender",
    "sender_note", "text", "encoding", "segments", "price_micros", "currency", "status",
    "status_changed_at", "error_code", "due_at", "expires_at", "connector",
    "carrier_message_id", "attempts", "charge_version", "initial_status", "locked_by",
    "locked_until", "created_at", "sent_at", "channel"))
# Unbilled messages (red list) carry the field's default currency.
DEFAULT_CURRENCY = Message._meta.get_field("currency").default


@dataclass(frozen=True)
class _OneCall:
    """What a TTS message is billed on in place of SMS segments: one call (M-8)."""

    encoding: str = ""
    segments: int = 1


ONE_CALL = _OneCall()


def _message_of(row: tuple) -> Message:
    """The model instance of a row `messages_accept` wrote (no query)."""
    message = Message(**MESSAGE_ROW.values(row))
    message._state.adding = False
    return message


def messages_accept(*, account: Account, send: Send, drafts: Sequence[Draft],
                    product: str = Product.SMS, honour_red_list: bool = True,
                    authorised_senders: frozenset[str] = frozenset(),
                    max_segments: int | None = None) -> list[Accepted]:
    """Accept `drafts` into `send`: the core under `sms_send`, SMPP submits and campaign
    launches. In the caller's transaction: sender rule per country (M-2, from
    `send.sender`), red list (M-5), one message per number per call (M-6), marketing
    hours (M-12, from `send.kind` and `send.send_at`), then one `Message` row per draft
    (its `initial_status` is its first history: no event rows), written without model
    instances (`bulk_insert`), and one charge
    for the billable ones (`usage_charge_new`; `InsufficientCredit` rolls the caller
    back). Answers per draft, in order. A TTS send's messages skip the SMS sender rules
    (its sender is the number presented) and are billed one unit per call."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("messages_accept must run inside the caller's transaction")
    now = timezone.now()
    kind = send.kind
    tts = send.channel == Channel.TTS
    opted_out = (opted_out_numbers(account=account, numbers=[d.e164 for d in drafts])
                 if honour_red_list else set())
    decisions: dict[str, SenderDecision] = {}
    dues: dict[str, datetime] = {}
    segmented: dict[str, Any] = {}
    protected, windows = protected_senders(), sending_windows()
    rules = rules_from_config(settings.CHAPPE_SENDER_RULES)
    authorised = authorised_senders | sender_authorisations(
        account=account, on=timezone.localdate(now, ZoneInfo(account.timezone)))
    base, valid_for = send.send_at or now, validity()
    answers: list[Accepted] = []
    planned: list[tuple[Accepted, Draft, SenderDecision, datetime]] = []
    seen: set[str] = set()
    for draft in drafts:
        answer = Accepted(key=draft.key, e164=draft.e164, status="")
        answers.append(answer)
        if draft.e164 in seen:
            answer.status = answer.error_code = "duplicate"
            answer.error_message = _("One message per recipient per send.")
            continue
        seen.add(draft.e164)
        country = draft.country
        decision = decisions.get(country)
        if decision is None:
            decision = decisions[country] = SenderDecision(
                SenderAction.ACCEPT, send.sender, send.sender) if tts else check_sender(
                send.sender, rule=rules.get(country) or rules.get("*") or DEFAULT_RULE,
                protected=protected, authorised=authorised)
        if decision.action is SenderAction.REJECT:
            answer.status, answer.error_code = "sender_rejected", f"sender_{decision.reason}"
            answer.error_message = decision.message
            continue
        seg = segmented.get(draft.text)
        if seg is None:
            seg = segmented[draft.text] = ONE_CALL if tts else segment(draft.text)
        if max_segments is not None and seg.segments > max_segments:
            answer.status = answer.error_code = "too_many_segments"
            answer.error_message = _("The message needs %(n)d segments, more than "
                                     "max_segments.") % {"n": seg.segments}
            continue
        due = dues.get(country)
        if due is None:
            due = dues[country] = due_for(base=base, kind=kind, country=country,
                                          zone=account.timezone, windows=windows)
        answer.status = (S.OPTED_OUT if draft.e164 in opted_out
                         else S.SCHEDULED if due > now else S.QUEUED)
        answer.encoding, answer.segments = seg.encoding, seg.segments
        planned.append((answer, draft, decision, due))
    for (answer, *_rest), message_id in zip(planned, uuid7_many(len(planned)), strict=True):
        answer.message_id = message_id
    billable = [(answer, draft) for answer, draft, _d, _due in planned
                if answer.status != S.OPTED_OUT]
    prices = usage_charge_new(
        account=account, occurred_at=now, batch_cause_type="messaging.send",
        batch_cause_id=str(send.pk),
        items=[UsageItem(product=product, quantity=answer.segments,
                         destination_country=draft.country, operator=draft.rate_operator,
                         cause_type="messaging.message", cause_id=str(answer.message_id),
                         idempotency_key=f"message:{answer.message_id}")
               for answer, draft in billable]) if billable else []
    currencies = {}
    for (answer, _draft), price in zip(billable, prices, strict=True):
        answer.price_micros = price.amount_micros
        currencies[answer.message_id] = price.currency
    row = MESSAGE_ROW.builder(
        account_id=account.pk, send_id=send.pk, channel=Channel.TTS if tts else Channel.SMS,
        kind=kind, status_changed_at=now, error_code="",
        connector="", carrier_message_id="", attempts=0, charge_version=0, locked_by="",
        locked_until=None, created_at=now, sent_at=None)
    rows = []
    for answer, draft, decision, due in planned:
        answer.row = row(
            id=answer.message_id, recipient=draft.e164, country=draft.country,
            operator=draft.operator, sender=decision.sender or "",
            sender_note=decision.message if decision.action is not SenderAction.ACCEPT else "",
            text=draft.text, encoding=answer.encoding, segments=answer.segments,
            price_micros=answer.price_micros,
            currency=currencies.get(answer.message_id, DEFAULT_CURRENCY), status=answer.status,
            due_at=due, expires_at=due + valid_for, initial_status=answer.status)
        rows.append(answer.row)
    MESSAGE_ROW.insert(rows)
    return answers


@dataclass(frozen=True)
class SmsItem:
    """One message of `sms_send_each`: its own recipient, text, sender and time."""

    recipient: str
    text: str
    sender: str
    send_at: datetime | None = None


def sms_send_each(*, actor: Actor, account: Account, items: Sequence[SmsItem],
                  kind: str = MessageKind.TRANSACTIONAL) -> list[RecipientOutcome]:
    """Accept independent messages (SMPP submits: each its own text, the same number
    possibly twice) with the rules and billing of `sms_send`. Items sharing a sender and
    a send time become one `Send` and one `messages_accept` call (one debit); a number
    repeated among them goes to another group, since each item is a message of its own.
    Each group runs in a savepoint: a group refused (no credit) fails its items only,
    with `status="refused"` and the error's code. Answers per item, in order."""
    actor.require(Perm.MESSAGING_SEND)
    service_require(account=account, kind=ServiceKind.MESSAGING)
    outcomes: list[RecipientOutcome] = []
    groups: dict[tuple, list[list[tuple[int, Draft]]]] = defaultdict(list)
    for index, item in enumerate(items):
        outcome = RecipientOutcome(input=item.recipient, status="")
        outcomes.append(outcome)
        try:
            _validate(recipients=[item.recipient], text=item.text, reference="",
                      callback_url="", send_at=item.send_at, kind=kind, max_segments=None)
            number = normalize(item.recipient, default_country=account.default_country)
        except (ValidationFailed, InvalidNumber) as exc:
            invalid = isinstance(exc, InvalidNumber)
            outcome.status = "invalid" if invalid else "refused"
            outcome.error_code = (f"invalid_number:{exc.code}" if invalid
                                  else ValidationFailed.code)
            outcome.error_message = (_("Not a valid phone number.") if invalid
                                     else str(exc.message))  # type: ignore[union-attr]
            continue
        outcome.e164, outcome.country = number.e164, number.country
        draft = Draft(e164=number.e164, country=number.country, operator=number.operator,
                      text=final_text(item.text, kind))
        batches = groups[(item.sender, item.send_at)]
        for batch in batches:
            if all(d.e164 != number.e164 for _i, d in batch):
                batch.append((index, draft))
                break
        else:
            batches.append([(index, draft)])
    with transaction.atomic(savepoint=False):  # each group has its own savepoint
        for (sender, send_at), batches in groups.items():
            for batch in batches:
                _accept_group(actor=actor, account=account, kind=kind, sender=sender,
                              send_at=send_at, batch=batch, outcomes=outcomes)
    return outcomes


def _accept_group(*, actor: Actor, account: Account, kind: str, sender: str,
                  send_at: datetime | None, batch: list[tuple[int, Draft]],
                  outcomes: list[RecipientOutcome]) -> None:
    texts = {draft.text for _i, draft in batch}
    try:
        with transaction.atomic():
            send = Send.objects.create(
                account=account, kind=kind, sender=sender, send_at=send_at,
                text=texts.pop() if len(texts) == 1 else "", created_by=actor.label)
            answers = messages_accept(account=account, send=send,
                                      drafts=[draft for _i, draft in batch])
    except ChappeError as exc:
        for index, _draft in batch:
            outcome = outcomes[index]
            outcome.status, outcome.error_code = "refused", exc.code
            outcome.error_message = exc.message
        return
    for (index, _draft), answer in zip(batch, answers, strict=True):
        outcome = outcomes[index]
        outcome.status, outcome.error_code = answer.status, answer.error_code
        outcome.error_message = answer.error_message
        if answer.row is not None:
            outcome.message = _message_of(answer.row)
