"""The one lease claim over a queue-like table (jobs, messages to dispatch, SMPP receipts
to deliver, carrier inboxes, voice calls to place).

Claimers take a batch of due rows with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL,
so any number of processes share the table and none waits on, or takes, a row another
is claiming; on SQLite (no row locks) the IMMEDIATE transactions of embedded mode
serialise claimers, which is enough for its one process per role. A claimed row carries
a lease (`locked_until`, and `locked_by` where the table names its holder): it is the
holder's until then, anyone's after (a holder that died), and the holder extends it while
it works (`lease_extend`) and gives it up when done (`LEASE_RELEASED`).

This module is the only place that writes FOR UPDATE SKIP LOCKED.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.db.models.expressions import Combinable

from chappe.common.bulk import among

# What a released row is set to: no holder, no lease.
LEASE_RELEASED: Mapping[str, Any] = {"locked_by": "", "locked_until": None}


def rows_lock[M: Model](queryset: QuerySet[M], *, limit: int,
                        of: tuple[str, ...] = ()) -> list[M]:
    """Up to `limit` rows of the ordered `queryset`, locked until the caller's transaction
    ends; rows another transaction is claiming are skipped, not waited for. `of` limits
    the lock to some tables of a join ("self" for the queried one)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("rows_lock must run inside the claimer's transaction")
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=of)
    return list(queryset[:limit])


def lease_free(now: datetime, field: str = "locked_until") -> Q:
    """Rows nobody holds at `now`: never leased, or their lease ran out."""
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": now})


def lease_claim[M: Model](queryset: QuerySet[M], *, limit: int, now: datetime,
                          lease: timedelta, holder: str | None = None,
                          of: tuple[str, ...] = (),
                          updates: Mapping[str, Any] | None = None) -> list[M]:
    """Claim up to `limit` rows of `queryset` whose lease is free at `now`: lease them
    until `now + lease` (to `holder` when the table names one) and apply `updates` (plain
    values or expressions such as `F("attempts") + 1`) in one statement. Returns the rows
    as they are after the claim (expressions evaluated)."""
    with transaction.atomic():
        rows = rows_lock(queryset.filter(lease_free(now)), limit=limit, of=of)
        if not rows:
            return rows
        values: dict[str, Any] = {"locked_until": now + lease, **(updates or {})}
        if holder is not None:
            values["locked_by"] = holder
        model = type(rows[0])
        mine = among(model._default_manager.all(), "pk", [row.pk for row in rows])
        mine.update(**values)
        computed = [name for name, value in values.items() if isinstance(value, Combinable)]
        fresh = ({row["pk"]: row for row in mine.values("pk", *computed)}
                 if computed else {})
        for row in rows:
            for name, value in values.items():
                setattr(row, name, fresh[row.pk][name] if name in computed else value)
    return rows


def lease_extend(model: type[Model], pks: Iterable[Any], *, until: datetime,
                 holder: str | None = None) -> int:
    """Keep rows leased until `until` (a heartbeat of work still in flight); only the
    rows `holder` still holds when the table names holders. Returns how many."""
    rows = among(model._default_manager.all(), "pk", pks)
    if holder is not None:
        rows = rows.filter(locked_by=holder)
    return rows.update(locked_until=until)
