"""The pacing core (C-5): its two properties for every input, and the figures of a few
floors worked by hand."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chappe.dialer.pacing import (
    PREDICTIVE,
    PREVIEW,
    PROGRESSIVE,
    Floor,
    Pacing,
    calls_to_place,
)


@st.composite
def floors(draw) -> Floor:
    staffed = draw(st.integers(0, 200))
    ready = draw(st.integers(0, staffed))
    busy = staffed - ready
    soon = Fraction(draw(st.integers(0, busy * 100)), 100)
    placed = draw(st.integers(0, 5000))
    answered = draw(st.integers(0, placed))
    live = draw(st.integers(0, 5000))
    return Floor(agents_staffed=staffed, agents_ready=ready, agents_soon=soon,
                 lines_dialing=draw(st.integers(0, 3 * staffed + 5)), placed=placed,
                 answered=answered, live_answered=live, abandoned=draw(st.integers(0, live)))


pacings = st.builds(Pacing, mode=st.sampled_from([PREVIEW, PROGRESSIVE, PREDICTIVE]),
                    lines_per_agent=st.integers(1, 3),
                    abandon_cap=st.fractions(Fraction(1, 100), Fraction(10, 100)))


@given(pacings, floors())
def test_never_more_lines_than_the_cap(pacing, floor):
    decision = calls_to_place(pacing, floor)
    assert decision.calls >= 0
    if decision.calls:
        assert floor.lines_dialing + decision.calls <= pacing.lines_per_agent * floor.agents_staffed


@given(pacings.filter(lambda p: p.mode != PREVIEW), floors())
def test_ready_agents_are_always_covered_by_lines(pacing, floor):
    decision = calls_to_place(pacing, floor)
    assert floor.lines_dialing + decision.calls >= floor.agents_ready


def test_preview_places_nothing_and_progressive_keeps_its_ratio():
    floor = Floor(agents_staffed=10, agents_ready=4, lines_dialing=1)
    assert calls_to_place(Pacing(PREVIEW), floor).calls == 0
    assert calls_to_place(Pacing(PROGRESSIVE), floor).calls == 3
    assert calls_to_place(Pacing(PROGRESSIVE, lines_per_agent=2), floor).calls == 7


def test_predictive_overdials_by_the_hit_rate_until_the_abandon_cap():
    # 10 ready, 4 expected free, 1 call in 4 answered, no abandon yet: 14 answers wanted,
    # 56 calls, capped by 3 lines for each of 20 agents (60) less the 2 in progress.
    base = dict(agents_staffed=20, agents_ready=10, agents_soon=Fraction(4), placed=400,
                answered=100, live_answered=100)
    fresh = calls_to_place(Pacing(PREDICTIVE, lines_per_agent=3),
                           Floor(lines_dialing=2, abandoned=0, **base))
    assert (fresh.calls, fresh.hit_rate, fresh.overdial) == (54, Fraction(1, 4), True)
    # Half-way to the 3 % cap: half of the expected agents counted (12 answers, 48 calls).
    half = calls_to_place(Pacing(PREDICTIVE, lines_per_agent=3),
                          Floor(lines_dialing=0, **{**base, "live_answered": 200},
                                abandoned=3))
    assert (half.calls, half.abandon_rate) == (48, Fraction(3, 200))
    # At the cap: one line per ready agent, whatever the hit rate.
    capped = calls_to_place(Pacing(PREDICTIVE, lines_per_agent=3),
                            Floor(lines_dialing=2, **base, abandoned=3))
    assert (capped.calls, capped.overdial) == (8, False)


def test_without_history_predictive_dials_one_line_per_ready_agent():
    decision = calls_to_place(Pacing(PREDICTIVE, lines_per_agent=3),
                              Floor(agents_staffed=5, agents_ready=5, lines_dialing=0,
                                    placed=10, answered=1))
    assert (decision.calls, decision.hit_rate) == (5, 1)


@pytest.mark.parametrize("bad", [
    dict(agents_staffed=1, agents_ready=2, lines_dialing=0),
    dict(agents_staffed=1, agents_ready=0, lines_dialing=-1),
    dict(agents_staffed=2, agents_ready=1, lines_dialing=0, agents_soon=Fraction(2)),
    dict(agents_staffed=1, agents_ready=1, lines_dialing=0, live_answered=1, abandoned=2),
])
def test_impossible_floors_are_refused(bad):
    with pytest.raises(ValueError, match=r"pacing|more"):
        Floor(**bad)
