"""`usage_charge` — THE service the messaging and contact-center apps call for every
billable use (a submitted SMS, a TTS call, an RCS message or session, a Time2Chat MT or
session, an unsubscribe confirmation, an outbound call's duration).

    from chappe.billing.services import usage_charge
    from chappe.billing.errors import InsufficientCredit      # code "insufficient_credit"

    with transaction.atomic():                     # the caller's own transaction, ideally
        service_require(account=account, kind=...)  # suspension gate stays the caller's
        charge = usage_charge(
            account=account, product=Product.SMS, quantity=segments,
            destination_country="FR", operator="20801",          # optional
            cause_type="messaging.message", cause_id=str(message.pk),
            idempotency_key=f"message:{message.pk}",             # one charge per cause
        )
        # charge.record.amount_micros, charge.replayed

What it does, in one transaction:

1. **Exactly once**: a second call with the same (account, idempotency_key) returns the
   first result (`replayed=True`) and debits nothing.
2. **Rates** the use with the pure `rating.rate` against the price list version in force
   at `occurred_at` (see `selectors.price_list_for`); no price ⇒ `NoPriceError`
   (`no_price`), nothing recorded.
3. **Prepaid** accounts (no live subscription for the product's service): locks the
   account's credit book, expires lots past their date, and debits usable credit lots
   oldest-expiry first. Not enough ⇒ `InsufficientCredit` (HTTP 402,
   `insufficient_credit`) and **nothing** is debited or recorded.
   `usage_charge_many` does the same for a batch (one send to many recipients) under one
   lock, all or nothing, with one ledger entry for the batch and one record per use.
   `usage_reverse` undoes a use that never happened (a scheduled message canceled).
   **Subscribers** (P-6): never blocked by balance; the use is recorded and invoiced by
   the monthly run in arrears.
4. Writes one `UsageRecord` (the proof, kept 10 years — P-13, C-10) and, when prepaid,
   one ledger entry linked to the cause.

Messages accepted in bulk take another way in (`usage_rate_new`, `usage_post_new`): the
uses of one kind in one acceptance batch are one aggregate record, each message keeping
its id; `usage_reverse_many` undoes one use of it at a time (`UseShare`, decision 0036).

Individual usage charges are not written to the audit log: the usage record and its
ledger entry are the record (millions of rows a day would drown the audit trail); every
human or operator money action is audited.
"""

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from chappe.accounts.models import Account
from chappe.billing.errors import NoPriceError
from chappe.billing.models import (
    BillingMode,
    Book,
    CreditLot,
    EntryReason,
    LedgerEntry,
    LotMovement,
    PriceList,
    PriceListVersion,
    UsageRecord,
)
from chappe.billing.rating import USAGE_PRODUCTS, NoPrice, Rating, UsageEvent, rate
from chappe.billing.rating_context import price_table, rating_context
from chappe.billing.selectors import service_kind_of
from chappe.billing.services.credits import credit_plan
from chappe.billing.services.ledger import (
    balance_lock,
    balance_move,
    entry_post,
    lot_credit,
    lot_debit,
)
from chappe.common.bulk import RowShape
from chappe.common.errors import ValidationFailed
from chappe.common.ids import uuid7_many


@dataclass(frozen=True)
class UsageCharge:
    record: UsageRecord
    # True when this idempotency key was already charged: nothing new was written.
    replayed: bool

    @property
    def amount_micros(self) -> int:
        return self.record.amount_micros


@dataclass(frozen=True)
class UsageItem:
    """One billable use, as `usage_charge` takes it."""

    product: str
    quantity: int | Decimal
    cause_type: str
    cause_id: str
    idempotency_key: str
    destination_country: str = ""
    operator: str = ""
    number_type: str = ""
    origin_country: str = ""


@dataclass(frozen=True)
class NewUse:
    """One billable use for `usage_rate_new`: only its kind. The uses of one kind rated
    together share one usage record (an aggregate, decision 0036): the caller's own row
    (the message) keeps that record's id, and is what names the use."""

    product: str
    quantity: int | Decimal
    destination_country: str = ""
    operator: str = ""
    number_type: str = ""
    origin_country: str = ""


