"""Late-payment interest on what remained unpaid, stretch by stretch (P-7), pure."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from chappe.billing.penalties import days_late, interest, late_interest

RATE = Decimal("0.15")
DUE = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def euros(value: str) -> int:
    return int(Decimal(value) * 1_000_000)


def exact(weighted_micro_days: int, rate: Decimal = RATE) -> int:
    """Σ unpaid x days, x rate / 365, rounded half up to the micro (the reference)."""
    value = Fraction(weighted_micro_days) * Fraction(rate) / 365
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def test_no_payment_is_the_whole_amount_for_the_whole_lateness():
    result = late_interest(amount_micros=58_800_000, due_at=DUE,
                           until=DUE + 30 * DAY + timedelta(hours=2), annual_rate=RATE)
    assert result.days == 30
    # 58.80 x 15 % x 30 / 365 = 0.724931…
    assert result.interest_micros == 724_932 == interest(58_800_000, RATE, 30)
    [stretch] = result.stretches
    assert (stretch.unpaid_micros, stretch.days) == (58_800_000, 30)


def test_one_partial_payment_cuts_the_lateness_in_two():
    result = late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 30 * DAY,
                           annual_rate=RATE, payments=[(DUE + 10 * DAY, euros("40")),
                                                       (DUE + 30 * DAY, euros("60"))])
    assert [(s.unpaid_micros, s.days) for s in result.stretches] == [
        (euros("100"), 10), (euros("60"), 20)]
    # (100 x 10 + 60 x 20) x 15 % / 365 = 330 / 365 = 0.904109…
    assert [s.interest_micros for s in result.stretches] == [410_959, 493_151]
    assert result.interest_micros == 904_110
    assert result.days == 30
    # The old formula charged the whole total for the whole lateness: 1.232877.
    assert interest(euros("100"), RATE, 30) == 1_232_877


def test_several_payments():
    payments = [(DUE + 5 * DAY, euros("10")), (DUE + 12 * DAY, euros("30")),
                (DUE + 40 * DAY, euros("20")), (DUE + 41 * DAY, euros("40"))]
    result = late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 41 * DAY,
                           annual_rate=RATE, payments=payments)
    assert [(s.unpaid_micros, s.days) for s in result.stretches] == [
        (euros("100"), 5), (euros("90"), 7), (euros("60"), 28), (euros("40"), 1)]
    weighted = euros("100") * 5 + euros("90") * 7 + euros("60") * 28 + euros("40") * 1
    assert result.interest_micros == sum(exact(s.unpaid_micros * s.days)
                                         for s in result.stretches)
    assert abs(result.interest_micros - exact(weighted)) <= 2  # one rounding per stretch
    assert result.charged_stretches == result.stretches


def test_payments_in_any_order_are_sorted_by_reception():
    payments = [(DUE + 12 * DAY, euros("30")), (DUE + 5 * DAY, euros("10"))]
    forward = late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 20 * DAY,
                            annual_rate=RATE, payments=payments)
    backward = late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 20 * DAY,
                             annual_rate=RATE, payments=list(reversed(payments)))
    assert forward == backward


def test_a_payment_before_or_at_the_due_date_reduces_what_bears_interest():
    for when in (DUE - 3 * DAY, DUE):
        result = late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 10 * DAY,
                               annual_rate=RATE, payments=[(when, euros("30"))])
        assert [(s.unpaid_micros, s.days) for s in result.stretches] == [(euros("70"), 10)]
        assert result.interest_micros == interest(euros("70"), RATE, 10)


def test_paid_in_full_before_the_due_date_bears_nothing():
    result = late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 10 * DAY,
                           annual_rate=RATE, payments=[(DUE - DAY, euros("100"))])
    assert result.interest_micros == 0
    assert result.charged_stretches == ()


def test_a_contest_spanning_a_partial_payment_freezes_both_sides():
    contest = (DUE + 5 * DAY, DUE + 15 * DAY)
    result = late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 30 * DAY,
                           annual_rate=RATE, payments=[(DUE + 10 * DAY, euros("40"))],
                           frozen=[contest])
    # 5 unfrozen days before the payment, 15 after it (10 of the 30 frozen).
    assert [(s.unpaid_micros, s.days) for s in result.stretches] == [
        (euros("100"), 5), (euros("60"), 15)]
    assert result.days == 20 == days_late(DUE, DUE + 30 * DAY, [contest])
    assert result.interest_micros == exact(euros("100") * 5) + exact(euros("60") * 15)


def test_an_open_contest_freezes_up_to_the_computation_instant():
    until = DUE + 30 * DAY
    result = late_interest(amount_micros=euros("100"), due_at=DUE, until=until,
                           annual_rate=RATE, payments=[(DUE + 20 * DAY, euros("50"))],
                           frozen=[(DUE + 8 * DAY, until)])
    assert [(s.unpaid_micros, s.days) for s in result.stretches] == [
        (euros("100"), 8), (euros("50"), 0)]
    assert result.charged_stretches == result.stretches[:1]


def test_a_payment_during_a_day_already_reduces_that_day():
    # Paid 40 at 10 days 12 hours: days 0-9 on 100, day 10 (ends at 11 days) on 60.
    payments = [(DUE + 10 * DAY + timedelta(hours=12), euros("40"))]
    result = late_interest(amount_micros=euros("100"), due_at=DUE,
                           until=DUE + 30 * DAY + timedelta(hours=23), annual_rate=RATE,
                           payments=payments)
    assert [(s.unpaid_micros, s.days) for s in result.stretches] == [
        (euros("100"), 10), (euros("60"), 20)]
    # A payment exactly when a day ends leaves that day on the previous amount.
    on_boundary = late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 30 * DAY,
                                annual_rate=RATE, payments=[(DUE + 10 * DAY, euros("40"))])
    assert [s.days for s in on_boundary.stretches] == [10, 20]


def test_the_last_incomplete_day_bears_nothing():
    result = late_interest(amount_micros=euros("100"), due_at=DUE,
                           until=DUE + DAY - timedelta(microseconds=1), annual_rate=RATE)
    assert (result.days, result.interest_micros) == (0, 0)


def test_charging_in_steps_never_loses_or_repeats_a_day():
    payments = [(DUE + 7 * DAY + timedelta(hours=5), euros("25"))]
    whole = late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 20 * DAY,
                          annual_rate=RATE, payments=payments)
    cut = DUE + 10 * DAY + timedelta(hours=12)
    first = late_interest(amount_micros=euros("100"), due_at=DUE, until=cut,
                          annual_rate=RATE, payments=payments)
    second = late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 20 * DAY,
                           annual_rate=RATE, payments=payments, since=cut)
    assert (first.days, second.days) == (10, 10)
    assert [(s.unpaid_micros, s.days) for s in second.stretches] == [(euros("75"), 10)]
    assert first.interest_micros + second.interest_micros == whole.interest_micros
    # `since` before the due date is the due date.
    assert late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 20 * DAY,
                         annual_rate=RATE, payments=payments, since=DUE - DAY) == whole


def test_nothing_before_the_due_date_or_after_since():
    assert late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE - DAY,
                         annual_rate=RATE).stretches == ()
    assert late_interest(amount_micros=euros("100"), due_at=DUE, until=DUE + 5 * DAY,
                         annual_rate=RATE, since=DUE + 6 * DAY).stretches == ()


def test_leap_years_divide_by_365_like_every_year():
    due = datetime(2024, 1, 1, tzinfo=UTC)
    leap = late_interest(amount_micros=euros("365"), due_at=due,
                         until=datetime(2025, 1, 1, tzinfo=UTC), annual_rate=RATE)
    assert leap.days == 366
    assert leap.interest_micros == euros("54.90")  # 365 x 15 % x 366 / 365
    plain = late_interest(amount_micros=euros("365"), due_at=datetime(2025, 1, 1, tzinfo=UTC),
                          until=datetime(2026, 1, 1, tzinfo=UTC), annual_rate=RATE)
    assert (plain.days, plain.interest_micros) == (365, euros("54.75"))
    # 29 February is one more day late, nothing special.
    feb = late_interest(amount_micros=euros("365"), due_at=datetime(2024, 2, 28, tzinfo=UTC),
                        until=datetime(2024, 3, 1, tzinfo=UTC), annual_rate=RATE)
    assert (feb.days, feb.interest_micros) == (2, euros("0.30"))


def test_rates_are_never_floats():
    with pytest.raises(ValueError, match="never float"):
        late_interest(amount_micros=1, due_at=DUE, until=DUE + DAY, annual_rate=0.15)


@pytest.mark.parametrize("seed", range(25))
def test_random_schedules_match_the_day_by_day_reference(seed):
    """Day by day: each whole late day bears interest on what was unpaid when it ended."""
    rng = random.Random(seed)
    total = rng.randint(1, 50_000) * 10_000
    until = DUE + timedelta(hours=rng.randint(0, 24 * 90))
    payments, left = [], total
    for _ in range(rng.randint(0, 5)):
        amount = rng.randint(1, max(left // 10_000, 1)) * 10_000 if left > 10_000 else left
        if amount <= 0:
            break
        payments.append((DUE + timedelta(hours=rng.randint(-48, 24 * 90)), amount))
        left -= amount
    frozen = []
    if rng.random() < 0.5:
        start = DUE + timedelta(hours=rng.randint(0, 24 * 40))
        frozen.append((start, start + timedelta(hours=rng.randint(1, 24 * 20))))
    result = late_interest(amount_micros=total, due_at=DUE, until=until, annual_rate=RATE,
                           payments=payments, frozen=frozen)
    assert result.days == days_late(DUE, until, frozen)
    # Reference: walk the days; day n ends when unfrozen time since DUE reaches n + 1 days.
    weighted, moment, step = 0, DUE, timedelta(minutes=30)
    counted = 0
    while moment < until:
        moment = min(moment + step, until)
        done = days_late(DUE, moment, frozen)
        while counted < done:
            unpaid = total - sum(a for at, a in payments if at < moment)
            weighted += max(unpaid, 0)
            counted += 1
    assert abs(result.interest_micros - exact(weighted)) <= len(result.stretches)
    assert result.interest_micros <= interest(total, RATE, result.days)
