"""Calendar months, pure: the one way of counting "N months later" (billing periods,
notice periods, retention and purge dates all use it).

A month is counted "de quantième à quantième" and clamped to the end of the target
month: 31 Jan + 1 month = 28/29 Feb; 29 Feb 2024 + 12 months = 28 Feb 2025. A moment
plus N months keeps its local wall-clock time in the given zone (DST handled by the
zone database)."""

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo


def add_months(day: date, months: int) -> date:
    """`day` plus `months` calendar months, clamped to the end of the target month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def moment_add_months(moment: datetime, months: int, tz: ZoneInfo) -> datetime:
    """`moment` plus `months` calendar months, read in `tz`: the same local time on the
    (clamped) same day of the month, months later."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    local = moment.astimezone(tz)
    return datetime.combine(add_months(local.date(), months), local.time(), tzinfo=tz)