def _validate_kind(item: UsageItem | NewUse) -> None:
    if item.product not in USAGE_PRODUCTS:
        raise ValidationFailed(details={"product": ["not a usage product"]})
    quantity = item.quantity
    if isinstance(quantity, float | bool) or not isinstance(quantity, int | Decimal):
        raise ValidationFailed(details={"quantity": ["int or Decimal"]})
    if quantity < 0:
        raise ValidationFailed(details={"quantity": ["must be >= 0"]})


def _validate(item: UsageItem) -> None:
    _validate_kind(item)
    if not item.idempotency_key or len(item.idempotency_key) > 150:
        raise ValidationFailed(details={"idempotency_key": ["1 to 150 characters"]})


def _existing(account: Account, keys: Sequence[str]) -> dict[str, UsageRecord]:
    found: dict[str, UsageRecord] = {}
    for start in range(0, len(keys), 900):
        for record in UsageRecord.objects.filter(account=account,
                                                 idempotency_key__in=keys[start:start + 900]):
            found[record.idempotency_key] = record
    return found


def usage_charge(
    *,
    account: Account,
    product: str,
    quantity: int | Decimal,
    cause_type: str,
    cause_id: str,
    idempotency_key: str,
    destination_country: str = "",
    operator: str = "",
    number_type: str = "",
    origin_country: str = "",
    occurred_at: datetime | None = None,
) -> UsageCharge:
    """Rate, debit (prepaid) and record one billable use, exactly once (see module doc)."""
    item = UsageItem(product=product, quantity=quantity, cause_type=cause_type,
                     cause_id=str(cause_id), idempotency_key=idempotency_key,
                     destination_country=destination_country, operator=operator,
                     number_type=number_type, origin_country=origin_country)
    return usage_charge_many(account=account, items=[item], occurred_at=occurred_at)[0]


# How many times a batch is charged again after losing a race on some of its keys.
CONCURRENT_RETRIES = 3


def _entry_key(account: Account, keys: Sequence[str], label: str) -> str:
    """The idempotency key of the ledger entry for uses (or reversals) `keys`: the use's
    own key for one, else a digest of them all under `label`."""
    if len(keys) == 1:
        return f"usage:{account.pk}:{keys[0]}"
    digest = hashlib.sha256("\n".join(sorted(keys)).encode())
    return f"usage:{account.pk}:{label}:{digest.hexdigest()}"


def usage_charge_many(
    *,
    account: Account,
    items: Sequence[UsageItem],
    occurred_at: datetime | None = None,
    batch_cause_type: str = "",
    batch_cause_id: str = "",
) -> list[UsageCharge]:
    """Charge several uses at once, all or nothing, in the order given. Items already
    charged (same idempotency key) are replayed. With more than one new item the prepaid
    debit is one ledger entry caused by (`batch_cause_type`, `batch_cause_id`)."""
    for item in items:
        _validate(item)
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at.tzinfo is None:
        raise ValidationFailed(details={"occurred_at": ["time zone required"]})
    keys = [item.idempotency_key for item in items]
    if len(set(keys)) != len(keys):
        raise ValidationFailed(details={"idempotency_key": ["repeated within the batch"]})
    for attempt in range(CONCURRENT_RETRIES):
        try:
            with transaction.atomic():
                return _charge(account=account, items=items, occurred_at=occurred_at, now=now,
                               batch_cause=(batch_cause_type, batch_cause_id))
        except IntegrityError:
            # A concurrent charge with some of these keys won the race: those are now
            # replays; charge the rest again (all of them replayed: nothing to debit).
            found = _existing(account, keys)
            if len(found) == len(keys):
                return [UsageCharge(found[key], True) for key in keys]
            if attempt == CONCURRENT_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class RatedKind:
    """How one kind of use (product, quantity, destination…) is rated: shared by every
    item of that kind in a batch."""

    event: UsageEvent
    service_kind: str
    postpaid: bool
    price_list: PriceList
    version: PriceListVersion
    rating: Rating

    @property
    def currency(self) -> str:
        return self.price_list.currency


