"""Ledger primitives used by every billing service (call them inside `transaction.atomic`).

Concurrency rule: a writer of an account's book first locks that book's `AccountBalance`
row (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite the IMMEDIATE transaction already
serializes writers), then reads lots, checks and writes. Several books are locked in a
fixed order (book, currency, account id) so two transfers never deadlock.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction

from chappe.accounts.models import Account
from chappe.billing.models import (
    AccountBalance,
    Book,
    CreditLot,
    LedgerEntry,
    LotMovement,
)


class LedgerCorrupt(RuntimeError):
    """An invariant the code guarantees was broken (never a user error)."""


def balance_lock(*, account: Account, book: str, currency: str) -> AccountBalance:
    """The locked balance row of (account, book, currency), created at zero if missing."""
    locked = AccountBalance.objects.select_for_update().filter(
        account=account, book=book, currency=currency)
    balance = locked.first()
    if balance is not None:
        return balance
    try:
        with transaction.atomic():
            AccountBalance.objects.create(account=account, book=book, currency=currency)
    except IntegrityError:
        pass  # created concurrently: fine, lock it below
    return locked.get()


def balances_lock(keys: Iterable[tuple[Account, str, str]]) -> dict[tuple, AccountBalance]:
    """Lock several balance rows in a global order (no deadlocks between writers)."""
    ordered = sorted(set(keys), key=lambda k: (k[1], k[2], str(k[0].pk)))
    return {(acc.pk, book, cur): balance_lock(account=acc, book=book, currency=cur)
            for acc, book, cur in ordered}


def entry_post(
    *,
    balance: AccountBalance,
    amount_micros: int,
    reason: str,
    cause_type: str,
    cause_id: str,
    idempotency_key: str,
    occurred_at: datetime,
    memo: str = "",
) -> LedgerEntry:
    """Append one entry to a locked book and move its cached balance with it."""
    entry = LedgerEntry.objects.create(
        account_id=balance.account_id, book=balance.book, currency=balance.currency,
        amount_micros=amount_micros, reason=reason, cause_type=cause_type,
        cause_id=str(cause_id), idempotency_key=idempotency_key, memo=memo[:200],
        occurred_at=occurred_at,
    )
    balance_move(balance=balance, entry=entry)
    return entry


def balance_move(*, balance: AccountBalance, entry: LedgerEntry) -> None:
    """Move a locked book's cached balance by `entry`, written in this transaction (by
    `entry_post`, or before the lock was taken so that the lock is held for less)."""
    balance.balance_micros += entry.amount_micros
    if balance.book == Book.CREDIT and balance.balance_micros < 0:
        raise LedgerCorrupt("a credit book may never go negative")
    balance.save(update_fields=["balance_micros", "updated_at"])


def lot_create(
    *,
    entry: LedgerEntry,
    amount_micros: int,
    ordered_at: datetime,
    expires_at: datetime,
    order=None,
    source_lot: CreditLot | None = None,
    pack: tuple[str, str, int | None] = ("", "", None),
) -> CreditLot:
    """A new lot; `pack` = (product, country, units) of a message pack (display only)."""
    lot = CreditLot.objects.create(
        account_id=entry.account_id, currency=entry.currency, order=order, source_lot=source_lot,
        original_micros=amount_micros, remaining_micros=amount_micros, ordered_at=ordered_at,
        expires_at=expires_at, pack_product=pack[0], pack_country=pack[1], pack_units=pack[2],
    )
    LotMovement.objects.create(lot=lot, entry=entry, amount_micros=amount_micros)
    return lot


def lots_take(*, lots: list[CreditLot], amount_micros: int) -> list[tuple[CreditLot, int]]:
    """Plan to take `amount_micros` from `lots` in order; the caller checked it is enough."""
    plan: list[tuple[CreditLot, int]] = []
    left = amount_micros
    for lot in lots:
        if left == 0:
            break
        take = min(lot.remaining_micros, left)
        plan.append((lot, take))
        left -= take
    if left:
        raise LedgerCorrupt("lots_take called without enough credit")
    return plan


def lot_credit(*, lot: CreditLot, entry: LedgerEntry, amount_micros: int) -> None:
    """Give back to a lot what an entry had taken from it (a usage reversal)."""
    lot.remaining_micros += amount_micros
    lot.save(update_fields=["remaining_micros"])
    LotMovement.objects.create(lot=lot, entry=entry, amount_micros=amount_micros)


def lot_debit(*, lot: CreditLot, entry: LedgerEntry, amount_micros: int) -> None:
    lot.remaining_micros -= amount_micros
    if lot.remaining_micros < 0:
        raise LedgerCorrupt("a lot may never go negative")
    lot.save(update_fields=["remaining_micros"])
    LotMovement.objects.create(lot=lot, entry=entry, amount_micros=-amount_micros)
