"""`choose`, the pure ACD choice: one example per rule and strategy, then properties."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chappe.agents.acd import (
    Caller,
    Member,
    Overflow,
    QueueSpec,
    State,
    Strategy,
    WaitingCallers,
    admit,
    caller_priority,
    choose,
    expected_wait,
    leaving,
)

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def ago(seconds: int) -> datetime:
    return NOW - timedelta(seconds=seconds)


def agent(id: str, state: State = State.AVAILABLE, **kw) -> Member:
    return Member(id=id, state=state, **kw)


def waiting(*callers: Caller) -> WaitingCallers:
    return WaitingCallers.of(callers)


def offers_of(queue, callers, agents, now=NOW):
    return [(o.caller_id, o.agent_id) for o in choose(queue, callers, agents, now)]


def q(strategy=Strategy.LONGEST_IDLE, **kw) -> QueueSpec:
    return QueueSpec(id="q", strategy=strategy, **kw)


# --- examples --------------------------------------------------------------------------


def test_only_available_agents_past_their_wrap_up_are_offered():
    agents = [agent("ringing", State.RINGING), agent("talking", State.ON_CALL),
              agent("wrap", State.WRAP_UP), agent("paused", State.PAUSED),
              agent("out", State.LOGGED_OUT), agent("later", ready_at=NOW + timedelta(seconds=1)),
              agent("free", ready_at=NOW)]
    callers = waiting(*(Caller(f"c{i}", ago(10 + i)) for i in range(5)))
    assert offers_of(q(Strategy.RING_ALL), callers, agents) == [("c4", "free")]


def test_longest_idle_agent_first():
    agents = [agent("a", idle_since=ago(10)), agent("b", idle_since=ago(300)),
              agent("c", idle_since=ago(60))]
    callers = waiting(Caller("first", ago(50)), Caller("second", ago(5)))
    assert offers_of(q(), callers, agents) == [("first", "b"), ("second", "c")]


def test_ring_all_rings_every_free_agent_for_the_head_caller():
    agents = [agent("a"), agent("b"), agent("busy", State.ON_CALL)]
    callers = waiting(Caller("head", ago(50)), Caller("next", ago(5)))
    assert sorted(offers_of(q(Strategy.RING_ALL), callers, agents)) == [
        ("head", "a"), ("head", "b")]


def test_round_robin_starts_after_the_agent_offered_last():
    agents = [agent(n, position=p) for p, n in enumerate("abcd")]
    callers = waiting(Caller("x", ago(9)), Caller("y", ago(8)), Caller("z", ago(7)))
    queue = q(Strategy.ROUND_ROBIN, last_agent_id="b")
    assert offers_of(queue, callers, agents) == [("x", "c"), ("y", "d"), ("z", "a")]
    # The one offered last is busy now: its place in the ring still counts.
    agents[2] = agent("c", State.ON_CALL, position=2)
    queue = q(Strategy.ROUND_ROBIN, last_agent_id="c")
    assert offers_of(queue, waiting(Caller("x", ago(9))), agents) == [("x", "d")]


def test_fewest_calls_and_least_talk_time():
    agents = [agent("a", calls_taken=5, talk_seconds=100), agent("b", calls_taken=2,
                                                                 talk_seconds=900)]
    callers = waiting(Caller("x", ago(9)))
    assert offers_of(q(Strategy.FEWEST_CALLS), callers, agents) == [("x", "b")]
    assert offers_of(q(Strategy.LEAST_TALK_TIME), callers, agents) == [("x", "a")]


def test_linear_follows_positions():
    agents = [agent("late", position=3), agent("top", position=1), agent("mid", position=2)]
    callers = waiting(Caller("x", ago(9)), Caller("y", ago(8)))
    assert offers_of(q(Strategy.LINEAR), callers, agents) == [("x", "top"), ("y", "mid")]


def test_random_is_deterministic_for_the_same_inputs_and_varies_with_time():
    agents = [agent(f"a{i}") for i in range(20)]
    callers = waiting(Caller("x", ago(9)))
    queue = q(Strategy.RANDOM)
    first = offers_of(queue, callers, agents)
    assert first == offers_of(queue, callers, list(reversed(agents)))
    picked = {offers_of(queue, callers, agents, NOW + timedelta(seconds=s))[0][1]
              for s in range(40)}
    assert len(picked) > 5


def test_a_priority_caller_passes_ahead_of_longer_waits():
    callers = waiting(Caller("old", ago(600)), Caller("vip", ago(1), priority=5))
    assert offers_of(q(), callers, [agent("a")]) == [("vip", "a")]


def test_skills_with_minimum_levels():
    agents = [agent("junior", skills={"fr": 3}), agent("senior", skills={"fr": 8, "vip": 5})]
    queue = q(Strategy.LINEAR, required_skills=(("fr", 5),))
    callers = waiting(Caller("x", ago(9)), Caller("y", ago(8)))
    assert offers_of(queue, callers, agents) == [("x", "senior")]
    needy = waiting(Caller("x", ago(9), required_skills=(("vip", 6),)), Caller("y", ago(8)))
    assert offers_of(queue, needy, agents) == [("y", "senior")]


def test_lower_tiers_first_and_the_next_tier_at_once_when_they_are_busy():
    agents = [agent("t2", tier=2, idle_since=ago(900)), agent("t1", tier=1, idle_since=ago(1))]
    callers = waiting(Caller("x", ago(9)), Caller("y", ago(8)))
    assert offers_of(q(), callers, agents) == [("x", "t1"), ("y", "t2")]
    agents[1] = agent("t1", State.ON_CALL, tier=1)
    assert offers_of(q(), waiting(Caller("x", ago(0))), agents) == [("x", "t2")]


def test_a_ringing_tier_escalates_after_its_seconds():
    agents = [agent("t1", State.RINGING, tier=1), agent("t2", tier=2), agent("t3", tier=3)]
    queue = q(Strategy.RING_ALL, escalation_seconds=30)
    early = waiting(Caller("x", ago(29), ringing=frozenset({"t1"})))
    assert offers_of(queue, early, agents) == []
    at = waiting(Caller("x", ago(30), ringing=frozenset({"t1"})))
    assert offers_of(queue, at, agents) == [("x", "t2")]
    later = waiting(Caller("x", ago(60), ringing=frozenset({"t1"})))
    assert offers_of(queue, later, agents) == [("x", "t2"), ("x", "t3")]


def test_ring_all_rings_the_next_tier_only_after_the_escalation_even_when_it_is_free():
    agents = [agent("t1", tier=1), agent("t2", tier=2)]
    queue = q(Strategy.RING_ALL, escalation_seconds=30)
    # Both free: the first tier rings alone (the second is not "busy lower tiers").
    assert offers_of(queue, waiting(Caller("x", ago(0))), agents) == [("x", "t1")]
    # A caller who already waited the escalation gets both tiers at once.
    assert offers_of(queue, waiting(Caller("x", ago(30))), agents) == [("x", "t1"),
                                                                       ("x", "t2")]


def test_a_caller_already_ringing_gets_no_second_agent_outside_ring_all():
    agents = [agent("t1", State.RINGING), agent("free")]
    callers = waiting(Caller("x", ago(90), ringing=frozenset({"t1"})), Caller("y", ago(5)))
    assert offers_of(q(), callers, agents) == [("y", "free")]


def test_waiting_callers_stay_in_order_as_they_come_and_go():
    line = WaitingCallers()
    a, b, c = Caller("a", ago(30)), Caller("b", ago(20)), Caller("c", ago(1), priority=1)
    for caller in (b, c, a):
        line.add(caller)
    assert [x.id for x in line] == ["c", "a", "b"]
    line.remove(a)
    assert [x.id for x in line] == ["c", "b"]
    with pytest.raises(ValueError, match="already waiting"):
        line.add(b)
    with pytest.raises(KeyError):
        line.remove(a)


def test_caller_priority_takes_the_highest_matching_rule():
    rules = [("caller_prefix", "+3361", 3), ("dialled_number", "+33189000001", 7),
             ("branch", "gold", 9)]
    assert caller_priority(rules=rules, caller_number="+33612345678",
                           dialled_number="+33189000002") == 3
    assert caller_priority(rules=rules, caller_number="+33612345678",
                           dialled_number="+33189000001") == 7
    assert caller_priority(rules=rules, caller_number="+3370", dialled_number="",
                           branch="gold") == 9
    assert caller_priority(rules=rules, caller_number="+3370", dialled_number="") == 0


def test_a_full_queue_or_one_without_agents_overflows_at_entry():
    assert admit(q(max_length=2), waiting=1, logged_in=0) is None
    assert admit(q(max_length=2), waiting=2, logged_in=3) == Overflow.FULL
    assert admit(q(overflow_when_no_agent=True), waiting=0, logged_in=0) == Overflow.NO_AGENT
    assert admit(q(overflow_when_no_agent=True), waiting=0, logged_in=1) is None


def test_callers_leave_after_the_maximum_wait_or_when_the_last_agent_logs_out():
    callers = waiting(Caller("old", ago(120)), Caller("ringing", ago(300),
                                                      ringing=frozenset({"a"})),
                      Caller("new", ago(10)))
    assert leaving(q(max_wait_seconds=120), callers, logged_in=1, now=NOW) == [
        ("old", Overflow.TIMEOUT)]
    assert leaving(q(), callers, logged_in=1, now=NOW) == []
    assert [why for _id, why in leaving(q(overflow_when_no_agent=True), callers,
                                        logged_in=0, now=NOW)] == [Overflow.NO_AGENT] * 3


# --- properties ------------------------------------------------------------------------

STATES = st.sampled_from(list(State))
SKILLS = st.dictionaries(st.sampled_from(["fr", "en", "vip"]), st.integers(1, 10), max_size=3)


@st.composite
def scenes(draw):
    agents = [Member(id=f"a{i}", state=draw(STATES), tier=draw(st.integers(1, 3)),
                     position=draw(st.integers(0, 5)), skills=draw(SKILLS),
                     ready_at=draw(st.sampled_from([None, ago(5), NOW + timedelta(seconds=5)])),
                     idle_since=draw(st.sampled_from([None, ago(5), ago(50)])),
                     calls_taken=draw(st.integers(0, 5)), talk_seconds=draw(st.integers(0, 99)))
              for i in range(draw(st.integers(0, 12)))]
    ids = [a.id for a in agents]
    callers = [Caller(id=f"c{i}", entered_at=ago(draw(st.integers(0, 120))),
                      priority=draw(st.integers(0, 2)),
                      required_skills=draw(st.sampled_from([(), (("en", 4),)])),
                      ringing=frozenset(draw(st.lists(st.sampled_from(ids), max_size=2)))
                      if ids else frozenset())
               for i in range(draw(st.integers(0, 12)))]
    queue = QueueSpec(id="q", strategy=draw(st.sampled_from(list(Strategy))),
                      escalation_seconds=draw(st.sampled_from([0, 30])),
                      required_skills=draw(st.sampled_from([(), (("fr", 3),)])),
                      last_agent_id=draw(st.sampled_from([None, *ids])))
    return queue, callers, agents


def _free(m: Member, now: datetime) -> bool:
    return m.state == State.AVAILABLE and (m.ready_at is None or m.ready_at <= now)


def _fits(m: Member, skills) -> bool:
    return all(m.skills.get(name, 0) >= level for name, level in skills)


@settings(max_examples=400, deadline=None)
@given(scenes())
def test_offers_go_once_each_to_free_qualified_agents(scene):
    queue, callers, agents = scene
    offers = choose(queue, WaitingCallers.of(callers), agents, NOW)
    by_id = {a.id: a for a in agents}
    by_caller = {c.id: c for c in callers}
    assert len({o.agent_id for o in offers}) == len(offers)  # never two offers to one agent
    for offer in offers:
        member, caller = by_id[offer.agent_id], by_caller[offer.caller_id]
        assert _free(member, NOW)
        assert _fits(member, queue.required_skills + caller.required_skills)
        if queue.strategy != Strategy.RING_ALL:
            assert not caller.ringing
            assert sum(o.caller_id == caller.id for o in offers) == 1


@settings(max_examples=400, deadline=None)
@given(scenes())
def test_priority_then_wait_and_tiers_are_respected(scene):
    queue, callers, agents = scene
    offers = choose(queue, WaitingCallers.of(callers), agents, NOW)
    offered_agents = {o.agent_id for o in offers}
    offered_callers = {o.caller_id for o in offers}
    rank = {c.id: (-c.priority, c.entered_at, c.id) for c in callers}
    for offer in offers:
        caller = next(c for c in callers if c.id == offer.caller_id)
        need = queue.required_skills + caller.required_skills
        # Every free agent of a lower tier that fits was offered too (to someone).
        for other in agents:
            if _free(other, NOW) and _fits(other, need) and other.tier < offer.tier:
                assert other.id in offered_agents
        # No caller ahead in the queue, free to take this agent, was passed over.
        for ahead in callers:
            if (rank[ahead.id] < rank[caller.id] and ahead.id not in offered_callers
                    and not ahead.ringing
                    and _fits(next(a for a in agents if a.id == offer.agent_id),
                              queue.required_skills + ahead.required_skills)):
                raise AssertionError(f"{ahead.id} was ahead of {caller.id}")


@settings(max_examples=200, deadline=None)
@given(scenes())
def test_no_starvation_every_fitting_caller_is_offered_as_agents_free_up(scene):
    queue, callers, agents = scene
    # From here no caller rings anyone, and every agent comes back free after each round.
    line = WaitingCallers.of(Caller(c.id, c.entered_at, c.priority, c.required_skills)
                             for c in callers)
    agents = [Member(a.id, State.AVAILABLE, a.tier, a.position, a.skills) for a in agents]
    fitting = {c.id for c in callers
               if any(_fits(a, queue.required_skills + c.required_skills) for a in agents)}
    served: set[str] = set()
    for round_ in range(len(callers) + 1):
        for offer in choose(queue, line, agents, NOW + timedelta(seconds=round_)):
            if offer.caller_id not in served:
                served.add(offer.caller_id)
                line.remove(next(c for c in line if c.id == offer.caller_id))
    assert served == fitting


def test_the_expected_wait_spreads_the_callers_ahead_over_the_agents_logged_in():
    assert expected_wait(position=3, handle_seconds=120, agents=2) == 180
    assert expected_wait(position=1, handle_seconds=90, agents=0) == 90  # nobody yet: one
    assert expected_wait(position=2, handle_seconds=0, agents=3) == 0  # nothing to go by