Rated = tuple[UsageItem, RatedKind]


def _rate_all(account: Account, items: Sequence[Any], occurred_at: datetime) -> list[Rated]:
    """Each item with its rating: one rating per distinct kind of use (a million messages
    to one country at one length are rated once), with the account's prices from the
    per-process cache (`rating_context`)."""
    kinds: dict[tuple, RatedKind] = {}
    # Callers may pass one object per kind for all its uses (`messages_write` does): its
    # rating is then found by the object's identity, without building its signature.
    by_object: dict[int, RatedKind] = {}
    rated: list[Rated] = []
    for item in items:
        known = by_object.get(id(item))
        if known is None:
            signature = (item.product, item.quantity, item.destination_country,
                         item.operator, item.number_type, item.origin_country)
            known = kinds.get(signature)
            if known is None:
                known = kinds[signature] = _rate_kind(account, item, occurred_at)
            by_object[id(item)] = known
        rated.append((item, known))
    return rated


def _rate_kind(account: Account, item: UsageItem | NewUse, occurred_at: datetime) -> RatedKind:
    kind = service_kind_of(item.product)
    context = rating_context(account=account, service_kind=kind, at=occurred_at)
    event = UsageEvent(product=item.product, quantity=item.quantity,
                       destination_country=item.destination_country.upper(),
                       operator=item.operator, number_type=item.number_type,
                       origin_country=item.origin_country.upper())
    table = price_table(version=context.version, product=item.product,
                        country=event.destination_country)
    try:
        rating = rate(event, table)
    except NoPrice as exc:
        raise NoPriceError(details={"product": item.product,
                                    "country": event.destination_country}) from exc
    return RatedKind(event, kind, context.postpaid, context.price_list, context.version, rating)


def _debit(*, account: Account, rated: list[Rated], occurred_at: datetime, now: datetime,
           batch_cause: tuple[str, str],
           late: Callable[[list[str]], dict[str, UsageRecord]] | None) -> dict[str, LedgerEntry]:
    """Debit the prepaid part of `rated` from the credit lots, one ledger entry per
    currency, under the account's balance lock. `late` (None when the causes are new in
    this transaction) finds keys another call charged while we waited for the lock: the
    lock serializes prepaid charges, so those are dropped from `rated` (in place) as
    replays and what is left is ours alone to charge. Returns {currency: entry}."""
    entries: dict[str, LedgerEntry] = {}
    prepaid = [r for r in rated if not r[1].postpaid]
    for currency in sorted({kind.currency for _item, kind in prepaid}):
        in_currency = [r for r in prepaid if r[1].currency == currency]
        balance = balance_lock(account=account, book=Book.CREDIT, currency=currency)
        if late is not None:
            charged = late([item.idempotency_key for item, _kind in in_currency])
            if charged:
                rated[:] = [r for r in rated if r[0].idempotency_key not in charged]
                in_currency = [r for r in in_currency if r[0].idempotency_key not in charged]
                if not in_currency:
                    continue
        total = sum(kind.rating.amount_micros for _item, kind in in_currency)
        plan = credit_plan(balance=balance, amount_micros=total, now=now)
        if total:
            entry = entry_post(balance=balance, amount_micros=-total,
                               **_entry_fields(account, in_currency, batch_cause, occurred_at))
            for lot, take in plan:
                lot_debit(lot=lot, entry=entry, amount_micros=take)
            entries[currency] = entry
    return entries


