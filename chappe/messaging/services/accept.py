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
from chappe.billing.services.usage import NewUse, NewUses, usage_post_new, usage_rate_new
from chappe.common.bulk import RowShape
from chappe.common.errors import ChappeError, Conflict, ValidationFailed
from chappe.common.ids import uuid7_many
from chappe.common.numbers import InvalidNumber, normalize
from chappe.contacts.selectors import opted_out_numbers
from chappe.messaging.content_policy.screening import Screening
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import T2C_CHANNEL, Channel, Message, MessageKind, Send
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
# Channels billed one unit per message whose sender is not an SMS sender name.
PER_MESSAGE_CHANNELS = frozenset({Channel.TTS, Channel.RCS})
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


@dataclass(frozen=True, kw_only=True)
class SmsRequest:
    """The arguments of one `sms_send` call, as `sms_send_many` takes them."""

    actor: Actor
    account: Account
    recipients: list[str]
    text: str
    sender: str
    kind: str = MessageKind.TRANSACTIONAL
    send_at: datetime | None = None
    callback_url: str = ""
    reference: str = ""
    allow_reply: bool = False
    max_segments: int | None = None
    idempotency_key: str | None = None
    authorised_senders: frozenset[str] = frozenset()
    product: str = Product.SMS
    honour_red_list: bool = True
    channel: str = Channel.SMS
    channel_fields: Mapping[str, Any] | None = None


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
    return sms_send_one(SmsRequest(
        actor=actor, account=account, recipients=recipients, text=text, sender=sender,
        kind=kind, send_at=send_at, callback_url=callback_url, reference=reference,
        allow_reply=allow_reply, max_segments=max_segments, idempotency_key=idempotency_key,
        authorised_senders=authorised_senders, product=product,
        honour_red_list=honour_red_list, channel=channel, channel_fields=channel_fields))


def sms_send_one(request: SmsRequest) -> SendOutcome:
    """`sms_send` of a request already built: its outcome, or its error raised."""
    [result] = sms_send_many(requests=[request])
    if isinstance(result, Exception):
        raise result
    return result


@dataclass(frozen=True)
class _Checked:
    """A request that passed the checks made before any write."""

    request: SmsRequest
    body: str
    request_hash: str


def _check(request: SmsRequest) -> _Checked | SendOutcome:
    """Permission, input and the Idempotency-Key (a replay answers the first
    outcome): what refuses a request before anything is written."""
    r = request
    r.actor.require(Perm.MESSAGING_SEND)
    _validate(recipients=r.recipients, text=r.text, reference=r.reference,
              callback_url=r.callback_url, send_at=r.send_at, kind=r.kind,
              max_segments=r.max_segments)
    request_hash = _request_hash(
        recipients=r.recipients, text=r.text, sender=r.sender, kind=r.kind, send_at=r.send_at,
        callback_url=r.callback_url, reference=r.reference, allow_reply=r.allow_reply,
        max_segments=r.max_segments, **({r.channel: r.channel_fields} if r.channel_fields else {}))
    if r.idempotency_key and (replay := _keyed_replay(r, request_hash)) is not None:
        return replay
    body = final_text(r.text, r.kind) if r.channel == Channel.SMS else r.text
    seg = segment(body)
    if r.max_segments is not None and seg.segments > r.max_segments:
        raise ValidationFailed(
            _("The message needs %(n)d segments, more than max_segments.") % {"n": seg.segments},
            code="too_many_segments",
            details={"segments": seg.segments, "max_segments": r.max_segments,
                     "encoding": seg.encoding})
    return _Checked(request=r, body=body, request_hash=request_hash)


