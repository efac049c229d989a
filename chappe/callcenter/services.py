"""Contact-center writes: numbers (buy, assign, port-out; releasing one is in `numbers`),
call flows, call records. Every function takes the account explicitly and runs in a
transaction."""

import logging
import secrets
import tempfile
import wave
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.audit.services import audit_record
from chappe.billing.rating import Product
from chappe.billing.services import usage_charge
from chappe.callcenter.call_events import calls_ended
from chappe.callcenter.models import (
    RENTAL_HELD,
    AudioPrompt,
    CallFlow,
    CallFlowVersion,
    CallRecord,
    NumberRental,
    NumberStatus,
    NumberType,
    PhoneNumber,
    RentalStatus,
    Trunk,
    Voicemail,
)
from chappe.callcenter.numbers import numbers_sync, rental_held_lock
from chappe.callcenter.rentals import rental_first_charge
from chappe.callcenter.voicemails import unlink_later, voicemail_announce
from chappe.common.errors import ChappeError, Conflict, NotFound, ValidationFailed
from chappe.common.lookup import get_or_404, is_uuid
from chappe.common.numbers import INTERNATIONAL_ONLY, InvalidNumber, normalize, number_facts
from chappe.voice.callstate import seconds_between
from chappe.voice.flows import FlowInvalid, flow_parse, prompts_of
from chappe.voice.media.prompts import PromptError, audio_convert

logger = logging.getLogger(__name__)

# --- numbers (C-1) ---------------------------------------------------------------------


@transaction.atomic
def number_buy(*, actor: Actor, account: Account, number_id: int) -> NumberRental:
    """Rent a catalogue number (C-1). Its monthly fee is billed by the monthly invoice of
    the contact-center subscription (the subscription's `numbers` are kept in step), or,
    without a subscription, paid month by month from prepaid credit starting now
    (`rentals`): not enough credit ⇒ InsufficientCredit and nothing is bought."""
    actor.require(Perm.NUMBERS_MANAGE)
    service_require(account=account, kind=ServiceKind.CONTACT_CENTER)
    number = (PhoneNumber.objects.select_for_update()
              .filter(pk=number_id, status=NumberStatus.AVAILABLE).first())
    if number is None:
        raise NotFound(_("This number is not available."))
    number.status = NumberStatus.RENTED
    number.save(update_fields=["status"])
    rental = NumberRental.objects.create(
        account=account, number=number, monthly_price_micros=number.monthly_price_micros,
        currency=number.currency, started_at=timezone.now(), rio=_rio_for(account, number))
    rental.billing = rental_first_charge(rental=rental, actor=actor)
    rental.save(update_fields=["billing"])
    numbers_sync(account=account)
    audit_record(actor=actor, account=account, action="callcenter.number.buy", target=rental,
                 details={"number": number.e164, "billing": rental.billing})
    return rental


def _rio_for(account: Account, number: PhoneNumber) -> str:
    """A RIO-style porting reference: operator code, account code, random key."""
    return f"CH{str(account.pk.hex)[:6].upper()}{secrets.token_hex(3).upper()}"


@transaction.atomic
def number_assign(*, actor: Actor, account: Account, rental_id: Any,
                  flow_id: Any | None) -> NumberRental:
    actor.require(Perm.CALL_FLOWS_MANAGE)
    rental = rental_held_lock(account=account, rental_id=rental_id)
    flow = None
    if flow_id is not None:
        flow = get_or_404(CallFlow.objects.filter(account=account), flow_id)
        if flow.current is None:
            raise ValidationFailed(details={"flow_id": ["the flow has no version yet"]})
    rental.flow = flow
    rental.save(update_fields=["flow"])
    audit_record(actor=actor, account=account, action="callcenter.number.assign",
                 target=rental, details={"flow": str(flow.pk) if flow else None})
    return rental


PORT_OUT_HEADER = ["number", "country", "number_type", "holder", "siret", "address",
                   "postal_code", "city", "holder_country", "rio", "rented_since"]


def port_out_rows(*, account: Account) -> list[list[str]]:
    """What a porting request needs, per active number (P-9)."""
    address = " ".join(p for p in (account.address_line1, account.address_line2) if p)
    return [[r.number.e164, r.number.country, r.number.number_type, account.name,
             account.siret, address, account.postal_code, account.city, account.country,
             r.rio, r.started_at.date().isoformat()]
            for r in NumberRental.objects.filter(account=account, status__in=RENTAL_HELD)
            .select_related("number").order_by("number__e164")]


