"""Agents' states: the transition table, licences (C-8), feature codes, the engine's
moves, auto-pause after N calls rang out, and the queue events each change writes."""

from datetime import UTC, datetime, timedelta

import pytest

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Service, ServiceKind
from chappe.accounts.roles import Role
from chappe.accounts.services import service_suspend
from chappe.agents.acd import Caller, State, WaitingCallers, choose
from chappe.agents.models import QueueEvent
from chappe.agents.selectors import queue_snapshot
from chappe.agents.services.setup import (
    MemberDraft,
    pause_reason_create,
    queue_create,
    skill_create,
)
from chappe.agents.services.states import (
    agent_call_end,
    agent_connect,
    agent_feature_code,
    agent_offer,
    agent_rang_out,
    agent_state_set,
    agent_wrap_up_end,
    queue_caller_event,
)
from chappe.common.errors import Conflict, PermissionDenied, ServiceRefused
from tests.agents.conftest import actor_of

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def kinds(agent):
    return list(QueueEvent.objects.filter(agent=agent).values_list("kind", flat=True))


def set_state(agent, state, **kw):
    return agent_state_set(actor=actor_of(agent), account=agent.account, agent=agent,
                           state=state, **kw)


def test_login_pause_unpause_logout_are_timestamped_and_logged(make_agent, licences,
                                                               admin_actor):
    licences(1)
    agent = make_agent()
    lunch = pause_reason_create(actor=admin_actor, account=agent.account, name="Lunch")
    agent = set_state(agent, "available", now=T0)
    assert (agent.state, agent.state_changed_at) == (State.AVAILABLE, T0)
    agent = set_state(agent, "paused", pause_reason_id=lunch.pk, now=T0 + timedelta(minutes=1))
    assert (agent.state, agent.pause_reason) == (State.PAUSED, lunch)
    agent = set_state(agent, "available")
    agent = set_state(agent, "logged_out")
    assert kinds(agent) == ["login", "pause", "unpause", "logout"]
    pause = QueueEvent.objects.get(agent=agent, kind="pause")
    assert (pause.at, pause.details["reason"]) == (T0 + timedelta(minutes=1), "Lunch")


def test_logins_beyond_the_licences_are_refused_clearly(make_agent, licences):
    licences(2)
    first, second, third = make_agent(), make_agent(), make_agent()
    set_state(first, "available")
    set_state(second, "paused")  # paused agents hold a licence too
    with pytest.raises(Conflict) as refused:
        set_state(third, "available")
    assert refused.value.code == "licences_exhausted"
    assert "All 2 contact-center licences" in refused.value.message
    third.refresh_from_db()
    assert third.state == State.LOGGED_OUT
    assert kinds(third) == []
    set_state(first, "logged_out")
    assert set_state(third, "available").state == State.AVAILABLE


def test_the_licence_count_cannot_drop_below_the_agents_logged_in(make_agent, licences):
    licences(2)
    set_state(make_agent(), "available")
    set_state(make_agent(), "available")
    with pytest.raises(Conflict):
        licences(1)
    assert licences(5).licences == 5


def test_a_suspended_contact_center_refuses_logins(make_agent, licences):
    licences(3)
    agent = make_agent()
    service = Service.objects.get(account=agent.account, kind=ServiceKind.CONTACT_CENTER)
    service_suspend(actor=SYSTEM, service=service, reason="non_payment")
    with pytest.raises(ServiceRefused):
        set_state(agent, "available")


def test_agents_change_only_their_own_state_supervisors_anyones(make_agent, licences,
                                                                make_user):
    licences(3)
    mine, theirs = make_agent(), make_agent()
    with pytest.raises(PermissionDenied):
        agent_state_set(actor=actor_of(mine), account=mine.account, agent=theirs,
                        state="available")
    supervisor = Actor(account=mine.account, user=make_user(mine.account, role=Role.SUPERVISOR))
    agent = agent_state_set(actor=supervisor, account=mine.account, agent=theirs,
                            state="available")
    assert agent.state == State.AVAILABLE


def test_people_cannot_set_call_states(make_agent, licences):
    from chappe.common.errors import ValidationFailed

    licences(1)
    agent = set_state(make_agent(), "available")
    with pytest.raises(ValidationFailed):
        set_state(agent, "on_call")


def test_feature_codes_toggle_login_and_pause(make_agent, licences):
    licences(1)
    agent = make_agent()
    result = agent_feature_code(account=agent.account, agent=agent, code="*50")
    assert result.agent.state == State.AVAILABLE
    assert result.message == "You are available."
    assert agent_feature_code(account=agent.account, agent=result.agent,
                              code="*51").agent.state == State.PAUSED
    assert agent_feature_code(account=agent.account, agent=agent,
                              code="*51").agent.state == State.AVAILABLE
    assert agent_feature_code(account=agent.account, agent=agent,
                              code="*50").agent.state == State.LOGGED_OUT
    other = make_agent()
    agent_feature_code(account=agent.account, agent=other, code="*50")
    with pytest.raises(Conflict, match="licences"):
        agent_feature_code(account=agent.account, agent=agent, code="*50")


