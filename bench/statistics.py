"""Historical statistics benchmark (issue 16, decision 0042): a month of N calls' queue
events — the dashboard of one queue for that month, computed in the database.

    .venv/bin/python bench/statistics.py                      # 1,000,000 calls, 10 queues
    .venv/bin/python bench/statistics.py --queues 1           # every call in the one queue

PostgreSQL only (a fresh database on 127.0.0.1:5432, dropped at the end). The events are
written by INSERT … SELECT over generate_series (what the engine would have appended over
the month, March 2026): each call enters one of the queues at an even pace; 85 % are
answered (connected, then completed with talk, hold and wrap-up; one in 50 transferred),
10 % abandoned, 5 % called back; waits 0-119 s. Then it times, three times (the first cold),
`queue_dashboard` for one queue: total, per day, per hour of the day and per day of the
week — after rolling the month up (chappe.agents.rollups: whole hours from the rollups,
the period's edges from the log; checked equal to the log alone, timed once) — and each
cut alone through `queue_counts`. Prints the figures
and the best and worst times; the target is ≤ 2 s.
"""

import argparse
import time

from throwaway import throwaway_platform

MONTH_SECONDS = 31 * 86400


def _write(account_id, queue_ids: list[str], calls: int) -> float:
    from django.db import connection

    from chappe.agents.models import QueueEvent

    table = QueueEvent._meta.db_table
    queues = "ARRAY[" + ",".join(f"'{q}'::uuid" for q in queue_ids) + "]"
    n = len(queue_ids)
    started = time.perf_counter()
    call = (f"SELECT i, "  # noqa: S608 (numbers and uuids of this script only)
            f"(%(start)s::timestamptz + make_interval(secs => i::float8 * "
            f"{MONTH_SECONDS} / {calls})) AS t, ({queues})[1 + i %% {n}] AS q, "
            f"(i::bigint * 7919 %% 1000003) %% 120 AS w, "
            f"(i::bigint * 2654435761 %% 1000003) %% 20 AS o "
            f"FROM generate_series(0, {calls - 1}) AS g(i)")
    inserts = [
        ("'entered'", "t", "jsonb_build_object('position', 1 + i %% 7)", "true"),
        ("'connected'", "t + make_interval(secs => w)", "jsonb_build_object('wait', w)",
         "o < 17"),
        ("'completed'", "t + make_interval(secs => w + 60 + i %% 240)",
         "jsonb_build_object('talk', 60 + i %% 240, 'hold', (i %% 3) * 10, 'wrap_up', 10)",
         "o < 17"),
        ("'transferred'", "t + make_interval(secs => w + 60 + i %% 240)",
         "jsonb_build_object('target', 'queue', 'to', 'Sales', 'by_agent', '')",
         "o < 17 AND i %% 50 = 0"),
        ("'abandoned'", "t + make_interval(secs => w)",
         "jsonb_build_object('wait', w, 'position', 1, 'cause', 'caller_hangup')",
         "o IN (17, 18)"),
        ("'callback'", "t + make_interval(secs => w)",
         "jsonb_build_object('wait', w, 'position', 1)", "o = 19"),
    ]
    with connection.cursor() as cursor:
        for kind, at, details, where in inserts:
            cursor.execute(
                f"INSERT INTO {table} (account_id, at, kind, queue_id, call_id, details) "  # noqa: S608
                f"SELECT %(account)s, {at}, {kind}, q, 'call-' || i, {details} "
                f"FROM ({call}) AS c WHERE {where}",
                {"account": account_id, "start": "2026-03-01T00:00:00+01:00"})
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        rows = cursor.fetchone()[0]
    print(f"wrote {rows:,} events of {calls:,} calls in {len(queue_ids)} queue(s) in "
          f"{time.perf_counter() - started:.1f} s")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--queues", type=int, default=10)
    args = parser.parse_args()
    with throwaway_platform(postgres=True, database_prefix="chappe_helper_statistics"):
        run(args)


