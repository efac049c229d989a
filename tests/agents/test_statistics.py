"""Historical statistics (C-6; decision 0042): the KPI definitions on hand-built event
sequences with known answers — in Python (`fold`) and as the database's aggregate, which
must agree — and the API's figures."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from chappe.accounts.roles import Role
from chappe.agents import statistics as st
from chappe.agents.models import Queue, QueueEvent

PARIS = ZoneInfo("Europe/Paris")
# Monday 2 March 2026, 09:00 in Paris (08:00 UTC): never today's date.
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
T, S = 20, 5


def sequence(agent_id: str = "agent") -> list[tuple[int, str, str, dict]]:
    """(seconds after T0, call id, kind, details) — six callers and one refused:
    c1 answered exactly at T (within SL), c2 answered at T+1 then transferred by the agent,
    c3 abandoned inside the short threshold (4 s < S), c4 abandoned exactly at S (counted,
    within T), c5 abandoned outside T (30 s), c6 asked for a callback after 40 s, c7 refused
    at the door (queue full: overflowed, never offered)."""
    return [
        (0, "c1", "entered", {"position": 1}),
        (20, "c1", "connected", {"wait": 20}),
        (140, "c1", "completed", {"talk": 100, "hold": 5, "wrap_up": 10}),
        (1, "c2", "entered", {"position": 2}),
        (22, "c2", "connected", {"wait": 21}),
        (222, "c2", "completed", {"talk": 200, "wrap_up": 10}),
        (222, "c2", "transferred", {"target": "queue", "to": "Billing", "by_agent": agent_id}),
        (2, "c3", "entered", {}), (6, "c3", "abandoned", {"wait": 4, "cause": "caller_hangup"}),
        (3, "c4", "entered", {}), (8, "c4", "abandoned", {"wait": 5}),
        (4, "c5", "entered", {}), (34, "c5", "abandoned", {"wait": 30}),
        (5, "c6", "entered", {}), (45, "c6", "callback", {"position": 1, "wait": 40}),
        (9, "c7", "overflowed", {"when": "full", "target": "", "wait": 0}),
    ]


AGENT_KINDS = {"connected", "completed"}
EXPECTED = {
    "offered": 6, "answered": 2, "abandoned": 2, "short_abandoned": 1,
    "abandon_rate": 2 / 5,  # short abandons out of the offered
    "service_level": 1 / 2,  # c1 (wait = T) in, c2 (T + 1) out
    "service_level_with_abandons": (1 + 1) / (2 + 2),  # c1 and c4 / answered + abandoned
    "asa": (20 + 21) / 2,
    "average_wait": (20 + 21 + 4 + 5 + 30 + 40) / 6,
    "longest_wait": 40,
    "handled": 2, "talk_seconds": 300, "hold_seconds": 5, "wrap_up_seconds": 20,
    "aht": (100 + 5 + 10 + 200 + 10) / 2,
    "transfers": 1, "callbacks": 1, "overflowed": 1, "occupancy": None,
}


def _events(seq):
    return [SimpleNamespace(at=T0 + timedelta(seconds=s), call_id=c, kind=k, details=d)
            for s, c, k, d in sorted(seq, key=lambda e: e[0])]


def test_kpis_of_a_hand_built_sequence():
    figures = st.figures(st.fold(_events(sequence()), threshold=T, short_abandon=S))
    assert {k: v for k, v in vars(figures).items()} == EXPECTED


def test_the_thresholds_move_the_boundaries():
    # T = 19: c1 (20 s) falls out of the service level; S = 6: c4 (5 s) becomes short.
    figures = st.figures(st.fold(_events(sequence()), threshold=19, short_abandon=6))
    assert figures.service_level == 0
    assert (figures.abandoned, figures.short_abandoned) == (1, 2)
    assert figures.service_level_with_abandons == 0  # c5 abandoned at 30 s > T
    assert figures.abandon_rate == 1 / 4


def test_nothing_offered_gives_no_ratio():
    figures = st.figures(st.fold([]))
    assert figures.service_level is None
    assert figures.asa is None
    assert figures.aht is None
    assert figures.offered == 0


def test_staffed_time_and_occupancy():
    day = st.period_of_days(date(2026, 3, 2), date(2026, 3, 2), PARIS)
    at = datetime(2026, 3, 2, 8, tzinfo=PARIS)
    events = [SimpleNamespace(at=at + timedelta(minutes=m), kind=k)
              for m, k in ((0, "login"), (120, "pause"), (150, "unpause"), (240, "logout"))]
    assert st.staffed_seconds(events, start=day.start, end=day.end) == 3.5 * 3600
    # Logged in since the day before, logged out at 12:00: twelve hours of this day.
    assert st.staffed_seconds(events[-1:], start=day.start, end=day.end,
                              logged_in_at_start=True) == 12 * 3600
    c = st.fold(_events(sequence()))
    assert st.figures(c, staffed_seconds=3.5 * 3600).occupancy == 325 / (3.5 * 3600)


# --- the same answers from the database -------------------------------------------------


@pytest.fixture
def queue(account):
    account.timezone = "Europe/Paris"
    account.save(update_fields=["timezone"])
    return Queue.objects.create(account=account, name="Support")


def _write(account, queue, agent, seq, *, base=T0):
    for s, c, k, d in seq:
        QueueEvent.objects.create(account=account, queue=queue, call_id=c, kind=k,
                                  at=base + timedelta(seconds=s), details=d,
                                  agent=agent if k in AGENT_KINDS else None)


@pytest.mark.django_db
def test_the_database_aggregate_gives_the_same_answers(account, queue, make_agent):
    agent = make_agent()
    _write(account, queue, agent, sequence(str(agent.pk)))
    # Another queue's and another day's events stay out.
    other = Queue.objects.create(account=account, name="Sales")
    _write(account, other, None, sequence())
    _write(account, queue, None, sequence(), base=T0 + timedelta(days=1))
    rows = st.report(account=account, subject="queues", first=date(2026, 3, 2),
                     last=date(2026, 3, 2), threshold=T, short_abandon=S, ids=[queue.pk])
    assert len(rows) == 1
    assert rows[0].label == "Support"
    assert vars(rows[0].figures) == EXPECTED
    both = st.report(account=account, subject="queues", first=date(2026, 3, 2),
                     last=date(2026, 3, 3), threshold=T, short_abandon=S, group="day")
    assert sorted((r.label, r.bucket, r.figures.offered) for r in both) == [
        ("Sales", date(2026, 3, 2), 6), ("Support", date(2026, 3, 2), 6),
        ("Support", date(2026, 3, 3), 6)]


@pytest.mark.django_db
def test_periods_are_cut_in_the_account_time_zone(account, queue):
    # 23:30 UTC on Sunday 1 March is 00:30 on Monday 2 March in Paris.
    late = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    _write(account, queue, None, [(0, "x", "entered", {})], base=late)
    for group, bucket in (("day", date(2026, 3, 2)), ("hour", 0), ("weekday", 1)):
        rows = st.report(account=account, subject="queues", first=date(2026, 3, 2),
                         last=date(2026, 3, 2), group=group)
        assert [(r.bucket, r.figures.offered) for r in rows] == [(bucket, 1)], group
    assert st.report(account=account, subject="queues", first=date(2026, 3, 1),
                     last=date(2026, 3, 1)) == []


@pytest.mark.django_db
def test_agent_figures_with_occupancy_and_transfers(account, queue, make_agent):
    agent, _idle = make_agent(), make_agent()  # no events: no row
    _write(account, queue, agent, sequence(str(agent.pk)))
    for minutes, kind in ((-60, "login"), (60, "pause"), (90, "unpause")):
        QueueEvent.objects.create(account=account, agent=agent, kind=kind,
                                  at=T0 + timedelta(minutes=minutes))
    rows = st.report(account=account, subject="agents", first=date(2026, 3, 2),
                     last=date(2026, 3, 2), threshold=T, short_abandon=S)
    assert [r.key for r in rows] == [str(agent.pk)]
    f = rows[0].figures
    assert (f.answered, f.handled, f.aht, f.transfers, f.asa) == (2, 2, 162.5, 1, 20.5)
    # Logged in from 08:00 Paris to midnight (16 h) less half an hour paused.
    assert f.occupancy == pytest.approx(325 / (15.5 * 3600))


@pytest.mark.django_db
def test_number_figures_from_call_records(account):
    from chappe.callcenter.models import CallRecord

    def record(direction, frm, to, answered, seconds):
        CallRecord.objects.create(account=account, sip_call_id=f"{frm}{to}{seconds}",
                                  direction=direction, from_number=frm, to_number=to,
                                  started_at=T0, answered_at=T0 if answered else None,
                                  duration_seconds=seconds)

    record("outbound", "+33100000001", "+33600000001", True, 61)
    record("outbound", "+33100000001", "+33600000002", False, 0)
    record("inbound", "+33600000003", "+33100000001", True, 30)
    rows = st.report(account=account, subject="numbers", first=date(2026, 3, 2),
                     last=date(2026, 3, 2))
    assert [(r.key, r.outbound) for r in rows] == [("+33100000001", {
        "outbound_attempts": 2, "outbound_connected": 1, "outbound_talk_seconds": 61,
        "inbound_calls": 1, "inbound_answered": 1, "inbound_talk_seconds": 30})]


@pytest.mark.django_db
def test_api_returns_the_same_figures(account, queue, api_for, make_agent):
    _write(account, queue, make_agent(), sequence())
    query = {"start": "2026-03-02", "end": "2026-03-02", "threshold": T, "short_abandon": S}
    response = api_for(account, Role.SUPERVISOR).get("/api/v1/statistics/queues", query)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["timezone"] == "Europe/Paris"
    row = body["rows"][0]
    assert {k: row[k] for k in EXPECTED} == EXPECTED
    assert row["key"] == str(queue.pk)
    assert row["bucket"] is None
    hours = api_for(account).get("/api/v1/statistics/queues", {**query, "group": "hour"})
    assert [(r["bucket"], r["offered"]) for r in hours.json()["rows"]] == [(9, 6)]
    assert api_for(account, Role.AGENT).get("/api/v1/statistics/queues",
                                            query).status_code == 403
    bad = api_for(account).get("/api/v1/statistics/queues",
                               {**query, "start": "2026-03-03"})
    assert bad.status_code == 400


@pytest.mark.django_db
def test_one_queue_dashboard_matches_the_separate_cuts(account, queue, make_agent):
    agent = make_agent()
    _write(account, queue, agent, sequence(str(agent.pk)))
    _write(account, queue, agent, sequence(str(agent.pk)), base=T0 + timedelta(hours=30))
    period = st.period_of_days(date(2026, 3, 2), date(2026, 3, 8), PARIS)
    board = st.queue_dashboard(account_id=account.pk, queue_id=queue.pk, period=period,
                               threshold=T, short_abandon=S)
    for group in st.GROUPS:
        separate = st.queue_counts(account_id=account.pk, period=period, queue_ids=[queue.pk],
                                   group=group, threshold=T, short_abandon=S)
        assert [(rest[0] if rest else None, c) for (_q, *rest), c in separate] == board[group]
    assert [(b, c.offered) for b, c in board["hour"]] == [(9, 6), (15, 6)]
    assert st.figures(board["total"][0][1]).longest_wait == 40


# --- the web page ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_the_figures_charts_and_exports(account, queue, make_user, make_agent):
    import io

    from django.urls import reverse
    from openpyxl import load_workbook

    from tests.web.support import client_for

    _write(account, queue, make_agent(), sequence())
    web = client_for(make_user(account, role=Role.SUPERVISOR))
    url = reverse("web:statistics")
    query = {"start": "2026-03-02", "end": "2026-03-02", "subject": "queues",
             "group": "total", "threshold": T, "short_abandon": S, "queue": str(queue.pk)}
    page = web.get(url, query).content.decode()
    table = page[page.index('id="statistics-table"'):]
    # Offered 6, answered 2, SL 50 %, SL2 50 %, abandon rate 40 %, ASA 20.5 → "20 s"…
    for cell in ("<td>Support</td>", "<td>6</td>", "<td>50.0 %</td>", "<td>40.0 %</td>",
                 "<td>162 s</td>", "<td>40 s</td>"):
        assert cell in table, cell
    assert page.count("<svg") == 3  # per day, per hour, per day of the week: no script
    assert "<script" not in page[page.index("<svg"):page.rindex("</svg>")]
    csv = web.get(url, {**query, "format": "csv"})
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("key,label,bucket,offered,answered,abandoned")
    assert lines[1].startswith(f"{queue.pk},Support,,6,2,2,1,0.4,0.5,0.5,20.5,20.0,40,")
    xlsx = web.get(url, {**query, "format": "xlsx", "group": "hour"})
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:5] == (str(queue.pk), "Support", 9, 6, 2)
    # The first visit (no filters: this month up to today) answers too.
    assert web.get(url).status_code == 200
    # Agents and messaging users are refused; an end before the start is an error.
    assert client_for(make_user(account, role=Role.AGENT)).get(url, query).status_code == 403
    assert web.get(url, {**query, "end": "2026-03-01"}).context["form"].errors["end"]


@pytest.mark.django_db
def test_another_accounts_queue_is_not_charted(account, other_account, queue, make_user):
    other = Queue.objects.create(account=other_account, name="Theirs")
    _write(other_account, other, None, sequence())
    from django.urls import reverse

    from tests.web.support import client_for

    web = client_for(make_user(account, role=Role.ADMINISTRATOR))
    response = web.get(reverse("web:statistics"), {
        "start": "2026-03-02", "end": "2026-03-02", "threshold": T, "short_abandon": S,
        "queue": str(other.pk)})
    assert response.context["form"].errors["queue"]  # not one of the account's choices
    assert "Theirs" not in response.content.decode()