def _entry_fields(account: Account, in_currency: list[Rated], batch_cause: tuple[str, str],
                  occurred_at: datetime) -> dict[str, Any]:
    """The fields of the debit entry of uses `in_currency` (one currency), but its amount:
    caused by the use itself when it is alone, else by `batch_cause`."""
    single = len(in_currency) == 1
    first, first_kind = in_currency[0]
    return {
        "reason": EntryReason.USAGE,
        "cause_type": first.cause_type if single else batch_cause[0] or "billing.usage",
        "cause_id": first.cause_id if single else batch_cause[1] or "batch",
        "idempotency_key": _entry_key(
            account, [item.idempotency_key for item, _kind in in_currency], "batch"),
        "occurred_at": occurred_at,
        "memo": (f"{first.product} {first_kind.event.destination_country}" if single
                 else f"{len(in_currency)} uses")}


RECORD_ROW = RowShape(UsageRecord, (
    "id", "account_id", "service_kind", "product", "uses", "quantity", "billed_quantity",
    "destination_country", "operator", "number_type", "origin_country", "currency",
    "unit_price_micros", "amount_micros", "price_version_id", "billing_mode",
    "ledger_entry_id", "cause_type", "cause_id", "idempotency_key", "reverses_id",
    "occurred_at", "created_at"))


def _record_rows(account: Account, rated: list[Rated], entries: dict[str, LedgerEntry],
                 occurred_at: datetime, now: datetime) -> Iterator[tuple]:
    """One usage record per item, as a `RECORD_ROW` tuple; what depends only on the kind
    of use is bound once per kind (a builder per kind)."""
    per_kind: dict[int, Callable[..., tuple]] = {}
    for (item, kind), record_id in zip(rated, uuid7_many(len(rated)), strict=True):
        row = per_kind.get(id(kind))
        if row is None:
            entry = (None if kind.postpaid or not kind.rating.amount_micros
                     else entries[kind.currency])
            row = per_kind[id(kind)] = RECORD_ROW.builder(
                account_id=account.pk, service_kind=kind.service_kind, product=item.product,
                quantity=str(item.quantity), billed_quantity=kind.rating.billed_quantity,
                destination_country=kind.event.destination_country, operator=item.operator,
                number_type=item.number_type, origin_country=kind.event.origin_country,
                currency=kind.currency, unit_price_micros=kind.rating.unit_price_micros,
                amount_micros=kind.rating.amount_micros, price_version_id=kind.version.pk,
                billing_mode=BillingMode.POSTPAID if kind.postpaid else BillingMode.PREPAID,
                ledger_entry_id=entry.pk if entry is not None else None, uses=1,
                reverses_id=None, occurred_at=occurred_at, created_at=now)
        yield row(id=record_id, cause_type=item.cause_type, cause_id=str(item.cause_id),
                  idempotency_key=item.idempotency_key)


def _charge(*, account: Account, items: Sequence[UsageItem], occurred_at: datetime,
            now: datetime, batch_cause: tuple[str, str]) -> list[UsageCharge]:
    keys = [item.idempotency_key for item in items]
    found = _existing(account, keys)
    rated = _rate_all(account, [item for item in items if item.idempotency_key not in found],
                      occurred_at)

    def late(pending: list[str]) -> dict[str, UsageRecord]:
        charged = _existing(account, pending)
        found.update(charged)
        return charged

    entries = _debit(account=account, rated=rated, occurred_at=occurred_at, now=now,
                     batch_cause=batch_cause, late=late)
    records = UsageRecord.objects.bulk_create(
        [UsageRecord(**RECORD_ROW.values(row))
         for row in _record_rows(account, rated, entries, occurred_at, now)], batch_size=1000)
    charged = {record.idempotency_key: UsageCharge(record, False) for record in records}
    return [charged.get(key) or UsageCharge(found[key], True) for key in keys]


@dataclass(frozen=True)
class Priced:
    amount_micros: int
    currency: str


@dataclass
class Aggregate:
    """The uses of one kind in one `usage_rate_new` call: one usage record."""

    id: UUID
    kind: RatedKind
    uses: int = 0

    @property
    def amount_micros(self) -> int:
        return self.kind.rating.amount_micros * self.uses

    @property
    def idempotency_key(self) -> str:
        return f"aggregate:{self.id}"