# --- flows (C-3) -----------------------------------------------------------------------


def flow_validate(definition: Any, account: Account | None = None) -> dict:
    """The normalized definition, or ValidationFailed with errors by JSON path. With an
    account, uploaded prompts (`audio_id`) must be that account's."""
    try:
        parsed = flow_parse(definition)
    except FlowInvalid as exc:
        raise ValidationFailed(_("The call flow is not valid."), details=exc.errors) from None
    if account is not None:
        wanted = {p.audio_id for p in prompts_of(parsed) if p.audio_id}
        known = {str(pk) for pk in AudioPrompt.objects.filter(
            account=account, pk__in=[w for w in wanted if is_uuid(w)]).values_list("pk",
                                                                                    flat=True)}
        if wanted - known:
            raise ValidationFailed(_("The call flow is not valid."), details={
                "audio_id": [f"no such audio prompt: {a}" for a in sorted(wanted - known)]})
    return parsed.model_dump(mode="json", exclude_none=True)


@transaction.atomic
def flow_create(*, actor: Actor, account: Account, name: str, definition: Any) -> CallFlow:
    actor.require(Perm.CALL_FLOWS_MANAGE)
    service_require(account=account, kind=ServiceKind.CONTACT_CENTER)
    normalized = flow_validate(definition, account)
    flow = CallFlow.objects.create(account=account, name=name)
    CallFlowVersion.objects.create(account=account, flow=flow, version=1,
                                   definition=normalized)
    audit_record(actor=actor, account=account, action="callcenter.flow.create", target=flow)
    return flow


@transaction.atomic
def flow_update(*, actor: Actor, account: Account, flow_id: Any, name: str | None = None,
                definition: Any | None = None) -> CallFlow:
    """Rename and/or add a new version (versions are never edited in place)."""
    actor.require(Perm.CALL_FLOWS_MANAGE)
    flow = get_or_404(CallFlow.objects.select_for_update().filter(account=account), flow_id)
    if name is not None:
        flow.name = name
    if definition is not None:
        normalized = flow_validate(definition, account)
        current = flow.current
        if current is None or current.definition != normalized:
            CallFlowVersion.objects.create(
                account=account, flow=flow, version=(current.version if current else 0) + 1,
                definition=normalized)
    flow.save()
    audit_record(actor=actor, account=account, action="callcenter.flow.update", target=flow)
    return flow


@transaction.atomic
def flow_delete(*, actor: Actor, account: Account, flow_id: Any) -> None:
    actor.require(Perm.CALL_FLOWS_MANAGE)
    flow = get_or_404(CallFlow.objects.filter(account=account), flow_id)
    if NumberRental.objects.filter(flow=flow, status=RentalStatus.ACTIVE).exists():
        raise Conflict(_("A number still uses this flow."))
    audit_record(actor=actor, account=account, action="callcenter.flow.delete", target=flow)
    flow.delete()


# --- the operator catalogue --------------------------------------------------------------


def catalogue_number_add(*, e164: str, number_type: str, monthly_price_micros: int,
                         trunk: Trunk | None = None, currency: str = "EUR") -> PhoneNumber:
    """Add a number to the operator's catalogue (admin, seeds)."""
    try:
        parsed = normalize(e164, default_country=INTERNATIONAL_ONLY)
    except InvalidNumber as exc:
        raise ValidationFailed(details={"e164": [str(exc)]}) from None
    if number_type not in NumberType.values:
        raise ValidationFailed(details={"e164": ["not a valid number of that type"]})
    number, _created = PhoneNumber.objects.get_or_create(
        e164=parsed.e164,
        defaults={"country": parsed.country, "number_type": number_type,
                  "monthly_price_micros": monthly_price_micros, "trunk": trunk,
                  "currency": currency})
    return number


DEMO_NUMBERS = [("+33189000001", NumberType.GEOGRAPHIC), ("+33189000002", NumberType.GEOGRAPHIC),
                ("+33975000001", NumberType.NATIONAL), ("+33800000001", NumberType.TOLL_FREE)]
