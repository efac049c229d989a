"""Historical contact-center statistics (C-6; decision 0042): computed from the append-only
queue event log (`QueueEvent`) and the call records, never from counters kept on the side.

Two layers:

* `Counts` — sums and maxima over a set of events. Built either by `fold` (pure Python over
  events, what the tests check by hand) or by `queue_counts` (the same sums as one SQL
  aggregate, computed in the database; the agents' table uses the same aggregate). Tests
  hold both to the same answer.
* `Figures` — the KPIs, pure functions of `Counts` (`figures`).

Definitions (T = service-level threshold, S = short-abandon threshold, both in seconds;
"wait" is the caller's wait in the queue the event carries):

* offered — callers who entered the queue (`entered`). Callers refused at the door (queue
  full, closed, no agent) never entered: they are `overflowed`, not offered.
* answered — calls an agent of the queue connected (`connected`).
* short abandoned — `abandoned` with wait < S (the caller hung up before S seconds: a
  wrong number, not a lost customer). abandoned — `abandoned` with wait ≥ S.
* abandon rate — abandoned / (offered - short abandoned).
* service level (SL) — answered with wait ≤ T / answered. A call answered exactly at T is
  within the service level.
* service level with abandons (SL2, Asterisk's) — (answered with wait ≤ T + abandoned with
  S ≤ wait ≤ T) / (answered + abandoned). Short abandons are out of both sides.
* ASA — Σ wait of answered calls / answered.
* average wait, longest wait — over every caller who left the queue after waiting in it:
  answered, abandoned (short ones too), called back, overflowed for the maximum wait.
* AHT — Σ (talk + hold + wrap-up) / handled, where handled = calls that ended after being
  answered (`completed`: talk, hold and wrap_up seconds). The queue wait is not in it.
* occupancy (per agent) — handle time / available-to-work time, where available-to-work
  is the logged-in time minus the paused time (from login/logout/pause/unpause), so
  (talk + hold + wrap-up) / (talk + hold + wrap-up + idle, ringing counted as idle).
* transfers — `transferred` (blind transfers by an agent, counted in the agent's queue);
  callbacks — `callback` (callers who asked to be called back and left the queue).
* outbound (call records, direction outbound): attempts, connected (answered), talk time
  (Σ answered → ended seconds).

Periods are cut in the account's time zone: a day, an hour of the day (0-23), a day of
the week (ISO: 1 Monday … 7 Sunday), or the whole range (`total`).
"""

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal

from django.db.models import Count, IntegerField, Max, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, ExtractHour, ExtractIsoWeekDay, TruncDate

from chappe.agents.models import Agent, Queue, QueueEvent, QueueEventKind
from chappe.callcenter.models import CallRecord, Direction

K = QueueEventKind
Group = Literal["total", "day", "hour", "weekday"]
GROUPS: tuple[str, ...] = ("total", "day", "hour", "weekday")
DEFAULT_THRESHOLD = 20
DEFAULT_SHORT_ABANDON = 5


