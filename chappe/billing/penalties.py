"""Late-payment penalties (P-7), pure.

* Messaging: 15 %/year of what remains unpaid, pro rata of the days late, + a 40 € flat
  recovery fee. Contact center: 3 x the legal interest rate (an operator setting), pro
  rata, + 40 €.
* Interest runs on **what remained unpaid over each stretch of time** (`late_interest`):
  the lateness is cut at the due instant, at every payment received after it and at the
  settlement (or the computation instant); each stretch bears
  unpaid amount x rate x days / 365, and the stretches are summed.
* Day-count convention ("exact/365 fixed", whole days):
  - a *day late* is 24 h of **unfrozen** time after the due instant (time during which an
    open contest froze the invoice does not count); only complete days count, so a
    settlement 30 days 23 hours late is 30 days late;
  - late day n (n = 0, 1, …) ends when the unfrozen time elapsed since the due instant
    reaches n + 1 days; it bears interest on the amount **still unpaid when it ends**: a
    payment received during a day (strictly before its end) already reduces that day's
    interest — exactly like the final settlement, whose incomplete last day bears none;
  - the divisor is always 365, leap years included (a year of 366 days late in a leap
    year bears 366/365 of the yearly rate), as the previous, whole-total formula did;
  - each stretch's interest is computed exactly and rounded half up to the micro once;
    the total is the sum of the stretches (invoices then round each line to cents).
* Payments received at or before the due instant simply reduce the amount that starts
  bearing interest. Interest already charged up to an instant (`since`) is not charged
  again: counting resumes at the first day that had not ended by then.
* Late penalties carry no VAT (they are damages, not a supply) and never bear penalties
  themselves.
"""

from collections.abc import Iterable
from dataclasses import dataclass
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


def _check_rate(annual_rate: Decimal) -> None:
    if isinstance(annual_rate, float) or not isinstance(annual_rate, Decimal | int):
        raise ValueError("rates are Decimal, never float")


def interest(outstanding_micros: int, annual_rate: Decimal, days: int) -> int:
    """outstanding x annual_rate x days / 365, exactly, rounded half up to the micro."""
    _check_rate(annual_rate)
    if outstanding_micros <= 0 or days <= 0 or annual_rate <= 0:
        return 0
    numerator, denominator = Decimal(annual_rate).as_integer_ratio()
    return prorate(outstanding_micros * numerator, days, denominator * DAYS_PER_YEAR)


@dataclass(frozen=True)
class InterestStretch:
    """One stretch of lateness during which the unpaid amount did not change."""

    start: datetime
    end: datetime
    unpaid_micros: int
    # Whole late days that ended inside (start, end] (see the module docstring).
    days: int
    interest_micros: int


@dataclass(frozen=True)
class LateInterest:
    stretches: tuple[InterestStretch, ...]

    @property
    def days(self) -> int:
        """Whole days late counted (frozen time excluded), whatever was unpaid."""
        return sum(s.days for s in self.stretches)

    @property
    def interest_micros(self) -> int:
        return sum(s.interest_micros for s in self.stretches)

    @property
    def charged_stretches(self) -> tuple[InterestStretch, ...]:
        """The stretches that bear interest (days > 0 and something unpaid)."""
        return tuple(s for s in self.stretches if s.interest_micros > 0)


def late_interest(
    *,
    amount_micros: int,
    due_at: datetime,
    until: datetime,
    annual_rate: Decimal,
    payments: Iterable[tuple[datetime, int]] = (),
    frozen: Iterable[tuple[datetime, datetime]] = (),
    since: datetime | None = None,
) -> LateInterest:
    """Interest on an amount due at `due_at`, as of `until`, on what remained unpaid.

    `payments` are (received_at, amount_micros); `frozen` the (start, end) intervals an
    open contest froze penalties; `since` the instant interest was already charged up to.
    Stretches: [start, first payment after it), [that payment, the next), …, [last, until),
    where start = max(due_at, since). See the module docstring for the conventions."""
    _check_rate(annual_rate)
    frozen = list(frozen)
    start = max(since or due_at, due_at)
    if until <= start:
        return LateInterest(())
    ordered = sorted(payments)
    unpaid = amount_micros - sum(amount for at, amount in ordered if at <= start)
    cuts = [(at, amount) for at, amount in ordered if start < at < until]

    def elapsed_days(moment: datetime) -> int:
        return days_late(due_at, moment, frozen)

    stretches = []
    begin = start
    for end, paid in [*cuts, (until, 0)]:
        days = elapsed_days(end) - elapsed_days(begin)
        stretches.append(InterestStretch(begin, end, max(unpaid, 0), days,
                                         interest(unpaid, annual_rate, days)))
        unpaid -= paid
        begin = end
    return LateInterest(tuple(stretches))
