"""The live wallboard (decision 0042): its figures from the agents' rows and the queue log
at a frozen instant, and the server-sent events pushed when the engine writes."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from chappe.accounts.roles import Role
from chappe.agents import wallboard
from chappe.agents.models import Agent, Queue, QueueEvent, QueueMember
from chappe.agents.services.states import queue_caller_event
from chappe.web.views.statistics import wallboard_frames
from tests.web.support import client_for

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # 11:00 in Paris


@pytest.fixture
def board_setup(account, make_agent):
    queue = Queue.objects.create(account=account, name="Hotline Zephyr")
    busy, free = make_agent(), make_agent()
    for agent, state, since in ((busy, "on_call", 90), (free, "available", 300)):
        Agent.objects.filter(pk=agent.pk).update(
            state=state, state_changed_at=NOW - timedelta(seconds=since))
        QueueMember.objects.create(account=account, queue=queue, agent=agent)

    def event(seconds_ago, call, kind, details=None, agent=None):
        QueueEvent.objects.create(account=account, queue=queue, call_id=call, kind=kind,
                                  at=NOW - timedelta(seconds=seconds_ago),
                                  details=details or {}, agent=agent)

    # Yesterday's call (out of today's counts), three today: one answered after 10 s and
    # talking since 90 s, one abandoned after 30 s, two still waiting (45 s and 12 s).
    event(86400, "old", "entered")
    event(86390, "old", "abandoned", {"wait": 10})
    event(100, "a", "entered")
    event(90, "a", "connected", {"wait": 10}, agent=busy)
    event(400, "b", "entered")
    event(370, "b", "abandoned", {"wait": 30})
    event(45, "w1", "entered")
    event(12, "w2", "entered")
    event(2000, "done", "entered")
    event(1990, "done", "connected", {"wait": 10}, agent=free)
    event(1900, "done", "completed", {"talk": 90, "wrap_up": 0}, agent=free)
    return queue, busy, free


@pytest.mark.django_db
def test_the_figures_of_a_queue_and_its_agents(account, board_setup):
    _queue, busy, free = board_setup
    board = wallboard.snapshot(account=account, now=NOW)
    [q] = board["queues"]
    assert (q["waiting"], q["longest_wait"]) == (2, 45)
    assert (q["offered"], q["answered"], q["abandoned"]) == (5, 2, 1)
    assert q["service_level"] == 1.0
    assert q["agents"]["on_call"] == 1
    assert q["agents"]["available"] == 1
    agents = {a["id"]: a for a in board["agents"]}
    assert (agents[str(busy.pk)]["call"], agents[str(busy.pk)]["call_seconds"]) == ("a", 90)
    assert agents[str(busy.pk)]["in_state"] == 90
    assert (agents[str(free.pk)]["call"], agents[str(free.pk)]["handled_today"]) == (None, 1)


@pytest.mark.django_db
def test_an_event_is_pushed_at_the_next_poll(account, board_setup):
    queue, _busy, _free = board_setup
    elapsed = [0.0]
    polls = []

    def sleep(seconds):  # the engine writes while the stream waits
        elapsed[0] += seconds
        polls.append(1)
        if len(polls) == 2:
            queue_caller_event(account=account, queue=queue, kind="entered", call_id="w3",
                               details={}, now=NOW - timedelta(seconds=1))

    frames = wallboard_frames(account, clock=lambda: elapsed[0], sleep=sleep, limit=1.0,
                              now=lambda: NOW)
    out = list(frames)
    snapshots = [f for f in out if f.startswith("event: snapshot")]
    assert out[0] == "retry: 1000\n\n"
    assert len(snapshots) == 2  # the first, then the one the new caller caused
    assert '"waiting":2' in snapshots[0]
    assert '"waiting":3' in snapshots[1]
    assert len(polls) == 5  # a poll every 0.2 s for the second; nothing sent when still


@pytest.mark.django_db
def test_supervisors_and_administrators_only(account, make_user, board_setup):
    page = client_for(make_user(account, role=Role.SUPERVISOR)).get(reverse("web:wallboard"))
    assert page.status_code == 200
    assert "Hotline Zephyr" in page.content.decode()
    for role in (Role.AGENT, Role.MESSAGING_USER):
        web = client_for(make_user(account, role=role))
        assert web.get(reverse("web:wallboard")).status_code == 403
        assert web.get(reverse("web:wallboard_stream")).status_code == 403


@pytest.mark.django_db
def test_another_account_sees_nothing_of_it(other_account, make_user, board_setup):
    web = client_for(make_user(other_account, role=Role.ADMINISTRATOR))
    assert "Hotline Zephyr" not in web.get(reverse("web:wallboard")).content.decode()
    board = wallboard.snapshot(account=other_account, now=NOW)
    assert board["queues"] == []
    assert board["agents"] == []


@pytest.mark.django_db
def test_live_calls_waiting_and_talking(account, board_setup):
    _queue, busy, _free = board_setup
    calls = wallboard.live_calls(account=account, now=NOW)
    assert [(c["call_id"], c["state"], c["seconds"]) for c in calls] == [
        ("w1", "waiting", 45), ("w2", "waiting", 12), ("a", "talking", 90)]
    assert calls[2]["agent_id"] == str(busy.pk)


@pytest.mark.django_db
def test_live_calls_api(account, api_for, board_setup):
    _queue, _busy, _free = board_setup
    QueueEvent.objects.filter(account=account).update(at=timezone.now())  # the API's clock
    calls = api_for(account, Role.SUPERVISOR).get("/api/v1/live-calls").json()
    assert sorted(c["call_id"] for c in calls) == ["a", "w1", "w2"]
    assert api_for(account, Role.AGENT).get("/api/v1/live-calls").status_code == 403


@pytest.mark.django_db
def test_live_calls_api_lists_the_calls_the_api_placed(account, other_account, api_for,
                                                      board_setup, settings):
    """Calls placed by `POST /api/v1/calls` are in the engine only (decision 0047): the
    list asks it, keeping the account's own and those the queue log does not know."""
    from tests.tenancy.calls import _Engine

    _queue, busy, _free = board_setup
    QueueEvent.objects.filter(account=account).update(at=timezone.now())
    engine = _Engine()
    settings.CHAPPE_VOICE_CONTROL_PORT = engine.port
    engine.add(str(account.pk), "placed-1", agent_id=str(busy.pk))
    engine.add(str(account.pk), "a", origin="queue")  # the log's call "a", bridged
    engine.add(str(other_account.pk), "theirs")
    api = api_for(account, Role.SUPERVISOR)
    calls = {c["call_id"]: c for c in api.get("/api/v1/live-calls").json()}
    assert sorted(calls) == ["a", "placed-1", "w1", "w2"]
    assert (calls["placed-1"]["direction"], calls["placed-1"]["state"]) == ("outbound",
                                                                            "talking")
    assert calls["placed-1"]["agent_id"] == str(busy.pk)
    assert calls["placed-1"]["seconds"] >= 0
    assert calls["a"]["direction"] == "inbound"
    theirs = api_for(other_account, Role.SUPERVISOR).get("/api/v1/live-calls").json()
    assert [c["call_id"] for c in theirs] == ["theirs"]


@pytest.mark.django_db
def test_live_calls_without_the_engine_are_the_queue_log_s(account, api_for, board_setup,
                                                           settings):
    from tests.ports import free_port

    QueueEvent.objects.filter(account=account).update(at=timezone.now())
    settings.CHAPPE_VOICE_CONTROL_PORT = free_port()  # nothing listens there
    calls = api_for(account, Role.SUPERVISOR).get("/api/v1/live-calls")
    assert calls.status_code == 200
    assert sorted(c["call_id"] for c in calls.json()) == ["a", "w1", "w2"]


@pytest.mark.django_db(transaction=True)
def test_the_asgi_stream_pushes_the_same_snapshot(account):
    import asyncio

    from chappe.web.views.statistics import wallboard_frames_async

    Queue.objects.create(account=account, name="Hotline Zephyr")

    async def collect():
        return [frame async for frame in wallboard_frames_async(account, limit=0.1)]

    frames = asyncio.run(collect())
    assert frames[0] == "retry: 1000\n\n"
    [snapshot] = [f for f in frames if f.startswith("event: snapshot")]
    assert '"name":"Hotline Zephyr"' in snapshot
