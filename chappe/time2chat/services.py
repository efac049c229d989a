"""Time2Chat (M-14, decision 0050): declare a rented 09 number, send conversational SMS
from it, bill the MOs' sessions, end a declaration (the number goes into quarantine).

**Billing** (M-8, M-14), all in `Europe/Paris` days:

* an MT of one segment outside an open session: one `t2c_mt`;
* an MT of more than one segment (over 160 GSM characters): billed like SMS, per
  segment (`sms`), and it opens no session;
* an MT of one segment inside an open session: free (accepted at the T2C price, the
  charge given back at once, its history saying why);
* every MO: one `t2c_session` — it opens a session with its correspondent, or re-opens
  the one still open, which ends at **midnight of the day its first MO arrived**.

MTs are accepted by the SMS core (`sms_send` with the Time2Chat channel: red list, one
message per number, hours, credit, Idempotency-Key), the 09 number as their sender.
"""

import csv
import io
import logging
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.billing.rating import Product
from chappe.billing.services.usage import usage_charge
from chappe.callcenter.models import (
    NumberRental,
    NumberStatus,
    NumberType,
    PhoneNumber,
    RentalStatus,
)
from chappe.callcenter.numbers import number_release
from chappe.callcenter.services import catalogue_number_add, number_buy
from chappe.common.erasure import ERASED
from chappe.common.errors import ChappeError, Conflict, ValidationFailed
from chappe.common.lookup import get_or_404
from chappe.common.numbers import InvalidNumber, normalize
from chappe.messaging.models import T2C_CHANNEL, MessageEvent, Reply
from chappe.messaging.services.accept import SendOutcome, sms_send
from chappe.messaging.services.edit import messages_uncharge
from chappe.smpp.encoding import segment
from chappe.time2chat.models import Declaration, Session

log = logging.getLogger("chappe.time2chat")
PARIS = ZoneInfo("Europe/Paris")
DECLARATION_FIELDS = ("client_name", "siret", "usage", "contact_last_name",
                      "contact_first_name", "contact_phone", "contact_email")


def session_end(first_mo_at: datetime) -> datetime:
    """Midnight (Europe/Paris) ending the day `first_mo_at` falls on — 23, 24 or 25
    hours after that day's start on DST days."""
    day = first_mo_at.astimezone(PARIS).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=PARIS)


def siret_valid(siret: str) -> bool:
    """14 digits passing the Luhn check (La Poste's establishments, SIREN 356000000,
    use a digit sum multiple of 5 instead)."""
    if len(siret) != 14 or not siret.isdigit():
        return False
    if siret.startswith("356000000"):
        return sum(int(d) for d in siret) % 5 == 0
    total = 0
    for index, digit in enumerate(int(d) for d in reversed(siret)):
        doubled = digit * 2 if index % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def _e164(number: str) -> str:
    try:
        return normalize(number, default_country="FR").e164
    except InvalidNumber:
        return number


def _check_declaration(fields: dict[str, Any]) -> dict[str, str]:
    clean = {k: str(fields.get(k, "")).strip() for k in DECLARATION_FIELDS}
    errors: dict[str, list[str]] = {}
    for key, value in clean.items():
        if not value:
            errors[key] = [_("Required.")]
    clean["siret"] = clean["siret"].replace(" ", "")
    if clean["siret"] and not siret_valid(clean["siret"]):
        errors["siret"] = [_("Not a valid SIRET (14 digits).")]
    try:
        validate_email(clean["contact_email"])
    except DjangoValidationError:
        errors.setdefault("contact_email", [_("Enter a valid e-mail address.")])
    try:
        clean["contact_phone"] = normalize(clean["contact_phone"], default_country="FR").e164
    except InvalidNumber:
        errors.setdefault("contact_phone", [_("Not a valid phone number.")])
    if errors:
        raise ValidationFailed(details=errors)
    return clean


