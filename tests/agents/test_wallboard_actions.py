"""A supervisor acting from the wallboard (C-7; decision 0047): forcing an agent's state,
joining a call (the engine's answer through its command port), and the board's cost in
queries not growing with its agents."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chappe.accounts.roles import Role
from chappe.agents import wallboard
from chappe.agents.models import Agent, Queue, QueueEvent, QueueMember
from chappe.agents.services.states import agent_state_set
from tests.agents.conftest import actor_of
from tests.ports import free_port
from tests.web.support import client_for

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _queries(account) -> int:
    with CaptureQueriesContext(connection) as captured:
        wallboard.snapshot(account=account, now=NOW)
    return len(captured)


@pytest.mark.django_db
def test_the_board_reads_in_as_many_queries_for_forty_agents_as_for_two(account,
                                                                       make_agent):
    queue = Queue.objects.create(account=account, name="Support")

    def add(count: int) -> None:
        for n in range(count):
            agent = make_agent()
            Agent.objects.filter(pk=agent.pk).update(
                state="on_call", state_changed_at=NOW - timedelta(seconds=60))
            QueueMember.objects.create(account=account, queue=queue, agent=agent)
            QueueEvent.objects.create(account=account, queue=queue, agent=agent,
                                      call_id=f"c{agent.pk}", kind="connected",
                                      at=NOW - timedelta(seconds=30 + n))

    add(2)
    few = _queries(account)
    add(38)
    assert _queries(account) == few
    assert len(wallboard.snapshot(account=account, now=NOW)["agents"]) == 40


@pytest.mark.django_db
def test_a_supervisor_pauses_then_logs_out_an_agent_from_the_board(account, make_user,
                                                                  make_agent, licences):
    licences(1)
    agent = make_agent()
    agent_state_set(actor=actor_of(agent), account=account, agent=agent, state="available")
    web = client_for(make_user(account, role=Role.SUPERVISOR))
    page = web.get(reverse("web:wallboard")).content.decode()
    assert 'id="wallboard-actions"' in page  # the buttons' labels, for the script
    url = reverse("web:agent_state", kwargs={"agent_id": agent.pk})
    for state in ("paused", "logged_out"):
        answer = web.post(url, {"state": state, "back": "wallboard"})
        assert answer.status_code == 302
        assert answer["Location"] == reverse("web:wallboard")
        agent.refresh_from_db()
        assert agent.state == state


@pytest.mark.django_db
def test_agents_get_no_buttons_and_cannot_join_calls(account, make_user):
    web = client_for(make_user(account, role=Role.AGENT))
    url = reverse("web:wallboard_supervise", kwargs={"call_id": "c1"})
    assert web.post(url, {"mode": "listen"}).status_code == 403


@pytest.mark.django_db
def test_joining_a_call_the_engine_does_not_hold_says_so(account, make_user, settings):
    settings.CHAPPE_VOICE_CONTROL_PORT = free_port()  # no engine there
    web = client_for(make_user(account, role=Role.SUPERVISOR))
    url = reverse("web:wallboard_supervise", kwargs={"call_id": "c1"})
    answer = web.post(url, {"mode": "listen"}, follow=True)
    assert answer.redirect_chain[-1][0] == reverse("web:wallboard")
    assert "voice engine cannot be reached" in answer.content.decode()


@pytest.mark.django_db
def test_the_api_sets_an_agents_state_with_put(account, api_for, make_agent, licences):
    licences(1)
    agent = make_agent()
    path = f"/api/v1/agents/{agent.pk}/state"
    supervisor = api_for(account, Role.SUPERVISOR)
    assert supervisor.request("put", path, {"state": "available"}).json()["state"] == \
        "available"
    assert supervisor.request("put", path, {"state": "logged_out"}).json()["state"] == \
        "logged_out"
    refused = supervisor.request("put", path, {"state": "on_call"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "validation_error"