@dataclass(frozen=True)
class NewUses:
    """Uses rated by `usage_rate_new` and not yet debited: `usage_post_new` debits them and
    writes their records. Between the two the caller writes its own rows (the messages),
    so the account's balance lock is taken only for the debit at the end of its
    transaction (decision 0028)."""

    account: Account
    # One per kind of use, in the order first met.
    aggregates: list[Aggregate]
    occurred_at: datetime
    now: datetime
    cause: tuple[str, str]
    # Each item's price, in the order given.
    prices: list[Priced]
    # Each item's usage record (its aggregate's id), in the order given.
    usage_ids: list[UUID]


def usage_rate_new(*, account: Account, items: Sequence[NewUse],
                   occurred_at: datetime | None = None, batch_cause_type: str = "",
                   batch_cause_id: str = "") -> NewUses:
    """Validate and rate uses whose causes are created in the caller's transaction
    (messages accepted just now, a million at a time for a campaign); nothing is locked
    or written. The uses of one kind (product, quantity, destination, operator…) become
    one usage record, their quantity, billed quantity and amount summed (decision 0036),
    caused by (`batch_cause_type`, `batch_cause_id`): the caller keeps, on each of its
    rows, the record's id (`NewUses.usage_ids`) and the use's price (`NewUses.prices`).
    Exactly once: each item is counted in one record, written once by `usage_post_new`
    in the transaction that creates the caller's rows, so a use is never rated twice; a
    reversal is per use (`usage_reverse_many` with `UseShare`s)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("usage_rate_new must run inside the caller's transaction")
    now = timezone.now()
    occurred_at = occurred_at or now
    if occurred_at.tzinfo is None:
        raise ValidationFailed(details={"occurred_at": ["time zone required"]})
    checked: set[tuple] = set()
    for item in items:  # one check per kind of use
        if (item.product, item.quantity) not in checked:
            _validate_kind(item)
            checked.add((item.product, item.quantity))
    rated = _rate_all(account, items, occurred_at)
    aggregates: dict[int, Aggregate] = {}
    ids = iter(uuid7_many(len({id(kind) for _item, kind in rated})))
    prices: dict[int, Priced] = {}
    usage_ids = []
    for _item, kind in rated:
        aggregate = aggregates.get(id(kind))
        if aggregate is None:
            aggregate = aggregates[id(kind)] = Aggregate(next(ids), kind)
            prices[id(kind)] = Priced(kind.rating.amount_micros, kind.currency)
        aggregate.uses += 1
        usage_ids.append(aggregate.id)
    return NewUses(account=account, aggregates=list(aggregates.values()),
                   occurred_at=occurred_at, now=now, cause=(batch_cause_type, batch_cause_id),
                   prices=[prices[id(kind)] for _item, kind in rated], usage_ids=usage_ids)


def _aggregate_rows(uses: NewUses, entries: dict[str, LedgerEntry]) -> Iterator[tuple]:
    row = RECORD_ROW.builder(account_id=uses.account.pk, cause_type=uses.cause[0] or
                             "billing.usage", cause_id=uses.cause[1] or "batch",
                             reverses_id=None, occurred_at=uses.occurred_at,
                             created_at=uses.now)
    for aggregate in uses.aggregates:
        kind, event = aggregate.kind, aggregate.kind.event
        entry = (None if kind.postpaid or not kind.rating.amount_micros
                 else entries[kind.currency])
        yield row(id=aggregate.id, service_kind=kind.service_kind, product=event.product,
                  uses=aggregate.uses, quantity=str(event.quantity * aggregate.uses),
                  billed_quantity=kind.rating.billed_quantity * aggregate.uses,
                  destination_country=event.destination_country, operator=event.operator,
                  number_type=event.number_type, origin_country=event.origin_country,
                  currency=kind.currency, unit_price_micros=kind.rating.unit_price_micros,
                  amount_micros=aggregate.amount_micros, price_version_id=kind.version.pk,
                  billing_mode=BillingMode.POSTPAID if kind.postpaid else BillingMode.PREPAID,
                  ledger_entry_id=entry.pk if entry is not None else None,
                  idempotency_key=aggregate.idempotency_key)


def usage_post_new(uses: NewUses) -> None:
    """Debit (prepaid) and record uses rated by `usage_rate_new`, in the same transaction:
    `InsufficientCredit` rolls the caller back. Call it last, just before commit: from
    here to the commit the account's balance row is locked."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("usage_post_new must run inside the caller's transaction")
    account, now = uses.account, uses.now
    prepaid = [a for a in uses.aggregates if not a.kind.postpaid and a.amount_micros]
    # The debit entries and the usage records are written before the lock: nothing
    # else can charge these new uses, and a refusal below rolls them back with the rest.
    entries: dict[str, LedgerEntry] = {}
    for currency in sorted({a.kind.currency for a in prepaid}):
        in_currency = [a for a in prepaid if a.kind.currency == currency]
        count = sum(a.uses for a in in_currency)
        first = in_currency[0].kind.event
        entries[currency] = LedgerEntry.objects.create(
            account_id=account.pk, book=Book.CREDIT, currency=currency,
            amount_micros=-sum(a.amount_micros for a in in_currency),
            reason=EntryReason.USAGE, cause_type=uses.cause[0] or "billing.usage",
            cause_id=uses.cause[1] or "batch", occurred_at=uses.occurred_at,
            idempotency_key=_entry_key(account, [a.idempotency_key for a in in_currency],
                                       "batch"),
            memo=(f"{first.product} {first.destination_country}" if count == 1
                  else f"{count} uses"))
    RECORD_ROW.insert(_aggregate_rows(uses, entries))
    if connection.vendor == "postgresql":
        # The foreign keys of every row of the transaction so far are checked here,
        # before the lock, instead of at commit while the balance row is locked; later
        # statements are deferred again, as Django expects.
        # One round trip: a statement without parameters may hold two.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED")
    for currency, entry in entries.items():  # the account's lock, held to the commit
        balance = balance_lock(account=account, book=Book.CREDIT, currency=currency)
        plan = credit_plan(balance=balance, amount_micros=-entry.amount_micros, now=now)
        balance_move(balance=balance, entry=entry)
        for lot, take in plan:
            lot_debit(lot=lot, entry=entry, amount_micros=take)