@transaction.atomic
def t2c_declare(*, actor: Actor, account: Account, rental_id: Any,
                **fields: Any) -> Declaration:
    """Declare one of the account's rented 09 numbers for Time2Chat (required before it
    sends): the client's name, SIRET, usage and a contact."""
    actor.require(Perm.NUMBERS_MANAGE)
    rental = get_or_404(NumberRental.objects.select_related("number").filter(
        account=account, status=RentalStatus.ACTIVE), rental_id)
    if rental.number.number_type != NumberType.TIME2CHAT:
        raise ValidationFailed(details={"rental_id": [_("Not a 09 Time2Chat number.")]})
    if Declaration.objects.filter(number=rental.number.e164, ended_at__isnull=True).exists():
        raise Conflict(_("This number is already declared."), code="t2c_already_declared")
    declaration = Declaration.objects.create(
        account=account, rental=rental, number=rental.number.e164, declared_at=timezone.now(),
        declared_by=actor.label, **_check_declaration(fields))
    audit_record(actor=actor, account=account, action="time2chat.declare", target=declaration,
                 details={"number": declaration.number, "siret": declaration.siret})
    return declaration


def t2c_declaration_live(*, account: Account, number: str) -> Declaration:
    """The account's live declaration of `number`, or a clear refusal."""
    declaration = Declaration.objects.filter(account=account, number=_e164(number),
                                             ended_at__isnull=True).first()
    if declaration is None:
        raise Conflict(_("%(number)s is not a declared Time2Chat number of this account: "
                         "declare it before sending.") % {"number": number},
                       code="t2c_not_declared")
    return declaration


@transaction.atomic
def t2c_declaration_end(*, actor: Actor, account: Account, declaration_id: Any,
                        now: datetime | None = None) -> Declaration:
    """End a declaration: the number is released and kept out of the catalogue for
    `CHAPPE_T2C_QUARANTINE_DAYS` days (its correspondents may still write to it)."""
    actor.require(Perm.NUMBERS_MANAGE)
    now = now or timezone.now()
    declaration = get_or_404(Declaration.objects.select_for_update().filter(
        account=account, ended_at__isnull=True), declaration_id)
    declaration.ended_at = now
    declaration.quarantine_until = now + timedelta(days=settings.CHAPPE_T2C_QUARANTINE_DAYS)
    declaration.save(update_fields=["ended_at", "quarantine_until"])
    if declaration.rental.status in (RentalStatus.ACTIVE, RentalStatus.SUSPENDED):
        number_release(actor=actor, account=account, rental_id=declaration.rental_id, now=now,
                       reason="Time2Chat declaration ended")
    PhoneNumber.objects.filter(e164=declaration.number).update(status=NumberStatus.WITHDRAWN)
    audit_record(actor=actor, account=account, action="time2chat.end", target=declaration,
                 details={"quarantine_until": declaration.quarantine_until.isoformat()})
    return declaration


def t2c_quarantine_release(*, now: datetime | None = None) -> int:
    """Numbers whose quarantine is over go back to the catalogue (reassignable)."""
    now = now or timezone.now()
    over = set(Declaration.objects.filter(quarantine_until__lte=now)
               .values_list("number", flat=True))
    live = set(Declaration.objects.filter(number__in=over, ended_at__isnull=True)
               .values_list("number", flat=True))
    waiting = set(Declaration.objects.filter(number__in=over, quarantine_until__gt=now)
                  .values_list("number", flat=True))
    return PhoneNumber.objects.filter(
        e164__in=over - live - waiting, status=NumberStatus.WITHDRAWN,
        number_type=NumberType.TIME2CHAT).update(status=NumberStatus.AVAILABLE)


CSV_HEADER = ["number", "client_name", "siret", "usage", "contact_last_name",
              "contact_first_name", "contact_phone", "contact_email", "declared_at",
              "ended_at"]