def sms_send_many(*, requests: Sequence[SmsRequest]) -> list[SendOutcome | Exception]:
    """`sms_send` of several independent requests at once (the group commit of single
    sends, decision 0028): the requests of one account (and the same product, red-list
    and sender options) are accepted in one transaction, with one rating pass and one
    debit. Each request keeps its own outcome, its own Idempotency-Key and its own error:
    when a group fails as a whole (not enough credit for all of it, a key sent twice
    concurrently, anything unexpected), its requests are accepted again one by one, so
    only the one that cannot be accepted fails. Answers per request, in order: its
    outcome or the exception that refused it (never raised here)."""
    results: list[SendOutcome | Exception | None] = [None] * len(requests)
    groups: dict[tuple, list[tuple[int, _Checked]]] = defaultdict(list)
    gates: dict[Any, ChappeError | None] = {}  # the service gate, passed once per account
    for index, request in enumerate(requests):
        if request.account.pk not in gates:
            try:
                service_require(account=request.account, kind=ServiceKind.MESSAGING)
                gates[request.account.pk] = None
            except ChappeError as refused:
                gates[request.account.pk] = refused
        try:
            if refused_by_gate := gates[request.account.pk]:
                raise refused_by_gate
            checked = _check(request)
        except Exception as exc:  # this request's answer, not the others'
            results[index] = exc
            continue
        if isinstance(checked, SendOutcome):
            results[index] = checked
            continue
        groups[(request.account.pk, request.product, request.honour_red_list,
                request.authorised_senders)].append((index, checked))
    for group in groups.values():
        try:
            outcomes = _accept_atomic([checked for _i, checked in group])
        except Exception as exc:  # see the docstring: retried one by one
            if len(group) == 1:
                results[group[0][0]] = _after_failure(group[0][1], exc)
                continue
            for index, checked in group:
                try:
                    results[index] = _accept_atomic([checked])[0]
                except Exception as alone:  # this request's own error
                    results[index] = _after_failure(checked, alone)
            continue
        for (index, _checked), outcome in zip(group, outcomes, strict=True):
            results[index] = outcome
    return results  # type: ignore[return-value]


def _keyed_replay(request: SmsRequest, request_hash: str) -> SendOutcome | None:
    """The answer of the send already made with the request's Idempotency-Key: the same
    request is replayed, another one is refused (`Conflict`); None when there is none."""
    existing = Send.objects.filter(account=request.account,
                                   idempotency_key=request.idempotency_key).first()
    if existing is None:
        return None
    if existing.request_hash != request_hash:
        raise Conflict(_("This Idempotency-Key was used for a different request."),
                       code="idempotency_conflict")
    return _replay(existing)


def _after_failure(checked: _Checked, exc: Exception) -> SendOutcome | Exception:
    """What a request accepted alone answers after `exc`: when another request won a race
    on its Idempotency-Key, that send's replay or a conflict; else the error itself."""
    if isinstance(exc, IntegrityError) and checked.request.idempotency_key:
        try:
            replay = _keyed_replay(checked.request, checked.request_hash)
        except Conflict as conflict:
            return conflict
        if replay is not None:
            return replay
    return exc


def _accept_atomic(group: Sequence[_Checked]) -> list[SendOutcome]:
    """Accept checked requests of one account in one transaction: one `Send` each, one
    `messages_write` for all their messages, then the sends with their reports, and the
    debit last (the balance lock is held from there to the commit only)."""
    first = group[0].request
    account = first.account
    with transaction.atomic():
        sends, outcomes, parts, results = [], [], [], []
        for checked in group:
            r = checked.request
            send = Send(
                account=account, kind=r.kind, sender=r.sender, text=checked.body,
                send_at=r.send_at, callback_url=r.callback_url, reference=r.reference,
                allow_reply=r.allow_reply, max_segments=r.max_segments,
                idempotency_key=r.idempotency_key or None, request_hash=checked.request_hash,
                created_by=r.actor.label, channel=r.channel, **(r.channel_fields or {}))
            outcome, drafts, by_number = _drafts_of(send=send, recipients=r.recipients,
                                                    account=account)
            sends.append(send)
            outcomes.append(outcome)
            parts.append((send, drafts))
            results.append(by_number)
        written = messages_write(account=account, parts=parts, product=first.product,
                                 honour_red_list=first.honour_red_list,
                                 authorised_senders=first.authorised_senders)
        for outcome, by_number, answers in zip(outcomes, results, written.answers, strict=True):
            for done in answers:
                result = by_number[done.e164]
                result.status, result.error_code = done.status, done.error_code
                result.error_message = done.error_message
                if done.row is not None:
                    result.message = _message_of(done.row)
            outcome.send.report = json.dumps([{
                "input": r.input, "status": r.status,
                "message_id": str(r.message.id) if r.message else "", "e164": r.e164,
                "country": r.country, "error_code": r.error_code,
                "error_message": str(r.error_message)} for r in outcome.recipients])
        Send.objects.bulk_create(sends)
        written.charge_post()
    return outcomes


def _drafts_of(*, send: Send, recipients: list[str], account: Account,
               ) -> tuple[SendOutcome, list["Draft"], dict[str, RecipientOutcome]]:
    """The drafts of a send's recipients (normalised, the first of a repeated number),
    its outcome with a row per input, and the rows of the drafts by number."""
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
                                operator=number.operator, text=send.text))
            results[number.e164] = result
        outcome.recipients.append(result)
    return outcome, drafts, results


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
    "carrier_message_id", "attempts", "charge_version", "usage_id", "initial_status",
    "locked_by", "locked_until", "created_at", "sent_at", "channel"))
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