DEMO_FLOW = {
    "start": "welcome",
    "nodes": {
        "welcome": {"type": "play", "next": "menu",
                    "prompt": {"text": "Bienvenue chez Chappe.", "language": "fr"}},
        "menu": {"type": "menu", "timeout_seconds": 5, "max_retries": 2, "on_failure": "bye",
                 "options": {"1": "voicemail", "2": "bye"},
                 "prompt": {"text": "Pour laisser un message, tapez 1. Pour raccrocher, "
                                    "tapez 2.", "language": "fr"}},
        "voicemail": {"type": "voicemail", "max_seconds": 60,
                      "greeting": {"text": "Laissez votre message après le bip.",
                                   "language": "fr"}},
        "bye": {"type": "hangup", "prompt": {"text": "Au revoir.", "language": "fr"}},
    },
}


def demo_voice_setup(*, account: Account) -> NumberRental:
    """Seed the embedded-mode catalogue and give the demo account a number with a
    welcome + IVR + voicemail flow (idempotent). Call it from runtime.demo.demo_setup."""
    with transaction.atomic():
        for e164, number_type in DEMO_NUMBERS:
            catalogue_number_add(e164=e164, number_type=number_type,
                                 monthly_price_micros=1_000_000)
        existing = NumberRental.objects.filter(account=account,
                                               status=RentalStatus.ACTIVE).first()
        if existing is not None:
            return existing
        actor = SYSTEM.on(account)
        number = PhoneNumber.objects.filter(status=NumberStatus.AVAILABLE,
                                            e164__in=[n for n, _t in DEMO_NUMBERS]).first()
        if number is None:
            raise Conflict("no demo number left in the catalogue")
        rental = number_buy(actor=actor, account=account, number_id=number.pk)
        flow = flow_create(actor=actor, account=account, name="Accueil", definition=DEMO_FLOW)
        return number_assign(actor=actor, account=account, rental_id=rental.pk,
                             flow_id=flow.pk)


SIMULATOR_TRUNK = "simulator"


def simulator_trunk_ensure(*, host: str, port: int) -> Trunk:
    """The embedded mode's carrier: a trunk to the built-in voice carrier simulator
    (`chappe sip-sim`), carrying every outbound call when no other trunk is set up
    (idempotent; an operator's trunk with prefixes is preferred for its numbers)."""
    trunk, _created = Trunk.objects.get_or_create(
        name=SIMULATOR_TRUNK, defaults={"host": host, "port": port, "transport": "udp",
                                        "max_concurrent_calls": 100, "calls_per_second": 20})
    return trunk


# --- call records ------------------------------------------------------------------------


def call_records_store(*, records: Sequence[CallRecord],
                       voicemails: Sequence[Voicemail] = ()) -> None:
    """Write the voice engine's finished calls (unsaved records, parents before the legs
    they placed) and their voicemails, announce each voicemail (`voicemail_announce`) and
    charge every answered outbound leg (`call_charge`), in one transaction. Each charge
    runs in a savepoint of its own: a leg that cannot be charged stays `billed=False` for
    the operator to see, since the call did happen."""
    with transaction.atomic():
        CallRecord.objects.bulk_create(records)
        Voicemail.objects.bulk_create(voicemails)
        calls_ended(records)  # call.ended webhooks (decision 0042)
        for voicemail in voicemails:
            voicemail_announce(voicemail=voicemail)
        for record in records:
            if record.direction != "outbound" or record.answered_at is None:
                continue
            try:
                call_charge(record=record)
            except ChappeError:
                logger.exception("call record %s could not be charged", record.pk)


def message_call_record(*, account_id: str, caller: str, callee: str, disposition: str,
                        sip_status: int, sip_call_id: str, started_at: datetime,
                        answered_at: datetime | None, ended_at: datetime) -> CallRecord:
    """The record of the call that played a TTS voice message (an outbound leg, its
    `flow_path` ["voice_message"]). Its message was charged per call at acceptance (M-8):
    the record is `billed` and never rated per second."""
    return CallRecord.objects.create(
        account_id=account_id, sip_call_id=sip_call_id, direction="outbound",
        from_number=caller, to_number=callee, started_at=started_at,
        answered_at=answered_at, ended_at=ended_at,
        duration_seconds=seconds_between(answered_at, ended_at), disposition=disposition,
        hangup_cause=f"sip_{sip_status}", flow_path=["voice_message"], billed=True)


