"""Marketing sending hours (M-12): when may promotional traffic leave? (pure)

Default policy is France under the AF2M 2026 charter: 08:00 to 21:30 local time. The
charter only tolerates Sundays and public holidays, so the default keeps them closed; an
operator can open them per country. Outside the window a marketing message is deferred
to the next allowed instant, never dropped. Transactional traffic is exempt (the caller
does not ask). Public holidays come from the `holidays` package.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

MONDAY_TO_SATURDAY = frozenset(range(6))


@dataclass(frozen=True)
class SendingWindow:
    start: time = time(8, 0)
    # Exclusive: a message at exactly `end` waits for the next window.
    end: time = time(21, 30)
    # Allowed days, Monday = 0 … Sunday = 6.
    weekdays: frozenset[int] = field(default=MONDAY_TO_SATURDAY)
    public_holidays_allowed: bool = False
    # ISO country (and optional subdivision) whose public holidays apply.
    holiday_country: str = "FR"
    holiday_subdivision: str | None = None


def windows_from_config(config: dict[str, dict]) -> dict[str, SendingWindow]:
    """Windows by country from the operator's settings (`CHAPPE_SENDING_WINDOWS`)."""
    windows = {}
    for country, spec in config.items():
        windows[country.upper()] = SendingWindow(
            start=time.fromisoformat(spec.get("start", "08:00")),
            end=time.fromisoformat(spec.get("end", "21:30")),
            weekdays=frozenset(spec.get("weekdays", MONDAY_TO_SATURDAY)),
            public_holidays_allowed=bool(spec.get("public_holidays_allowed", False)),
            holiday_country=spec.get("holiday_country", country.upper()),
            holiday_subdivision=spec.get("holiday_subdivision"),
        )
    return windows


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def _day_open(day: date, window: SendingWindow) -> bool:
    if day.weekday() not in window.weekdays:
        return False
    if window.public_holidays_allowed:
        return True
    return day not in _holidays(window.holiday_country, window.holiday_subdivision, day.year)


def next_allowed(at: datetime, window: SendingWindow, zone: str) -> datetime:
    """`at` itself if marketing may leave then, else the start of the next window (UTC)."""
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    for offset in range(0, 400):
        day = local.date() + timedelta(days=offset)
        if not _day_open(day, window):
            continue
        opens = datetime.combine(day, window.start, tzinfo=tz)
        closes = datetime.combine(day, window.end, tzinfo=tz)
        if local < opens:
            return opens.astimezone(UTC)
        if local < closes:
            return at.astimezone(UTC)
    raise ValueError("this sending window never opens")