def message_channel(send: Send) -> str:
    """The channel of a send's messages: RCS when the send carries an RCS agent (an RCS
    send, or an RCS campaign's send), TTS for a TTS send, else SMS (a campaign's or a
    Time2Chat send's messages are SMS)."""
    if send.rcs_agent_id is not None:
        return Channel.RCS
    return send.channel if send.channel in PER_MESSAGE_CHANNELS else Channel.SMS


def messages_accept(*, account: Account, send: Send, drafts: Sequence[Draft],
                    product: str = Product.SMS, honour_red_list: bool = True,
                    authorised_senders: frozenset[str] = frozenset(),
                    max_segments: int | None = None) -> list[Accepted]:
    """Accept `drafts` into `send`: the core under `sms_send`, SMPP submits and campaign
    launches. In the caller's transaction: sender rule per country (M-2, from
    `send.sender`), red list (M-5), one message per number per call (M-6), marketing
    hours (M-12, from `send.kind` and `send.send_at`), then one `Message` row per draft
    (its `initial_status` is its first history: no event rows), written without model
    instances (`bulk_insert`), and one charge for the billable ones (`usage_rate_new`,
    `usage_post_new`: one usage record per kind of use, each message keeping its id;
    `InsufficientCredit` rolls the caller back). Answers per draft, in order. A TTS
    send's messages skip the SMS sender rules (its sender is the number presented) and
    are billed one unit per call."""
    written = messages_write(account=account, parts=[(send, drafts)], product=product,
                             honour_red_list=honour_red_list,
                             authorised_senders=authorised_senders, max_segments=max_segments)
    written.charge_post()
    return written.answers[0]


@dataclass(frozen=True)
class Written:
    """Messages `messages_write` wrote, rated and not yet debited."""

    # Per send given, per draft: what became of it.
    answers: list[list[Accepted]]
    charge: NewUses | None

    def charge_post(self) -> None:
        """Debit the messages' price (`InsufficientCredit` rolls the caller back): last in
        the caller's transaction, since the account's balance row stays locked from here
        to the commit (decision 0028)."""
        if self.charge is not None:
            usage_post_new(self.charge)


