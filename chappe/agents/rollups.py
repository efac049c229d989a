"""Hourly rollups of the queue log (issue 16; decision 0047), for the statistics of long
periods: a month of one queue is 744 rows instead of millions of events.

An hour is rolled up once it is **settled** — it ended `SETTLE` ago: the engine writes each
fact when it happens (the desk's clock), so nothing arrives later for it — by one
aggregate over its events grouped by queue (`QueueHour`), and the mark (`RollupMark`)
moves past it. Each run rolls the settled hours after the mark, at most `BATCH` of them,
each hour's rows replaced in the transaction that moves the mark: a run cut short, or
run twice, leaves the rollups exact (restartable, idempotent). `rollups_rebuild`
recomputes a range from the log (after an import of back-dated events).

The sums are `statistics.Counts` without the threshold-dependent fields; those come from
the wait histograms when read (`counts_of`), with the definitions of
`chappe.agents.statistics` (`within_threshold`, `short_abandon_of`)."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Min
from django.db.models.functions import Coalesce, TruncHour

from chappe.agents import statistics as st
from chappe.agents.models import QueueEvent, QueueHour, RollupMark

SETTLE = timedelta(minutes=10)
BATCH = 24 * 7
MARK = "queue_hours"
HOUR = timedelta(hours=1)
# The fields of Counts that depend on T or S: rebuilt from the histograms.
THRESHOLD_FIELDS = ("answered_within", "short_abandoned", "abandoned_within")


def floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(at: datetime) -> datetime:
    floor = floor_hour(at)
    return floor if floor == at else floor + HOUR


def rolled_until() -> datetime | None:
    return RollupMark.objects.filter(name=MARK).values_list("until", flat=True).first()


def _hours(start: datetime, end: datetime) -> list[QueueHour]:
    """The rollup rows of [start, end) (whole UTC hours), from the log."""
    events = QueueEvent.objects.filter(at__gte=start, at__lt=end, kind__in=st.CALLER_KINDS,
                                       queue__isnull=False)
    aggregates, wait = st._aggregates(0, 0)
    sums = {k: v for k, v in aggregates.items() if k not in THRESHOLD_FIELDS}
    keyed = events.annotate(w=Coalesce(wait, 0), hour=TruncHour("at", tzinfo=UTC))
    rows: dict[tuple, QueueHour] = {}
    for row in keyed.values("account_id", "queue_id", "hour").order_by().annotate(**sums):
        rows[(row["queue_id"], row["hour"])] = QueueHour(
            account_id=row["account_id"], queue_id=row["queue_id"], hour=row["hour"],
            counts={k: int(row[k] or 0) for k in sums})
    waits = keyed.filter(kind__in=(st.K.CONNECTED, st.K.ABANDONED)) \
        .values("queue_id", "hour", "kind", "w").order_by().annotate(n=Count("id"))
    for row in waits:
        target = rows[(row["queue_id"], row["hour"])]
        histogram = (target.answer_waits if row["kind"] == st.K.CONNECTED
                     else target.abandon_waits)
        histogram[str(row["w"])] = histogram.get(str(row["w"]), 0) + row["n"]
    return list(rows.values())


@transaction.atomic
def _roll(start: datetime, end: datetime) -> int:
    QueueHour.objects.filter(hour__gte=start, hour__lt=end).delete()
    rows = _hours(start, end)
    QueueHour.objects.bulk_create(rows, batch_size=1000)
    RollupMark.objects.update_or_create(name=MARK, defaults={"until": end})
    return len(rows)


def rollups_run(*, now: datetime, batch: int = BATCH) -> int:
    """Roll up the settled hours after the mark (at most `batch` hours); the hours rolled."""
    until = rolled_until()
    if until is None:
        first = QueueEvent.objects.aggregate(first=Min("at"))["first"]
        if first is None:
            return 0
        until = floor_hour(first)
    settled = floor_hour(now - SETTLE)
    end = min(settled, until + batch * HOUR)
    if end <= until:
        return 0
    with transaction.atomic():
        mark = RollupMark.objects.select_for_update().filter(name=MARK).first()
        if mark is not None and mark.until != until:  # another run moved it meanwhile
            return 0
        _roll(until, end)
    return int((end - until) / HOUR)


def rollups_rebuild(*, start: datetime, end: datetime) -> int:
    """Recompute the rollups of [start, end) (rounded out to hours) from the log, without
    moving the mark beyond what it covered."""
    start, end = floor_hour(start), ceil_hour(end)
    until = rolled_until()
    if until is None or start >= until:
        return 0
    end = min(end, until)
    with transaction.atomic():
        QueueHour.objects.filter(hour__gte=start, hour__lt=end).delete()
        rows = _hours(start, end)
        QueueHour.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def counts_of(row: QueueHour, *, threshold: int, short_abandon: int) -> st.Counts:
    """The hour's `Counts` for thresholds T and S."""
    c = st.Counts(**{k: int(row.counts.get(k, 0)) for k in st.COUNT_FIELDS
                     if k not in THRESHOLD_FIELDS})
    answers = Counter({int(w): n for w, n in row.answer_waits.items()})
    abandons = Counter({int(w): n for w, n in row.abandon_waits.items()})
    c.answered_within = sum(n for w, n in answers.items()
                            if st.within_threshold(w, threshold))
    c.short_abandoned = sum(n for w, n in abandons.items()
                            if st.short_abandon_of(w, short_abandon))
    c.abandoned_within = sum(n for w, n in abandons.items()
                             if not st.short_abandon_of(w, short_abandon)
                             and st.within_threshold(w, threshold))
    return c


def queue_hours(*, account_id: Any, queue_id: Any, start: datetime,
                end: datetime) -> list[QueueHour]:
    return list(QueueHour.objects.filter(account_id=account_id, queue_id=queue_id,
                                         hour__gte=start, hour__lt=end))