REVERSAL_SUFFIX = ":reversal"


def usage_reverse(*, account: Account, idempotency_key: str, reason: str,
                  now: datetime | None = None) -> UsageRecord | None:
    """Undo one use that did not happen: `usage_reverse_many` of one key. Returns the
    reversal record, or None when there was nothing (left) to reverse."""
    written = usage_reverse_many(account=account, idempotency_keys=[idempotency_key],
                                 reason=reason, now=now)
    return _existing(account, written)[written[0]] if written else None


@dataclass(frozen=True)
class UseShare:
    """One use inside a usage record (an aggregate, decision 0036), to reverse: the
    record's id, and the use's own key and cause (the message's). Its reversal's key is
    `idempotency_key` + ":reversal", so a use is reversed at most once."""

    usage_id: Any
    idempotency_key: str
    cause_type: str
    cause_id: str


def usage_reverse_many(*, account: Account, idempotency_keys: Sequence[str] = (),
                       shares: Sequence[UseShare] = (), reason: str,
                       now: datetime | None = None) -> list[str]:
    """Undo uses that did not happen (scheduled messages canceled before they left, a
    whole campaign's remainder), in one transaction: uses recorded alone, by their
    `idempotency_keys`, and uses inside aggregate records, by their `shares`.

    Writes a negative usage record per use, linked to the record it undoes (`reverses`;
    for a share: one use's part of its aggregate, exact since an aggregate's uses are
    identical), so a monthly invoice nets it out: the monthly run bills a reversal
    together with its original when neither is invoiced yet, else on the next invoice.
    Where a use was debited from prepaid credit, gives that credit back to the lots its
    debit came from, latest expiry first — one ledger entry per debit; a part whose lot
    has expired meanwhile stays lost (P-5): the records still undo the whole uses, the
    entry says what came back. Exactly once, even concurrently: reversing twice,
    reversing what was never charged (or another account's record), reversing a
    reversal, or reversing more uses of an aggregate than it holds writes nothing for
    those. Returns the idempotency keys of the reversal records written."""
    now = now or timezone.now()
    keys = list(dict.fromkeys(k for k in idempotency_keys if not k.endswith(REVERSAL_SUFFIX)))
    shares = list({share.idempotency_key: share for share in shares
                   if not share.idempotency_key.endswith(REVERSAL_SUFFIX)}.values())
    for attempt in range(CONCURRENT_RETRIES):
        try:
            with transaction.atomic():
                return _reverse(account=account, keys=keys, shares=shares, reason=reason,
                                now=now)
        except IntegrityError:
            # SQLite (no row lock) or a race on a unique key: a concurrent reversal of
            # some of these keys won. Those are done; reverse the rest again.
            if attempt == CONCURRENT_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


