"""Business calendar, pure: months, credit expiry, invoice periods, in an account's zone.

Rules (written down here and tested in tests/billing/test_periods.py):

* **Adding months** clamps to the last day of the target month, like a legal term counted
  "de quantième à quantième": 31 Jan + 1 month = 28/29 Feb; 29 Feb 2024 + 12 months =
  28 Feb 2025.
* **Credit validity (P-5)**: credits ordered on local day D are usable through the whole
  local day D + 12 months and lost at the following local midnight. A lot ordered at any
  time on 2024-02-29 (Paris) is usable through 2025-02-28 and expires at 2025-03-01 00:00
  Europe/Paris; one ordered on 2024-03-31 expires at 2025-04-01 00:00.
* **Months** are local calendar months: [1st 00:00, next 1st 00:00) in the account's zone,
  so the last second of a month (23:59:59 local) belongs to it and DST is handled by the
  zone database.
"""

import calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chappe.common.months import add_months


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "Europe/Paris")


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(tz).date()


def credit_expiry(ordered_at: datetime, tz: ZoneInfo, months: int = 12) -> datetime:
    """The instant credits ordered at `ordered_at` are lost (see the module docstring)."""
    last_day = add_months(local_date(ordered_at, tz), months)
    return local_midnight(last_day + timedelta(days=1), tz)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_bounds(first_day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) instants of the local calendar month starting on `first_day`."""
    first_day = month_start(first_day)
    return local_midnight(first_day, tz), local_midnight(add_months(first_day, 1), tz)


def previous_month(today: date) -> date:
    """The first day of the month before `today`'s."""
    return add_months(month_start(today), -1)


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def billable_days(*, period_first: date, started_on: date, ended_on: date | None) -> int:
    """How many days of the month starting `period_first` a subscription is owed for.

    The first period starts on the subscription day (days from `started_on` to the end of
    that month, both included); every later **started** month is owed in full (P-6), so an
    end inside a month still owes the whole month; 0 when the subscription does not touch
    the month at all."""
    last = month_end(period_first)
    if started_on > last or (ended_on is not None and ended_on < period_first):
        return 0
    if started_on > period_first:
        return (last - started_on).days + 1
    return days_in_month(period_first)