@dataclass
class Counts:
    """Sums over events; every KPI is a function of these."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0  # wait ≤ T
    answer_wait: int = 0  # Σ wait of answered
    answer_wait_max: int = 0
    abandoned_all: int = 0
    short_abandoned: int = 0  # wait < S
    abandoned_within: int = 0  # S ≤ wait ≤ T
    abandon_wait: int = 0  # Σ wait of every abandon (short ones too)
    abandon_wait_max: int = 0
    other_left: int = 0  # called back, overflowed on timeout
    other_wait: int = 0
    other_wait_max: int = 0
    handled: int = 0
    talk: int = 0
    hold: int = 0
    wrap_up: int = 0
    transfers: int = 0
    callbacks: int = 0
    overflowed: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        merged = Counts()
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            setattr(merged, f.name, max(a, b) if f.name.endswith("_max") else a + b)
        return merged


@dataclass(frozen=True)
class Figures:
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    abandon_rate: float | None
    service_level: float | None
    service_level_with_abandons: float | None
    asa: float | None
    average_wait: float | None
    longest_wait: int
    handled: int
    talk_seconds: int
    hold_seconds: int
    wrap_up_seconds: int
    aht: float | None
    transfers: int
    callbacks: int
    overflowed: int
    occupancy: float | None = None


def _ratio(a: float, b: float) -> float | None:
    return None if not b else a / b


def figures(c: Counts, *, staffed_seconds: float | None = None) -> Figures:
    """The KPIs of `c` (see the module's docstring); a ratio over nothing is None."""
    abandoned = c.abandoned_all - c.short_abandoned
    left = c.answered + c.abandoned_all + c.other_left
    handle = c.talk + c.hold + c.wrap_up
    occupancy = None
    if staffed_seconds:
        occupancy = min(handle / staffed_seconds, 1.0)
    return Figures(
        offered=c.offered, answered=c.answered, abandoned=abandoned,
        short_abandoned=c.short_abandoned,
        abandon_rate=_ratio(abandoned, c.offered - c.short_abandoned),
        service_level=_ratio(c.answered_within, c.answered),
        service_level_with_abandons=_ratio(c.answered_within + c.abandoned_within,
                                           c.answered + abandoned),
        asa=_ratio(c.answer_wait, c.answered),
        average_wait=_ratio(c.answer_wait + c.abandon_wait + c.other_wait, left),
        longest_wait=max(c.answer_wait_max, c.abandon_wait_max, c.other_wait_max),
        handled=c.handled, talk_seconds=c.talk, hold_seconds=c.hold, wrap_up_seconds=c.wrap_up,
        aht=_ratio(handle, c.handled), transfers=c.transfers, callbacks=c.callbacks,
        overflowed=c.overflowed, occupancy=occupancy)


# --- pure: events → counts ---------------------------------------------------------------


def _int(details: Mapping[str, Any], key: str) -> int:
    try:
        return int(details.get(key) or 0)
    except (TypeError, ValueError):
        return 0


def within_threshold(wait: int, threshold: int) -> bool:
    """Answered (or abandoned) within T: exactly T is within. (SQL: `_aggregates`.)"""
    return wait <= threshold


def short_abandon_of(wait: int, short_abandon: int) -> bool:
    """An abandon before S seconds is short. (SQL: `_aggregates`.)"""
    return wait < short_abandon


def fold(events: Iterable[Any], *, threshold: int = DEFAULT_THRESHOLD,
         short_abandon: int = DEFAULT_SHORT_ABANDON) -> Counts:
    """`Counts` of `events` (anything with `kind` and `details`), in Python."""
    c = Counts()
    for event in events:
        kind, d = event.kind, event.details or {}
        wait = _int(d, "wait")
        if kind == K.ENTERED:
            c.offered += 1
        elif kind == K.CONNECTED:
            c.answered += 1
            c.answered_within += within_threshold(wait, threshold)
            c.answer_wait += wait
            c.answer_wait_max = max(c.answer_wait_max, wait)
        elif kind == K.ABANDONED:
            c.abandoned_all += 1
            short = short_abandon_of(wait, short_abandon)
            c.short_abandoned += short
            c.abandoned_within += not short and within_threshold(wait, threshold)
            c.abandon_wait += wait
            c.abandon_wait_max = max(c.abandon_wait_max, wait)
        elif kind == K.CALLBACK or (kind == K.OVERFLOWED and d.get("when") == "timeout"):
            c.other_left += 1
            c.other_wait += wait
            c.other_wait_max = max(c.other_wait_max, wait)
        elif kind == K.COMPLETED:
            c.handled += 1
            c.talk += _int(d, "talk")
            c.hold += _int(d, "hold")
            c.wrap_up += _int(d, "wrap_up")
        if kind == K.TRANSFERRED:
            c.transfers += 1
        elif kind == K.CALLBACK:
            c.callbacks += 1
        elif kind == K.OVERFLOWED:
            c.overflowed += 1
    return c


AGENT_STATE_KINDS = (K.LOGIN, K.LOGOUT, K.PAUSE, K.UNPAUSE)


def staffed_seconds(events: Iterable[Any], *, start: datetime, end: datetime,
                    logged_in_at_start: bool = False, paused_at_start: bool = False) -> float:
    """Seconds an agent was logged in and not paused within [start, end), from their
    login/logout/pause/unpause events in time order (others are ignored)."""
    working = logged_in_at_start and not paused_at_start
    logged_in, paused = logged_in_at_start, paused_at_start
    since, total = start, 0.0
    for event in events:
        at = min(max(event.at, start), end)
        if working:
            total += (at - since).total_seconds()
        if event.kind == K.LOGIN:
            logged_in, paused = True, False
        elif event.kind == K.LOGOUT:
            logged_in, paused = False, False
        elif event.kind == K.PAUSE:
            paused = True
        elif event.kind == K.UNPAUSE:
            paused = False
        working, since = logged_in and not paused, at
    if working:
        total += (end - since).total_seconds()
    return total


# --- in the database: one aggregate ------------------------------------------------------


def _aggregates(threshold: int, short_abandon: int) -> dict[str, Any]:
    wait = Cast(KT("details__wait"), IntegerField())

    def n(name: str) -> Cast:
        return Cast(KT(f"details__{name}"), IntegerField())

    connected, abandoned = Q(kind=K.CONNECTED), Q(kind=K.ABANDONED)
    other = Q(kind=K.CALLBACK) | Q(kind=K.OVERFLOWED, details__when="timeout")
    completed = Q(kind=K.COMPLETED)
    return {
        "offered": Count("id", filter=Q(kind=K.ENTERED)),
        "answered": Count("id", filter=connected),
        "answered_within": Count("id", filter=connected & Q(w__lte=threshold)),
        "answer_wait": Sum("w", filter=connected),
        "answer_wait_max": Max("w", filter=connected),
        "abandoned_all": Count("id", filter=abandoned),
        "short_abandoned": Count("id", filter=abandoned & Q(w__lt=short_abandon)),
        "abandoned_within": Count("id", filter=abandoned & Q(w__gte=short_abandon,
                                                             w__lte=threshold)),
        "abandon_wait": Sum("w", filter=abandoned),
        "abandon_wait_max": Max("w", filter=abandoned),
        "other_left": Count("id", filter=other),
        "other_wait": Sum("w", filter=other),
        "other_wait_max": Max("w", filter=other),
        "handled": Count("id", filter=completed),
        "talk": Sum(n("talk"), filter=completed),
        "hold": Sum(n("hold"), filter=completed),
        "wrap_up": Sum(n("wrap_up"), filter=completed),
        "transfers": Count("id", filter=Q(kind=K.TRANSFERRED)),
        "callbacks": Count("id", filter=Q(kind=K.CALLBACK)),
        "overflowed": Count("id", filter=Q(kind=K.OVERFLOWED)),
    }, wait


COUNT_FIELDS = tuple(f.name for f in fields(Counts))


def _counts(row: Mapping[str, Any]) -> Counts:
    return Counts(**{name: int(row.get(name) or 0) for name in COUNT_FIELDS})


def _bucket(group: str, tz: tzinfo) -> Any:
    if group == "day":
        return TruncDate("at", tzinfo=tz)
    if group == "hour":
        return ExtractHour("at", tzinfo=tz)
    if group == "weekday":
        return ExtractIsoWeekDay("at", tzinfo=tz)
    if group == "total":
        return None
    raise ValueError(group)


CALLER_KINDS = (K.ENTERED, K.CONNECTED, K.ABANDONED, K.CALLBACK, K.OVERFLOWED, K.COMPLETED,
                K.TRANSFERRED)


def _grouped(events: QuerySet, by: list[str], group: str, tz: tzinfo, threshold: int,
             short_abandon: int) -> list[tuple[tuple, Counts]]:
    aggregates, wait = _aggregates(threshold, short_abandon)
    bucket = _bucket(group, tz)
    events = events.annotate(w=Coalesce(wait, 0))
    keys = list(by)
    if bucket is not None:
        events = events.annotate(bucket=bucket)
        keys.append("bucket")
    rows = events.values(*keys).order_by(*keys).annotate(**aggregates)
    return [(tuple(row[k] for k in keys), _counts(row)) for row in rows]


@dataclass(frozen=True)
class Period:
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive
    tz: tzinfo


def period_of_days(first: date, last: date, tz: tzinfo) -> Period:
    """From `first` 00:00 to the day after `last` 00:00, in the account's time zone."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return Period(start, end, tz)


@dataclass(frozen=True)
class Row:
    key: str  # a queue's or an agent's id, a number, or "" (all)
    label: str
    bucket: Any  # None (total), a date, an hour 0-23 or an ISO weekday 1-7
    figures: Figures | None
    outbound: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label,
                "bucket": self.bucket.isoformat() if isinstance(self.bucket, date)
                else self.bucket, **(asdict(self.figures) if self.figures else {}),
                **self.outbound}


def queue_counts(*, account_id: Any, period: Period, queue_ids: list[Any] | None = None,
                 group: str = "total", threshold: int = DEFAULT_THRESHOLD,
                 short_abandon: int = DEFAULT_SHORT_ABANDON) -> list[tuple[tuple, Counts]]:
    """Counts per (queue id, bucket), one aggregate query."""
    events = QueueEvent.objects.filter(account_id=account_id, at__gte=period.start,
                                       at__lt=period.end, kind__in=CALLER_KINDS,
                                       queue__isnull=False)
    if queue_ids is not None:
        events = events.filter(queue_id__in=queue_ids)
    return _grouped(events, ["queue_id"], group, period.tz, threshold, short_abandon)


def queue_statistics(*, account_id: Any, period: Period, queue_ids: list[Any] | None = None,
                     group: str = "total", threshold: int = DEFAULT_THRESHOLD,
                     short_abandon: int = DEFAULT_SHORT_ABANDON) -> list[Row]:
    names = dict(Queue.objects.filter(account_id=account_id).values_list("id", "name"))
    return [Row(str(qid), names.get(qid, ""), bucket, figures(c))
            for (qid, *rest), c in queue_counts(
                account_id=account_id, period=period, queue_ids=queue_ids, group=group,
                threshold=threshold, short_abandon=short_abandon)
            for bucket in [rest[0] if rest else None]]


def agent_statistics(*, account_id: Any, period: Period, agent_ids: list[Any] | None = None,
                     group: str = "total", threshold: int = DEFAULT_THRESHOLD,
                     short_abandon: int = DEFAULT_SHORT_ABANDON) -> list[Row]:
    """Per agent: answered (with their waits), handled, AHT, transfers they made and, over
    the whole period (`total`), occupancy."""
    agents = Agent.objects.filter(account_id=account_id).select_related("user")
    if agent_ids is not None:
        agents = agents.filter(pk__in=agent_ids)
    labels = {a.pk: f"{a.extension} {a.user.email}" for a in agents}
    events = QueueEvent.objects.filter(account_id=account_id, at__gte=period.start,
                                       at__lt=period.end, agent_id__in=list(labels),
                                       kind__in=(K.CONNECTED, K.COMPLETED))
    counts = {key: c for key, c in _grouped(events, ["agent_id"], group, period.tz,
                                            threshold, short_abandon)}
    transfers = QueueEvent.objects.filter(account_id=account_id, at__gte=period.start,
                                          at__lt=period.end, kind=K.TRANSFERRED)
    for key, c in _grouped(transfers.annotate(by=KT("details__by_agent")), ["by"], group,
                           period.tz, threshold, short_abandon):
        agent_key = next((a for a in labels if str(a) == key[0]), None)
        if agent_key is not None:
            counts.setdefault((agent_key, *key[1:]), Counts()).transfers += c.transfers
    staffed = _staffed(account_id, list(labels), period) if group == "total" else {}
    return [Row(str(aid), labels.get(aid, ""), rest[0] if rest else None,
                figures(c, staffed_seconds=staffed.get(aid)))
            for (aid, *rest), c in sorted(counts.items(), key=lambda kv: (
                labels.get(kv[0][0], ""), str(kv[0][1:])))]


def _staffed(account_id: Any, agent_ids: list[Any], period: Period) -> dict[Any, float]:
    """Each agent's logged-in, unpaused seconds in the period (their state at its start:
    their last login/logout/pause/unpause before it)."""
    state_events = QueueEvent.objects.filter(account_id=account_id, agent_id__in=agent_ids,
                                             kind__in=AGENT_STATE_KINDS)
    result = {}
    for agent_id in agent_ids:
        before = state_events.filter(agent_id=agent_id, at__lt=period.start) \
            .order_by("-at", "-id").first()
        logged_in = before is not None and before.kind != K.LOGOUT
        paused = before is not None and before.kind == K.PAUSE
        during = state_events.filter(agent_id=agent_id, at__gte=period.start,
                                     at__lt=period.end).order_by("at", "id")
        result[agent_id] = staffed_seconds(during, start=period.start, end=period.end,
                                           logged_in_at_start=logged_in,
                                           paused_at_start=paused)
    return result


OUTBOUND_FIELDS = ("outbound_attempts", "outbound_connected", "outbound_talk_seconds",
                   "inbound_calls", "inbound_answered", "inbound_talk_seconds")


def number_statistics(*, account_id: Any, period: Period, group: str = "total") -> list[Row]:
    """Per number of the account, from the call records: inbound calls to it (calls,
    answered, talk time) and outbound calls from it (attempts, connected, talk time)."""
    records = CallRecord.objects.filter(account_id=account_id, started_at__gte=period.start,
                                        started_at__lt=period.end)
    bucket = {"day": TruncDate("started_at", tzinfo=period.tz),
              "hour": ExtractHour("started_at", tzinfo=period.tz),
              "weekday": ExtractIsoWeekDay("started_at", tzinfo=period.tz)}.get(group)
    if bucket is not None:
        records = records.annotate(bucket=bucket)
    keys = ["bucket"] if bucket is not None else []
    answered = Q(answered_at__isnull=False)
    merged: dict[tuple, dict[str, int]] = {}
    for direction, number, prefix in ((Direction.INBOUND, "to_number", "inbound"),
                                      (Direction.OUTBOUND, "from_number", "outbound")):
        rows = records.filter(direction=direction).values(number, *keys) \
            .order_by(number, *keys).annotate(
                calls=Count("id"), answered=Count("id", filter=answered),
                talk=Sum("duration_seconds"))
        for row in rows:
            key = (row[number], row.get("bucket"))
            out = merged.setdefault(key, dict.fromkeys(OUTBOUND_FIELDS, 0))
            first = "attempts" if prefix == "outbound" else "calls"
            second = "connected" if prefix == "outbound" else "answered"
            out[f"{prefix}_{first}"] = row["calls"]
            out[f"{prefix}_{second}"] = row["answered"]
            out[f"{prefix}_talk_seconds"] = int(row["talk"] or 0)
    return [Row(number, number, bucket_value, None, outbound)
            for (number, bucket_value), outbound in sorted(
                merged.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))]



def queue_dashboard(*, account_id: Any, queue_id: Any, period: Period,
                    threshold: int = DEFAULT_THRESHOLD,
                    short_abandon: int = DEFAULT_SHORT_ABANDON,
                    rollups: bool = True) -> dict[str, list[tuple]]:
    """One queue's period cut every way — total, per day, per hour of the day, per day of
    the week — from (day, hour) cells: counts add up (maxima by max), so the other cuts
    are sums of at most 24 cells a day. The whole hours the rollups cover are read from
    them (chappe.agents.rollups: one row an hour), the rest — the period's edges, the
    hours not yet rolled up — from the log by one aggregate each. `rollups=False` reads
    everything from the log (the tests hold both to the same answer)."""
    from chappe.agents import rollups as hourly

    events = QueueEvent.objects.filter(account_id=account_id, queue_id=queue_id,
                                       kind__in=CALLER_KINDS)
    raw = [(period.start, period.end)]
    cells: list[tuple[date, int, Counts]] = []
    inner_start = hourly.ceil_hour(period.start)
    inner_end = min(hourly.floor_hour(period.end), hourly.rolled_until() or inner_start)
    if rollups and inner_start < inner_end and _whole_hours(period):
        raw = [(period.start, inner_start), (inner_end, period.end)]
        for row in hourly.queue_hours(account_id=account_id, queue_id=queue_id,
                                      start=inner_start, end=inner_end):
            local = row.hour.astimezone(period.tz)
            cells.append((local.date(), local.hour, hourly.counts_of(
                row, threshold=threshold, short_abandon=short_abandon)))
    aggregates, wait = _aggregates(threshold, short_abandon)
    for start, end in raw:
        if start >= end:
            continue
        rows = events.filter(at__gte=start, at__lt=end) \
            .annotate(w=Coalesce(wait, 0), day=TruncDate("at", tzinfo=period.tz),
                      hour=ExtractHour("at", tzinfo=period.tz)) \
            .values("day", "hour").order_by("day", "hour").annotate(**aggregates)
        for row in rows:
            day = row["day"] if isinstance(row["day"], date) \
                else date.fromisoformat(row["day"])
            cells.append((day, row["hour"], _counts(row)))
    total, days, hours, weekdays = Counts(), {}, {}, {}
    for day, hour, c in cells:
        total = total + c
        days[day] = days.get(day, Counts()) + c
        hours[hour] = hours.get(hour, Counts()) + c
        weekdays[day.isoweekday()] = weekdays.get(day.isoweekday(), Counts()) + c
    return {"total": [(None, total)], "day": sorted(days.items()),
            "hour": sorted(hours.items()), "weekday": sorted(weekdays.items())}


def queue_totals(*, account_id: Any, period: Period, threshold: int = DEFAULT_THRESHOLD,
                 short_abandon: int = DEFAULT_SHORT_ABANDON) -> dict[Any, Counts]:
    """Each queue's counts over the whole period: the whole hours the rollups cover from
    them, the rest from the log (the wallboard's day; the time zone does not matter for a
    total)."""
    from chappe.agents import rollups as hourly

    inner_start = hourly.ceil_hour(period.start)
    inner_end = min(hourly.floor_hour(period.end), hourly.rolled_until() or inner_start)
    totals: dict[Any, Counts] = {}
    raw = [(period.start, period.end)]
    if inner_start < inner_end:
        raw = [(period.start, inner_start), (inner_end, period.end)]
        for row in hourly.QueueHour.objects.filter(account_id=account_id,
                                                   hour__gte=inner_start,
                                                   hour__lt=inner_end):
            totals[row.queue_id] = totals.get(row.queue_id, Counts()) + hourly.counts_of(
                row, threshold=threshold, short_abandon=short_abandon)
    for start, end in raw:
        if start >= end:
            continue
        for (queue_id,), c in queue_counts(account_id=account_id,
                                           period=Period(start, end, period.tz),
                                           threshold=threshold, short_abandon=short_abandon):
            totals[queue_id] = totals.get(queue_id, Counts()) + c
    return totals


def _whole_hours(period: Period) -> bool:
    """Whether the zone's hours are UTC hours over the period (its offsets whole hours:
    Europe/Paris, not Asia/Kolkata), so a UTC hour's rollup falls in one local hour."""
    return all((moment.astimezone(period.tz).utcoffset() or timedelta()).total_seconds()
               % 3600 == 0 for moment in (period.start, period.end))