def run(args: argparse.Namespace) -> None:
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from chappe.accounts.actor import SYSTEM
    from chappe.accounts.services import account_create
    from chappe.agents import rollups
    from chappe.agents import statistics as st
    from chappe.agents.models import Queue, QueueHour

    account = account_create(actor=SYSTEM, name="Bench")
    queues = [Queue.objects.create(account=account, name=f"Queue {i}")
              for i in range(args.queues)]
    _write(account.pk, [str(q.pk) for q in queues], args.calls)
    started = time.perf_counter()
    hours = rollups.rollups_run(now=datetime(2026, 4, 2, tzinfo=UTC), batch=100_000)
    print(f"rolled up {hours} hours of the log ({QueueHour.objects.count():,} queue-hours) "
          f"in {time.perf_counter() - started:.1f} s")
    period = st.period_of_days(date(2026, 3, 1), date(2026, 3, 31), ZoneInfo("Europe/Paris"))
    started = time.perf_counter()
    from_log = st.queue_dashboard(account_id=account.pk, queue_id=queues[0].pk,
                                  period=period, rollups=False)
    print(f"dashboard from the log alone: {time.perf_counter() - started:.3f} s")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        board = st.queue_dashboard(account_id=account.pk, queue_id=queues[0].pk,
                                   period=period)
        timings.append(time.perf_counter() - started)
    assert board == from_log, "the rollups and the log disagree"
    f = st.figures(board["total"][0][1])
    print(f"queue 1 of {args.queues}, March 2026: offered {f.offered:,}, answered "
          f"{f.answered:,}, abandoned {f.abandoned:,} (+{f.short_abandoned:,} short), "
          f"SL {f.service_level:.3f}, SL2 {f.service_level_with_abandons:.3f}, ASA "
          f"{f.asa:.1f} s, longest wait {f.longest_wait} s, AHT {f.aht:.1f} s, transfers "
          f"{f.transfers:,}, callbacks {f.callbacks:,}; {len(board['day'])} days, "
          f"{len(board['hour'])} hours, {len(board['weekday'])} weekdays")
    print(f"dashboard (total + day + hour + weekday; whole hours from the rollups, the "
          f"edges from the log): best "
          f"{min(timings):.3f} s, worst {max(timings):.3f} s (first run cold) — target 2 s")
    for group in st.GROUPS:
        started = time.perf_counter()
        st.queue_counts(account_id=account.pk, period=period, queue_ids=[queues[0].pk],
                        group=group)
        print(f"  {group} alone: {time.perf_counter() - started:.3f} s")
    started = time.perf_counter()
    st.queue_counts(account_id=account.pk, period=period)
    print(f"every queue's month (total): {time.perf_counter() - started:.3f} s")
    _wallboard(account, queues)


def _wallboard(account, queues) -> None:
    """The live wallboard of the same account on 31 March at 20:00 (a day of the month's
    events behind it) with 200 agents in the queues and 500 callers waiting: the time
    from an event written to the snapshot the stream pushes is at most one poll plus
    `version` plus `snapshot`."""
    from datetime import UTC, datetime, timedelta

    from chappe.accounts.models import User
    from chappe.agents import wallboard
    from chappe.agents.models import Agent, QueueEvent, QueueMember
    from chappe.web.views.statistics import POLL_SECONDS

    now = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)
    users = User.objects.bulk_create(
        User(email=f"agent{i}@bench.example", account=account, role="agent", password="!")
        for i in range(200))
    states = ["available", "on_call", "wrap_up", "paused", "ringing"]
    agents = Agent.objects.bulk_create(
        Agent(account=account, user=u, extension=str(1000 + i), sip_username=f"bench{i}",
              sip_password="x", state=states[i % 5],
              state_changed_at=now - timedelta(seconds=i)) for i, u in enumerate(users))
    QueueMember.objects.bulk_create(QueueMember(account=account, queue=q, agent=a)
                                    for a in agents for q in queues[:3])
    QueueEvent.objects.bulk_create(
        QueueEvent(account=account, queue=queues[i % len(queues)], kind="entered",
                   at=now - timedelta(seconds=i % 300), call_id=f"waiting-{i}")
        for i in range(500))
    timings = []
    for i in range(3):
        started = time.perf_counter()
        wallboard.version(account_id=account.pk)
        board = wallboard.snapshot(account=account, now=now)
        timings.append(time.perf_counter() - started)
        QueueEvent.objects.create(account=account, queue=queues[0], kind="entered",
                                  at=now, call_id=f"new-{i}")
    waiting = sum(q["waiting"] for q in board["queues"])
    print(f"wallboard, 200 agents and {waiting} callers waiting, {len(board['queues'])} "
          f"queues: version + snapshot best {min(timings):.3f} s, worst {max(timings):.3f} s; "
          f"an event reaches the page within {POLL_SECONDS + max(timings):.2f} s "
          f"(poll {POLL_SECONDS} s + read; target 1 s)")


if __name__ == "__main__":
    main()