def test_a_call_through_the_engine_and_its_events(make_agent, licences, admin_actor):
    licences(1)
    agent = set_state(make_agent(wrap_up_seconds=15), "available", now=T0)
    queue = queue_create(actor=admin_actor, account=agent.account, fields={"name": "Sales"})
    account = agent.account
    queue_caller_event(account=account, queue=queue, kind="entered", call_id="c1",
                       details={"position": 1}, now=T0)
    agent = agent_offer(account=account, agent=agent, queue=queue, call_id="c1", now=T0)
    queue.refresh_from_db()
    assert agent.state == State.RINGING
    assert queue.last_agent == agent
    with pytest.raises(Conflict):  # never two offers at once
        agent_offer(account=account, agent=agent, queue=queue, call_id="c2", now=T0)
    agent = agent_connect(account=account, agent=agent, queue=queue, call_id="c1",
                          wait_seconds=4, now=T0 + timedelta(seconds=4))
    with pytest.raises(Conflict):
        set_state(agent, "logged_out")  # not in the middle of a call
    agent = agent_call_end(account=account, agent=agent, queue=queue, call_id="c1",
                           talk_seconds=60, now=T0 + timedelta(seconds=64))
    assert (agent.state, agent.calls_taken, agent.talk_seconds) == (State.WRAP_UP, 1, 60)
    with pytest.raises(Conflict):
        agent_wrap_up_end(account=account, agent=agent, now=T0 + timedelta(seconds=78))
    agent = agent_wrap_up_end(account=account, agent=agent, now=T0 + timedelta(seconds=79))
    assert agent.state == State.AVAILABLE
    events = QueueEvent.objects.filter(account=account).order_by("at", "id")
    assert [(e.kind, e.call_id) for e in events] == [
        ("login", ""), ("entered", "c1"), ("offered", "c1"), ("connected", "c1"),
        ("completed", "c1")]
    completed = events.get(kind="completed")
    assert completed.details == {"talk": 60, "wrap_up": 15}


def test_n_calls_rung_out_in_a_row_pause_the_agent(make_agent, licences, admin_actor):
    licences(1)
    agent = set_state(make_agent(max_no_answer=2), "available")
    queue = queue_create(actor=admin_actor, account=agent.account, fields={"name": "Help"})
    account = agent.account
    agent = agent_offer(account=account, agent=agent, queue=queue, call_id="c1")
    agent = agent_rang_out(account=account, agent=agent, queue=queue, call_id="c1")
    assert agent.state == State.AVAILABLE
    agent = agent_offer(account=account, agent=agent, queue=queue, call_id="c2")
    agent = agent_rang_out(account=account, agent=agent, queue=queue, call_id="c2")
    assert agent.state == State.PAUSED
    assert agent.paused_for_no_answer
    assert kinds(agent) == ["login", "offered", "rang_out", "offered", "rang_out", "pause"]
    pause = QueueEvent.objects.filter(agent=agent, kind="pause").get()
    assert pause.details["cause"] == "no_answer"
    # An answered call resets the count.
    agent = set_state(agent, "available")
    agent = agent_offer(account=account, agent=agent, queue=queue, call_id="c3")
    agent = agent_rang_out(account=account, agent=agent, queue=queue, call_id="c3")
    agent = agent_offer(account=account, agent=agent, queue=queue, call_id="c4")
    agent = agent_connect(account=account, agent=agent, queue=queue, call_id="c4",
                          wait_seconds=1)
    assert agent.no_answer_streak == 0


def test_queue_events_are_append_only(make_agent, licences):
    licences(1)
    agent = set_state(make_agent(), "available")
    event = QueueEvent.objects.get(agent=agent)
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_the_queue_snapshot_is_what_choose_needs(make_agent, licences, admin_actor):
    licences(2)
    account = admin_actor.account
    french = skill_create(actor=admin_actor, account=account, name="French")
    fluent = set_state(make_agent(skills={str(french.pk): 8}), "available")
    beginner = set_state(make_agent(skills={str(french.pk): 2}), "available")
    queue = queue_create(actor=admin_actor, account=account,
                         fields={"name": "FR", "max_wait_seconds": 90,
                                 "when_no_agent": "overflow"},
                         members=[MemberDraft(beginner.pk, 1, 0), MemberDraft(fluent.pk, 2, 1)],
                         skills={str(french.pk): 5})
    spec, members = queue_snapshot(queue=queue)
    assert (spec.required_skills, spec.max_wait_seconds, spec.overflow_when_no_agent) == \
        ((("French", 5),), 90, True)
    assert {(m.id, m.tier, m.skills["French"]) for m in members} == {
        (str(beginner.pk), 1, 2), (str(fluent.pk), 2, 8)}
    offers = choose(spec, WaitingCallers.of([Caller("c1", T0)]), members, T0)
    assert [o.agent_id for o in offers] == [str(fluent.pk)]


def test_a_deactivated_users_agent_holds_no_licence_and_gets_no_call(make_agent, licences,
                                                                      admin_actor):
    licences(1)
    leaving, staying = make_agent(), make_agent()
    queue = queue_create(actor=admin_actor, account=leaving.account, fields={"name": "Q"},
                         members=[MemberDraft(leaving.pk), MemberDraft(staying.pk)])
    set_state(leaving, "available")
    leaving.user.is_active = False
    leaving.user.save()
    _spec, members = queue_snapshot(queue=queue)
    assert [m.id for m in members] == [str(staying.pk)]
    assert set_state(staying, "available").state == State.AVAILABLE  # the licence is free
