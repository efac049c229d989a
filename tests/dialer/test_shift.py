"""Simulated shifts of the pacing loop (seeded, `chappe.dialer.shift`): the abandon rate
stays under the cap, the lines never exceed the ratio, and predictive connects more calls
than progressive in the same shift."""

from fractions import Fraction

import pytest

from chappe.dialer import pacing
from chappe.dialer.shift import ShiftSpec, simulate

# Four hours of 10 agents with more numbers than they can call.
SPEC = ShiftSpec(agents=10, numbers=100_000, seconds=4 * 3600, answer_rate=0.3)


def predictive(cap: Fraction) -> pacing.Pacing:
    return pacing.campaign_pacing(pacing.PREDICTIVE, lines_per_agent=3, abandon_cap=cap)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_predictive_keeps_the_abandon_rate_under_the_default_cap(seed):
    cap = Fraction(3, 100)
    result = simulate(predictive(cap), ShiftSpec(**{**SPEC.__dict__, "seed": seed}))
    assert result.answered > 900
    assert result.abandoned > 0  # it does over-dial…
    assert result.abandon_rate < cap  # …within the cap over the shift
    assert result.lines_cap_kept
    assert result.max_lines <= 30


def test_predictive_connects_more_than_progressive():
    progressive = simulate(pacing.Pacing(pacing.PROGRESSIVE, lines_per_agent=1), SPEC)
    over = simulate(predictive(Fraction(3, 100)), SPEC)
    assert progressive.abandoned == 0  # one line per ready agent: an agent is always there
    assert over.connected > progressive.connected
    assert over.occupancy > progressive.occupancy


def test_a_lower_cap_abandons_less():
    loose = simulate(predictive(Fraction(3, 100)), SPEC)
    strict = simulate(predictive(Fraction(1, 100)), SPEC)
    assert strict.abandon_rate < loose.abandon_rate
    assert strict.abandoned < loose.abandoned


def test_a_shift_ends_when_the_numbers_do():
    result = simulate(predictive(Fraction(3, 100)), ShiftSpec(agents=5, numbers=200))
    assert result.placed == 200
    assert result.connected + result.abandoned == result.answered
    assert result.seconds < ShiftSpec().seconds
