"""Late-payment penalties (P-7), pure.

* Messaging: 15 %/year of the amount outstanding, pro rata of the days late, + a 40 € flat
  recovery fee. Contact center: 3 x the legal interest rate (an operator setting), pro
  rata, + 40 €.
* Days late are whole days (24 h) after the due instant, counted until payment (or now),
  **minus the time an open contest froze them**; interest = outstanding x rate x days /
  365, computed exactly and rounded half up to the micro. Late penalties carry no VAT
  (they are damages, not a supply) and never bear penalties themselves.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from chappe.billing.rating import prorate

DAYS_PER_YEAR = 365


def frozen_overlap(start: datetime, end: datetime,
                   frozen: Iterable[tuple[datetime, datetime]]) -> timedelta:
    """Total length of the (merged) `frozen` intervals inside [start, end)."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in frozen if min(b, end) > max(a, start))
    total = timedelta(0)
    current_start = current_end = None
    for a, b in clipped:
        if current_end is None or a > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = a, b
        else:
            current_end = max(current_end, b)
    if current_end is not None:
        total += current_end - current_start
    return total


def days_late(due_at: datetime, until: datetime,
              frozen: Iterable[tuple[datetime, datetime]] = ()) -> int:
    """Whole days between `due_at` and `until`, not counting frozen time (never < 0)."""
    if until <= due_at:
        return 0
    late = until - due_at - frozen_overlap(due_at, until, frozen)
    return max(late // timedelta(days=1), 0)


def interest(outstanding_micros: int, annual_rate: Decimal, days: int) -> int:
    """outstanding x annual_rate x days / 365, exactly, rounded half up to the micro."""
    if isinstance(annual_rate, float):
        raise ValueError("rates are Decimal, never float")
    if outstanding_micros <= 0 or days <= 0 or annual_rate <= 0:
        return 0
    numerator, denominator = annual_rate.as_integer_ratio()
    return prorate(outstanding_micros * numerator, days, denominator * DAYS_PER_YEAR)
