"""Opening hours and deadlines counted in working hours, pure (C-12, P-11).

A schedule is a set of daily slots (e.g. 9:00-12:00 and 14:00-17:00) on Monday to
Friday, closed on French public holidays, in one time zone. "Acknowledged within 24
working hours" counts only the time inside those slots, slot by slot, skipping the
weekend and holidays.

Intervals are half-open, as a clock reads them: 11:59:59 is inside a 9:00-12:00 slot,
12:00 is not."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chappe.common.holidays_fr import is_french_holiday

# Generous bound: a deadline of N working hours never needs more days than this.
_MAX_DAYS = 3660


@dataclass(frozen=True)
class Schedule:
    slots: Sequence[tuple[time, time]]
    tz: ZoneInfo
    weekdays: frozenset[int] = frozenset(range(5))  # Monday = 0
    holiday_subdivision: str = ""

    def working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and not is_french_holiday(
            day, self.holiday_subdivision)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        return self.working_day(local.date()) and any(
            start <= local.time() < end for start, end in self.slots)

    def _intervals_from(self, at: datetime):
        """The open intervals, in order, from `at` on (the first one cut at `at`)."""
        local = at.astimezone(self.tz)
        for offset in range(_MAX_DAYS):
            day = local.date() + timedelta(days=offset)
            if not self.working_day(day):
                continue
            for start, end in self.slots:
                opens = datetime.combine(day, start, self.tz)
                closes = datetime.combine(day, end, self.tz)
                if closes <= local:
                    continue
                yield max(opens, local), closes
        raise ValueError("no opening within ten years")  # pragma: no cover

    def next_open(self, at: datetime) -> datetime:
        """The first moment at or after `at` when the desk is open."""
        opens, _closes = next(self._intervals_from(at))
        return opens

    def add_working_hours(self, at: datetime, hours: float) -> datetime:
        """The moment `hours` working hours after `at`."""
        left = timedelta(hours=hours)
        for opens, closes in self._intervals_from(at):
            if closes - opens >= left:
                return opens + left
            left -= closes - opens
        raise ValueError("unreachable")  # pragma: no cover

    def working_hours_between(self, start: datetime, end: datetime) -> timedelta:
        """How much open time lies in [start, end)."""
        total = timedelta()
        if end <= start:
            return total
        for opens, closes in self._intervals_from(start):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return total


def parse_slots(text: Sequence[Sequence[str]]) -> tuple[tuple[time, time], ...]:
    """[["09:00", "12:00"], …] as read from settings."""
    return tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in text)
