"""`fee_charge` — a monthly fee paid in advance from prepaid credit, exactly once a month.

Why: an account without a subscription has no monthly invoice (P-6), so a monthly fee it
owes — the rental of a phone number (C-1, C-9) — would never be paid. Such an account pays
each month in advance from its prepaid credits (P-5), like any other use.

    from chappe.billing.services import fee_charge

    with transaction.atomic():
        charged = fee_charge(
            account=account, product=Product.NUMBER_RENTAL,
            cause_type="callcenter.numberrental", cause_id=str(rental.pk),
            description="+33189000001 (FR, geographic)", month=date(2026, 3, 1),
            started_on=date(2026, 3, 15), monthly_price_micros=2_000_000, currency="EUR")

Periods follow the contact-center subscriptions (P-6, decision 0008): the first one runs
from the day the fee started to the end of that local month, prorated by days; every
later one is a whole calendar month, owed in full once started. See decision 0019.

What it does, in one transaction:

1. **Exactly once** per (cause, month): the idempotency key is derived from them; a second
   call for the same month returns the first charge (`replayed=True`) and debits nothing.
2. Locks the account's credit book, expires lots past their date, and debits usable lots
   oldest-expiry first. Not enough ⇒ `InsufficientCredit` (`insufficient_credit`) and
   nothing is debited or recorded: the caller decides what happens (refuse a purchase,
   suspend a rented number).
3. Writes one `FeeCharge` (the proof, kept 10 years: P-13) with its ledger entry (reason
   `fee`), and an audit entry (a money action, P-13; a handful per account and month).
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account
from chappe.audit.services import audit_record
from chappe.billing.models import Book, EntryReason, FeeCharge
from chappe.billing.money import CURRENCIES, from_micros
from chappe.billing.periods import billable_days, days_in_month, month_end, month_start
from chappe.billing.rating import FEE_PRODUCTS, prorate
from chappe.billing.services.credits import credit_plan
from chappe.billing.services.ledger import (
    balance_lock,
    entry_post,
    lot_debit,
)
from chappe.common.errors import ValidationFailed


@dataclass(frozen=True)
class FeePeriod:
    """The local days of `month` a fee that started on `started_on` is owed for."""

    start: date
    end: date
    days: int
    month_days: int


def fee_period(*, month: date, started_on: date) -> FeePeriod:
    """Pure: the first month is prorated from `started_on`; later ones are whole."""
    first = month_start(month)
    days = billable_days(period_first=first, started_on=started_on, ended_on=None)
    if days == 0:
        raise ValidationFailed(details={"month": ["before the fee started"]})
    return FeePeriod(start=max(first, started_on), end=month_end(first), days=days,
                     month_days=days_in_month(first))


def fee_key(*, product: str, cause_type: str, cause_id: str, month: date) -> str:
    """The idempotency key of one (cause, month): what makes a charge happen once."""
    return f"fee:{product}:{cause_type}:{cause_id}:{month_start(month):%Y-%m}"


@dataclass(frozen=True)
class FeeCharged:
    charge: FeeCharge
    # True when this month was already charged: nothing new was written.
    replayed: bool


def _replay(account: Account, key: str) -> FeeCharged | None:
    found = FeeCharge.objects.filter(account=account, idempotency_key=key).first()
    return FeeCharged(found, True) if found is not None else None


def fee_charge(
    *,
    account: Account,
    product: str,
    cause_type: str,
    cause_id: str,
    description: str,
    month: date,
    started_on: date,
    monthly_price_micros: int,
    currency: str,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> FeeCharged:
    """Debit the fee of `month` from prepaid credit, exactly once (see module doc)."""
    if product not in FEE_PRODUCTS:
        raise ValidationFailed(details={"product": ["not a monthly fee"]})
    if monthly_price_micros < 0:
        raise ValidationFailed(details={"monthly_price_micros": ["must be >= 0"]})
    if currency not in CURRENCIES:
        raise ValidationFailed(details={"currency": ["unknown currency"]})
    now = now or timezone.now()
    if now.tzinfo is None:
        raise ValidationFailed(details={"now": ["time zone required"]})
    period = fee_period(month=month, started_on=started_on)
    key = fee_key(product=product, cause_type=cause_type, cause_id=cause_id, month=month)
    amount = prorate(monthly_price_micros, period.days, period.month_days)
    try:
        with transaction.atomic():
            replay = _replay(account, key)
            if replay is not None:
                return replay
            balance = balance_lock(account=account, book=Book.CREDIT, currency=currency)
            # A concurrent charge of the same month may have committed while we waited.
            replay = _replay(account, key)
            if replay is not None:
                return replay
            entry = None
            if amount:
                plan = credit_plan(balance=balance, amount_micros=amount, now=now)
                entry = entry_post(balance=balance, amount_micros=-amount,
                                   reason=EntryReason.FEE, cause_type=cause_type,
                                   cause_id=cause_id, idempotency_key=f"{key}:{account.pk}",
                                   occurred_at=now, memo=description)
                for lot, take in plan:
                    lot_debit(lot=lot, entry=entry, amount_micros=take)
            charge = FeeCharge.objects.create(
                account=account, product=product, description=description[:200],
                period_start=period.start, period_end=period.end, days=period.days,
                month_days=period.month_days, monthly_price_micros=monthly_price_micros,
                amount_micros=amount, currency=currency, cause_type=cause_type,
                cause_id=cause_id, idempotency_key=key, ledger_entry=entry, occurred_at=now)
            audit_record(actor=actor, account=account, action="billing.fee.charge",
                         target=charge, details={
                             "product": product, "description": description,
                             "period": f"{period.start}/{period.end}",
                             "amount": str(from_micros(amount)), "currency": currency})
            return FeeCharged(charge, False)
    except IntegrityError:
        # SQLite has no row lock: a concurrent charge of the same month won the race.
        replay = _replay(account, key)
        if replay is None:
            raise
        return replay
