"""Money type and the business calendar (expiry rule, months, proration boundaries)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chappe.billing.money import Money, MoneyError, from_micros, round_to_cents, to_micros
from chappe.billing.penalties import days_late, frozen_overlap, interest
from chappe.billing.periods import (
    add_months,
    billable_days,
    credit_expiry,
    month_bounds,
    zone,
)

PARIS = zone("Europe/Paris")


def test_money_is_exact_and_never_float():
    assert to_micros("0.045") == 45_000
    assert to_micros(Decimal("12.000001")) == 12_000_001
    assert from_micros(45_000) == Decimal("0.045000")
    with pytest.raises(MoneyError):
        to_micros(0.1)  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        to_micros("0.0000001")
    with pytest.raises(MoneyError):
        Money.of("1") + Money.of("1", "USD")
    assert str(Money.of("1.005")) == "1.01 EUR"


@pytest.mark.parametrize(("micros", "cents"), [
    (4_999, 0), (5_000, 10_000), (15_000, 20_000), (-5_000, -10_000), (123_454_999, 123_450_000),
])
def test_round_to_cents_half_up(micros, cents):
    assert round_to_cents(micros) == cents


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 12, 15), 1, date(2025, 1, 15)),
    (date(2024, 3, 1), -1, date(2024, 2, 1)),
])
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_credits_bought_on_leap_day_expire_after_28_february():
    # Ordered 2024-02-29 10:00 Paris: usable all of 2025-02-28, lost at 2025-03-01 00:00.
    ordered = datetime(2024, 2, 29, 9, 0, tzinfo=UTC)
    assert credit_expiry(ordered, PARIS) == datetime(2025, 3, 1, tzinfo=PARIS)


def test_credit_expiry_is_exactly_twelve_months_in_the_account_zone():
    # 2024-03-14 23:30 UTC is already 2024-03-15 in Paris: the local day counts.
    ordered = datetime(2024, 3, 14, 23, 30, tzinfo=UTC)
    expiry = credit_expiry(ordered, PARIS)
    assert expiry == datetime(2025, 3, 16, tzinfo=PARIS)
    assert expiry.utcoffset().total_seconds() == 3600  # winter time in March 16th 2025


def test_month_bounds_include_the_last_second_and_follow_dst():
    start, end = month_bounds(date(2025, 3, 1), PARIS)
    assert start == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)
    assert end == datetime(2025, 3, 31, 22, 0, tzinfo=UTC)  # summer time from 30 March
    last_second = datetime(2025, 3, 31, 23, 59, 59, tzinfo=PARIS)
    assert start <= last_second < end


@pytest.mark.parametrize(("first", "started", "ended", "days"), [
    (date(2025, 1, 1), date(2025, 1, 1), None, 31),
    (date(2025, 1, 1), date(2025, 1, 15), None, 17),
    (date(2025, 1, 1), date(2025, 1, 31), None, 1),
    (date(2024, 2, 1), date(2024, 2, 29), None, 1),   # leap February, last day
    (date(2024, 2, 1), date(2024, 2, 1), None, 29),
    (date(2025, 2, 1), date(2025, 1, 15), date(2025, 2, 3), 28),  # started month owed
    (date(2025, 3, 1), date(2025, 1, 15), date(2025, 2, 28), 0),
    (date(2024, 12, 1), date(2025, 1, 2), None, 0),
])
def test_billable_days(first, started, ended, days):
    assert billable_days(period_first=first, started_on=started, ended_on=ended) == days


def test_penalty_interest_and_frozen_days():
    due = datetime(2025, 1, 1, tzinfo=UTC)
    paid = datetime(2025, 1, 31, 12, tzinfo=UTC)
    assert days_late(due, paid) == 30
    frozen = [(datetime(2025, 1, 10, tzinfo=UTC), datetime(2025, 1, 20, tzinfo=UTC)),
              (datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 1, 22, tzinfo=UTC))]
    assert frozen_overlap(due, paid, frozen).days == 12
    assert days_late(due, paid, frozen) == 18
    # 1000 € x 15 % x 30 / 365 = 12.328767… €
    assert interest(1_000_000_000, Decimal("0.15"), 30) == 12_328_767
    assert interest(1_000_000_000, Decimal("0.15"), 0) == 0