# --- what the API and the web page show ----------------------------------------------------

SUBJECTS = ("queues", "agents", "numbers")
MAX_DAYS = 366
FIGURE_COLUMNS = tuple(f.name for f in fields(Figures))


def account_zone(account: Any) -> tzinfo:
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(account.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return zoneinfo.ZoneInfo("UTC")


def report(*, account: Any, subject: str, first: date, last: date, group: str = "total",
           threshold: int = DEFAULT_THRESHOLD, short_abandon: int = DEFAULT_SHORT_ABANDON,
           ids: list[Any] | None = None) -> list[Row]:
    """The rows of one statistics table: `subject` (queues, agents, numbers) from day
    `first` to day `last` included, in the account's time zone. The caller validates."""
    period = period_of_days(first, last, account_zone(account))
    if subject == "queues":
        return queue_statistics(account_id=account.pk, period=period, queue_ids=ids,
                                group=group, threshold=threshold, short_abandon=short_abandon)
    if subject == "agents":
        return agent_statistics(account_id=account.pk, period=period, agent_ids=ids,
                                group=group, threshold=threshold, short_abandon=short_abandon)
    if subject == "numbers":
        return number_statistics(account_id=account.pk, period=period, group=group)
    raise ValueError(subject)


def columns(subject: str) -> tuple[str, ...]:
    return OUTBOUND_FIELDS if subject == "numbers" else FIGURE_COLUMNS


def table(subject: str, rows: list[Row]) -> tuple[list[str], list[list[Any]]]:
    """A header and the rows, for CSV and XLSX (ratios as fractions, seconds as numbers)."""
    names = columns(subject)
    header = ["key", "label", "bucket", *names]
    body = []
    for row in rows:
        data = row.as_dict()
        body.append([row.key, row.label, data["bucket"], *(
            round(v, 4) if isinstance(v := data.get(name), float) else v for name in names)])
    return header, body