def messages_write(*, account: Account, parts: Sequence[tuple[Send, Sequence[Draft]]],
                   product: str = Product.SMS, honour_red_list: bool = True,
                   authorised_senders: frozenset[str] = frozenset(),
                   max_segments: int | None = None) -> Written:
    """`messages_accept` of several sends of one account (a group commit of API requests)
    with one rating pass, one read of the red list and of the sender authorisations, and
    one insert of all the messages; the debit is left to the caller
    (`Written.charge_post`), to run last. The rules apply per send (its sender, kind and
    time; one message per number per send)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("messages_accept must run inside the caller's transaction")
    now = timezone.now()
    opted_out = (opted_out_numbers(account=account,
                                   numbers=list({d.e164 for _s, ds in parts for d in ds}))
                 if honour_red_list else set())
    decisions: dict[tuple, SenderDecision] = {}
    dues: dict[tuple, datetime] = {}
    segmented: dict[tuple[bool, str], Any] = {}
    protected, windows = protected_senders(), sending_windows()
    rules = rules_from_config(settings.CHAPPE_SENDER_RULES)
    authorised = authorised_senders | sender_authorisations(
        account=account, on=timezone.localdate(now, ZoneInfo(account.timezone)))
    valid_for = validity()
    screening = Screening(account=account, authorised=authorised, now=now)
    answers: list[list[Accepted]] = []
    planned: list[tuple[Accepted, Draft, SenderDecision, datetime, Send]] = []
    channels = {send.pk: message_channel(send) for send, _drafts in parts}
    for send, drafts in parts:
        # TTS and RCS: no SMS sender rules, one billing unit per message (M-8); Time2Chat:
        # its declared 09 number as the sender, billed by segments.
        kind, tts = send.kind, channels[send.pk] in PER_MESSAGE_CHANNELS
        own_sender = tts or send.channel == T2C_CHANNEL
        base = send.send_at or now
        in_send: list[Accepted] = []
        answers.append(in_send)
        seen: set[str] = set()
        for draft in drafts:
            answer = Accepted(key=draft.key, e164=draft.e164, status="")
            in_send.append(answer)
            if draft.e164 in seen:
                answer.status = answer.error_code = "duplicate"
                answer.error_message = _("One message per recipient per send.")
                continue
            seen.add(draft.e164)
            country = draft.country
            decision = decisions.get((own_sender, send.sender, country))
            if decision is None:
                decision = decisions[(own_sender, send.sender, country)] = SenderDecision(
                    SenderAction.ACCEPT, send.sender, send.sender) if own_sender else check_sender(
                    send.sender, rule=(rule := rules.get(country) or rules.get("*")
                                       or DEFAULT_RULE),
                    protected=protected, authorised=authorised,
                    registered=screening.registered(country) if rule.registered_only else ())
            if decision.action is SenderAction.REJECT:
                answer.status, answer.error_code = "sender_rejected", f"sender_{decision.reason}"
                answer.error_message = decision.message
                continue
            finding = screening.check(send=send, text=draft.text, sender=decision.sender or "")
            if finding is not None and finding.action == "block":
                answer.status, answer.error_code = "content_refused", f"content_{finding.code}"
                answer.error_message = finding.message
                continue
            seg = segmented.get((tts, draft.text))
            if seg is None:
                seg = segmented[(tts, draft.text)] = ONE_CALL if tts else segment(draft.text)
            if max_segments is not None and seg.segments > max_segments:
                answer.status = answer.error_code = "too_many_segments"
                answer.error_message = _("The message needs %(n)d segments, more than "
                                         "max_segments.") % {"n": seg.segments}
                continue
            due = dues.get((kind, base, country))
            if due is None:
                due = dues[(kind, base, country)] = due_for(
                    base=base, kind=kind, country=country, zone=account.timezone,
                    windows=windows)
            answer.status = (S.OPTED_OUT if draft.e164 in opted_out
                             else S.HELD if finding is not None
                             else S.SCHEDULED if due > now else S.QUEUED)
            answer.encoding, answer.segments = seg.encoding, seg.segments
            planned.append((answer, draft, decision, due, send))
    for (answer, *_rest), message_id in zip(planned, uuid7_many(len(planned)), strict=True):
        answer.message_id = message_id
    billable = [(answer, draft) for answer, draft, _d, _due, _s in planned
                if answer.status != S.OPTED_OUT]
    batch_cause = (("messaging.send", str(parts[0][0].pk)) if len(parts) == 1
                   else ("messaging.sends", f"{len(parts)} sends"))
    # One usage record per kind of use of the call (decision 0036): each message keeps
    # its record's id and its own price.
    kinds: dict[tuple, NewUse] = {}  # one NewUse per kind, shared by its messages
    uses = []
    for answer, draft in billable:
        use = kinds.get((answer.segments, draft.country, draft.rate_operator))
        if use is None:
            use = kinds[(answer.segments, draft.country, draft.rate_operator)] = NewUse(
                product=product, quantity=answer.segments, destination_country=draft.country,
                operator=draft.rate_operator)
        uses.append(use)
    charge = usage_rate_new(
        account=account, occurred_at=now, batch_cause_type=batch_cause[0],
        batch_cause_id=batch_cause[1], items=uses) if billable else None
    currencies, usages = {}, {}
    for (answer, _draft), price, usage_id in zip(
            billable, charge.prices if charge else (), charge.usage_ids if charge else (),
            strict=True):
        answer.price_micros = price.amount_micros
        currencies[answer.message_id] = price.currency
        usages[answer.message_id] = usage_id
    row = MESSAGE_ROW.builder(
        account_id=account.pk, status_changed_at=now, error_code="",
        connector="", carrier_message_id="", attempts=0, charge_version=0, locked_by="",
        locked_until=None, created_at=now, sent_at=None)
    rows = []
    for answer, draft, decision, due, send in planned:
        answer.row = row(
            id=answer.message_id, send_id=send.pk, kind=send.kind,
            channel=channels[send.pk],
            recipient=draft.e164, country=draft.country,
            operator=draft.operator, sender=decision.sender or "",
            sender_note=decision.message if decision.action is not SenderAction.ACCEPT else "",
            text=draft.text, encoding=answer.encoding, segments=answer.segments,
            price_micros=answer.price_micros,
            currency=currencies.get(answer.message_id, DEFAULT_CURRENCY),
            usage_id=usages.get(answer.message_id), status=answer.status,
            due_at=due, expires_at=due + valid_for, initial_status=answer.status)
        rows.append(answer.row)
    MESSAGE_ROW.insert(rows)
    screening.record(answers=answers, sends=[send for send, _drafts in parts])
    return Written(answers=answers, charge=charge)


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
    # Per sender and send time, batches each with the set of its numbers.
    groups: dict[tuple, list[tuple[set[str], list[tuple[int, Draft]]]]] = defaultdict(list)
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
        for numbers, batch in batches:
            if number.e164 not in numbers:
                numbers.add(number.e164)
                batch.append((index, draft))
                break
        else:
            batches.append(({number.e164}, [(index, draft)]))
    with transaction.atomic(savepoint=False):  # each group has its own savepoint
        for (sender, send_at), batches in groups.items():
            for _numbers, batch in batches:
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