# --- per-second rating of outbound legs (C-9) --------------------------------------------


def _number_facts(e164: str) -> tuple[str, str]:
    """(country, number type for pricing) of an E.164 number; ("", "") if unknown."""
    facts = number_facts(e164)
    return (facts.country, facts.number_type) if facts else ("", "")


def call_charge(*, record: CallRecord):
    """Rate and charge an ended outbound leg through the money engine: every started
    second is billed (`rating.billed_seconds`), priced by origin country, destination
    country and number type. Exactly once per call record (idempotency key)."""
    if record.direction != "outbound":
        raise ValidationFailed(details={"direction": ["only outbound legs are billed"]})
    if record.answered_at is None or record.ended_at is None:
        return None  # never answered: nothing to bill
    delta = record.ended_at - record.answered_at
    seconds = Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 10**6
    destination, number_type = _number_facts(record.to_number)
    origin, _type = _number_facts(record.from_number)
    with transaction.atomic():
        charge = usage_charge(
            account=record.account, product=Product.VOICE_MINUTE, quantity=seconds,
            destination_country=destination, number_type=number_type, origin_country=origin,
            cause_type="callcenter.callrecord",
            cause_id=str(record.pk), idempotency_key=f"call:{record.pk}",
            occurred_at=record.ended_at)
        CallRecord.objects.filter(pk=record.pk).update(billed=True)
    return charge


# --- uploaded audio prompts ----------------------------------------------------------------

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def audio_prompt_upload(*, actor: Actor, account: Account, name: str, file) -> AudioPrompt:
    """Store an uploaded recording as an 8 kHz mono 16-bit WAV prompt (C-3)."""
    actor.require(Perm.CALL_FLOWS_MANAGE)
    if file.size > MAX_UPLOAD_BYTES:
        raise ValidationFailed(details={"file": ["at most 20 MB"]})
    prompt = AudioPrompt(account=account, name=name[:200] or file.name[:200])
    relative = f"voice/uploads/{account.pk}/{prompt.pk}.wav"
    with tempfile.NamedTemporaryFile(suffix=Path(file.name).suffix[:10] or ".bin") as raw:
        for chunk in file.chunks():
            raw.write(chunk)
        raw.flush()
        try:
            target = audio_convert(source=Path(raw.name), target=settings.DATA_DIR / relative)
        except PromptError:
            raise ValidationFailed(details={"file": [_("Not an audio file we can read.")]}) \
                from None
    with wave.open(str(target), "rb") as wav:
        prompt.duration_ms = wav.getnframes() * 1000 // wav.getframerate()
    prompt.path = relative
    with transaction.atomic():
        prompt.save()
        audit_record(actor=actor, account=account, action="callcenter.audio_prompt.upload",
                     target=prompt, details={"name": prompt.name})
    return prompt


@transaction.atomic
def audio_prompt_delete(*, actor: Actor, account: Account, prompt_id: Any) -> None:
    actor.require(Perm.CALL_FLOWS_MANAGE)
    prompt = get_or_404(AudioPrompt.objects.filter(account=account), prompt_id)
    users = [flow.name for flow in CallFlow.objects.filter(account=account)
             if flow.current is not None and str(prompt.pk) in {
                 p.audio_id for p in prompts_of(flow_parse(flow.current.definition))}]
    if users:
        raise Conflict(_("The flow “%(name)s” plays this recording.") % {"name": users[0]})
    audit_record(actor=actor, account=account, action="callcenter.audio_prompt.delete",
                 target=prompt, details={"name": prompt.name})
    unlink_later(prompt.path)
    prompt.delete()


CALLS_CSV_HEADER = ["id", "direction", "from", "to", "started_at", "answered_at", "ended_at",
                    "duration_seconds", "disposition", "hangup_cause", "flow_path", "digits"]


def calls_csv_rows(records):
    for r in records.iterator():
        yield [str(r.pk), r.direction, r.from_number, r.to_number, r.started_at.isoformat(),
               r.answered_at.isoformat() if r.answered_at else "",
               r.ended_at.isoformat() if r.ended_at else "", r.duration_seconds, r.disposition,
               r.hangup_cause, "/".join(r.flow_path), r.digits]