# What a reversal copies from its original (then negates or replaces some of it).
_COPIED = tuple(column for column in RECORD_ROW.columns
                if column not in ("id", "account_id", "uses", "reverses_id", "occurred_at",
                                  "created_at"))


def _originals(account: Account, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The records of uses recorded alone, as the uses to reverse (`reverses_id` names
    the record)."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), 900):
        for record in UsageRecord.objects.filter(
                account=account, idempotency_key__in=keys[start:start + 900], uses=1,
                reverses__isnull=True, billed_quantity__gte=0,
                amount_micros__gte=0).values("id", *_COPIED):
            record["reverses_id"] = record.pop("id")
            found.append(record)
    return found


def _one_use(total: str, uses: int) -> str:
    """One use's quantity from an aggregate's sum of `uses` identical ones."""
    each = Decimal(total) / uses
    return str(each.to_integral_value() if each == each.to_integral_value()
               else each.normalize())


def _shared(account: Account, shares: Sequence[UseShare]) -> list[dict[str, Any]]:
    """The uses `shares` name inside this account's aggregate records, each as one use's
    part of its record (`reverses_id` names the record)."""
    ids = list({share.usage_id for share in shares})
    records: dict[Any, dict[str, Any]] = {}
    for start in range(0, len(ids), 900):
        for record in UsageRecord.objects.filter(
                account=account, pk__in=ids[start:start + 900], reverses__isnull=True,
                billed_quantity__gte=0, amount_micros__gte=0).values("id", "uses", *_COPIED):
            records[str(record["id"])] = record
    found = []
    for share in shares:
        record = records.get(str(share.usage_id))
        if record is None:
            continue  # not this account's, or not a use
        uses = record["uses"]
        billed, billed_left = divmod(record["billed_quantity"], uses)
        amount, amount_left = divmod(record["amount_micros"], uses)
        if billed_left or amount_left:
            raise AssertionError(f"usage record {record['id']}: not {uses} identical uses")
        found.append({**{column: record[column] for column in _COPIED},
                      "quantity": _one_use(record["quantity"], uses),
                      "billed_quantity": billed, "amount_micros": amount,
                      "cause_type": share.cause_type, "cause_id": str(share.cause_id),
                      "idempotency_key": share.idempotency_key, "reverses_id": record["id"],
                      "_uses": uses})
    return found


def _within_uses(originals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop the uses beyond what each record has left (its uses less those reversed)."""
    targets = list({r["reverses_id"] for r in originals})
    reversed_: dict[Any, int] = defaultdict(int)
    for start in range(0, len(targets), 900):
        for target, count in (UsageRecord.objects
                              .filter(reverses_id__in=targets[start:start + 900])
                              .values("reverses_id").annotate(n=Sum("uses"))
                              .values_list("reverses_id", "n")):
            reversed_[target] = count
    kept = []
    for record in originals:
        target = record["reverses_id"]
        if reversed_[target] < record.get("_uses", 1):
            reversed_[target] += 1
            kept.append(record)
    return kept


def _reverse(*, account: Account, keys: list[str], shares: list[UseShare], reason: str,
             now: datetime) -> list[str]:
    originals = _originals(account, keys) + _shared(account, shares)
    if not originals:
        return []
    # Serialize reversals (and charges) of this account's books, then look again: a
    # concurrent reversal may have committed while we waited.
    balances = {currency: balance_lock(account=account, book=Book.CREDIT, currency=currency)
                for currency in sorted({r["currency"] for r in originals})}
    done = _existing(account, [r["idempotency_key"] + REVERSAL_SUFFIX for r in originals])
    originals = _within_uses([r for r in originals
                              if r["idempotency_key"] + REVERSAL_SUFFIX not in done])
    by_debit: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in originals:
        if record["ledger_entry_id"] and record["amount_micros"]:
            by_debit[record["ledger_entry_id"]].append(record)
    entries: dict[int, LedgerEntry | None] = {}
    for debit_id, records in sorted(by_debit.items()):
        entries[debit_id] = _credit_back(
            balance=balances[records[0]["currency"]], debit_id=debit_id,
            amount_micros=sum(r["amount_micros"] for r in records),
            key=_entry_key(account, [r["idempotency_key"] + REVERSAL_SUFFIX for r in records],
                           "reversal"),
            reason=reason, now=now)
    written = []
    rows = []
    row = RECORD_ROW.builder(account_id=account.pk, uses=1, occurred_at=now, created_at=now)
    for record, record_id in zip(originals, uuid7_many(len(originals)), strict=True):
        entry = entries.get(record["ledger_entry_id"])
        key = record["idempotency_key"] + REVERSAL_SUFFIX
        values = {column: record[column] for column in (*_COPIED, "reverses_id")}
        rows.append(row(**{**values, "billed_quantity": -record["billed_quantity"],
                           "amount_micros": -record["amount_micros"], "idempotency_key": key,
                           "ledger_entry_id": entry.pk if entry is not None else None},
                        id=record_id))
        written.append(key)
    RECORD_ROW.insert(rows)
    return written


def _credit_back(*, balance: Any, debit_id: int, amount_micros: int, key: str, reason: str,
                 now: datetime) -> LedgerEntry | None:
    """Give `amount_micros` back to the lots debit `debit_id` took it from (net of earlier
    reversals of the same debit), latest expiry first, skipping expired lots."""
    # What the debit took from each lot, less what earlier reversals already gave back.
    net: dict[int, int] = defaultdict(int)
    for lot_id, amount in LotMovement.objects.filter(entry_id=debit_id).values_list(
            "lot_id", "amount_micros"):
        net[lot_id] -= amount
    for lot_id, amount in LotMovement.objects.filter(
            entry__reason=EntryReason.USAGE_REVERSAL, entry__cause_type="billing.ledgerentry",
            entry__cause_id=str(debit_id)).values_list("lot_id", "amount_micros"):
        net[lot_id] -= amount
    lots = list(CreditLot.objects.filter(pk__in=[lot for lot, left in net.items() if left > 0],
                                         account_id=balance.account_id,
                                         expired_at__isnull=True, expires_at__gt=now)
                .order_by("-expires_at", "-id"))
    plan, left = [], amount_micros
    for lot in lots:
        give = min(net[lot.pk], left)
        if give:
            plan.append((lot, give))
            left -= give
    restored = sum(give for _lot, give in plan)
    if not restored:
        return None
    entry = entry_post(balance=balance, amount_micros=restored,
                       reason=EntryReason.USAGE_REVERSAL, cause_type="billing.ledgerentry",
                       cause_id=str(debit_id), idempotency_key=key, occurred_at=now,
                       memo=reason)
    for lot, give in plan:
        lot_credit(lot=lot, entry=entry, amount_micros=give)
    return entry