def t2c_declarations_csv(declarations: Any) -> str:
    """The declarations as the operators take them (CSV, one row each)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for d in declarations:
        writer.writerow([d.number, d.client_name, d.siret, d.usage, d.contact_last_name,
                         d.contact_first_name, d.contact_phone, d.contact_email,
                         d.declared_at.isoformat(), d.ended_at.isoformat() if d.ended_at else ""])
    return out.getvalue()


def session_open(*, number: str, correspondent: str, at: datetime) -> Session | None:
    return (Session.objects.filter(number=number, correspondent=correspondent,
                                   opened_at__lte=at, ends_at__gt=at)
            .order_by("-ends_at").first())


def t2c_send(*, actor: Actor, account: Account, number: str, recipient: str, text: str,
             callback_url: str = "", reference: str = "",
             idempotency_key: str | None = None) -> SendOutcome:
    """Send `text` from the declared 09 `number` to `recipient`, billed as the module doc
    says."""
    actor.require(Perm.MESSAGING_SEND)
    declaration = t2c_declaration_live(account=account, number=number)
    long = segment(text).segments > 1
    with transaction.atomic():
        outcome = sms_send(
            actor=actor, account=account, recipients=[recipient], text=text,
            sender=declaration.number, callback_url=callback_url, reference=reference,
            allow_reply=True, idempotency_key=idempotency_key,
            product=Product.SMS if long else Product.T2C_MT, channel=T2C_CHANNEL)
        message = outcome.recipients[0].message if outcome.recipients else None
        if message is None or long or outcome.replayed or not message.price_micros:
            return outcome
        session = session_open(number=declaration.number, correspondent=message.recipient,
                               at=message.created_at)
        if session is not None:
            messages_uncharge([message], reason="inside a Time2Chat session")
            type(message).objects.filter(pk=message.pk).update(price_micros=0)
            message.price_micros = 0
            MessageEvent.objects.create(message=message, status=message.status,
                                        at=message.created_at,
                                        detail=f"free: inside Time2Chat session {session.pk}")
    return outcome


def t2c_number_owner(e164: str) -> Any:
    """The account a live declaration gives `e164` to (the MO attribution's number
    owner), or None."""
    return Declaration.objects.filter(number=_e164(e164), ended_at__isnull=True).values_list(
        "account_id", flat=True).first()


def t2c_mo_record(*, replies: list[Reply]) -> int:
    """Bill and open/re-open the session of each MO to a declared 09 number (module
    doc); in the caller's transaction. An MO that cannot be billed (no credit) is kept
    all the same, and logged. Returns how many MOs were Time2Chat's."""
    count = 0
    for reply in replies:
        number = _e164(reply.to)
        if not Declaration.objects.filter(account_id=reply.account_id, number=number,
                                          ended_at__isnull=True).exists():
            continue
        count += 1
        at = reply.received_at
        session = session_open(number=number, correspondent=reply.from_number, at=at)
        if session is None:
            session = Session.objects.create(account_id=reply.account_id, number=number,
                                             correspondent=reply.from_number, opened_at=at,
                                             ends_at=session_end(at))
        try:
            with transaction.atomic():
                price = usage_charge(
                    account=reply.account, product=Product.T2C_SESSION, quantity=1,
                    destination_country="FR", cause_type="time2chat.session",
                    cause_id=str(session.pk), idempotency_key=f"t2c-mo:{reply.pk}",
                    occurred_at=at).amount_micros
        except ChappeError as exc:
            log.warning("Time2Chat MO %s not billed: %s", reply.pk, exc.code)
            price = 0
        session.mo_count += 1
        session.billed_micros += price
        session.save(update_fields=["mo_count", "billed_micros"])
    return count


DEMO_T2C_NUMBER = "+33939000001"
# The demo's SIRET: 14 digits passing the check (an example, no real company).
DEMO_SIRET = "73282932000074"


def demo_time2chat_setup(*, account: Account) -> Declaration:
    """The demo account's 09 number, rented from the catalogue and declared (idempotent):
    the demo can send Time2Chat at once."""
    existing = Declaration.objects.filter(account=account, ended_at__isnull=True).first()
    if existing is not None:
        return existing
    number = catalogue_number_add(e164=DEMO_T2C_NUMBER, number_type=NumberType.TIME2CHAT,
                                  monthly_price_micros=1_000_000)
    rental = NumberRental.objects.filter(account=account, number=number,
                                         status=RentalStatus.ACTIVE).first()
    if rental is None:
        rental = number_buy(actor=Actor(account=account, is_operator=True), account=account,
                            number_id=number.pk)
    return t2c_declare(
        actor=Actor(account=account, is_operator=True), account=account, rental_id=rental.pk,
        client_name=account.name, siret=DEMO_SIRET, usage="Demo: conversations with customers",
        contact_last_name="Demo", contact_first_name="Admin", contact_phone="+33140000000",
        contact_email="demo@chappe.example")


def t2c_erase_number(*, account: Account, number: str) -> int:
    """Erase a correspondent (E.164) from the account's Time2Chat sessions (P-12): they
    stay as the billing proof of what they cost, without the number. How many."""
    return Session.objects.filter(account=account, correspondent=number).update(
        correspondent=ERASED)
