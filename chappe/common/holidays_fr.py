"""French public holidays, pure: the one place that knows them (the dialer's calling
windows, the support desk's opening hours and working-hour deadlines).

The `holidays` package computes them (Easter-based feasts included); mainland France
uses the national list, each overseas department or community its own subdivision
(`"971"`, `"NC"`…, as `holidays.France` names them)."""

from datetime import date
from functools import cache

import holidays


@cache
def french_holidays(subdivision: str, year: int) -> holidays.HolidayBase:
    return holidays.France(years=year, subdiv=subdivision or None)


def is_french_holiday(day: date, subdivision: str = "") -> bool:
    """`day` is a public holiday in mainland France (or in `subdivision`)."""
    return day in french_holidays(subdivision, day.year)
