"""The live wallboard's figures (C-6, C-7; decision 0042), read from what the voice engine
and the web role share — the database: the agents' rows (state and since when, written by
the engine through chappe.agents.services.states) and the append-only queue event log.

* per queue: callers waiting now and the longest wait (an `entered` with no later
  `connected`, `abandoned`, `overflowed` or `callback` of the same call in that queue),
  the queue's agents by state, and today's offered / answered / abandoned and service
  level (chappe.agents.statistics, today in the account's time zone);
* per agent: state and since when, the call they are on and since when, calls handled
  today.

`version` is the cheap question the stream asks a few times a second: the newest event
of the account and the newest agent state change. When it moves, `snapshot` is read again
and pushed."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, Max, Min, OuterRef

from chappe.agents import statistics as st
from chappe.agents.acd import State
from chappe.agents.models import Agent, Queue, QueueEvent, QueueEventKind, QueueMember

K = QueueEventKind
LEFT = (K.CONNECTED, K.ABANDONED, K.OVERFLOWED, K.CALLBACK)
# How far back a caller still waiting may have entered (no queue keeps one longer).
LONGEST_STAY = timedelta(hours=12)


def version(*, account_id: Any) -> tuple:
    last = QueueEvent.objects.filter(account_id=account_id).order_by("-at", "-id") \
        .values_list("id", flat=True).first()
    changed = Agent.objects.filter(account_id=account_id).aggregate(
        m=Max("state_changed_at"), n=Count("id"))
    return last, changed["m"], changed["n"]


def _today(account: Any, now: datetime) -> st.Period:
    tz = st.account_zone(account)
    day = now.astimezone(tz).date()
    return st.period_of_days(day, day, tz)


def _since(now: datetime, at: datetime | None) -> int | None:
    return None if at is None else max(int((now - at).total_seconds()), 0)


def snapshot(*, account: Any, now: datetime, threshold: int = st.DEFAULT_THRESHOLD,
             short_abandon: int = st.DEFAULT_SHORT_ABANDON) -> dict[str, Any]:
    today = _today(account, now)
    left = QueueEvent.objects.filter(account_id=account.pk, queue_id=OuterRef("queue_id"),
                                     call_id=OuterRef("call_id"), kind__in=LEFT,
                                     at__gte=OuterRef("at"))
    waiting = {row["queue_id"]: row for row in QueueEvent.objects.filter(
        account_id=account.pk, kind=K.ENTERED, at__gte=now - LONGEST_STAY,
        queue__isnull=False).exclude(Exists(left)).values("queue_id").order_by("queue_id")
        .annotate(n=Count("id"), first=Min("at"))}
    counts = st.queue_totals(account_id=account.pk, period=today, threshold=threshold,
                             short_abandon=short_abandon)
    by_state: dict[Any, dict[str, int]] = {}
    for row in QueueMember.objects.filter(account_id=account.pk) \
            .values("queue_id", "agent__state").order_by().annotate(n=Count("id")):
        by_state.setdefault(row["queue_id"], {})[row["agent__state"]] = row["n"]
    queues = []
    for queue in Queue.objects.filter(account_id=account.pk).order_by("name"):
        f = st.figures(counts.get(queue.pk, st.Counts()))
        wait = waiting.get(queue.pk, {})
        queues.append({
            "id": str(queue.pk), "name": queue.name, "waiting": wait.get("n", 0),
            "longest_wait": _since(now, wait.get("first")) or 0,
            "agents": {s.value: by_state.get(queue.pk, {}).get(s.value, 0) for s in State},
            "offered": f.offered, "answered": f.answered, "abandoned": f.abandoned,
            "service_level": f.service_level})
    handled = dict(QueueEvent.objects.filter(
        account_id=account.pk, kind=K.COMPLETED, at__gte=today.start, at__lt=today.end,
        agent__isnull=False).values("agent_id").order_by("agent_id")
        .annotate(n=Count("id")).values_list("agent_id", "n"))
    agents_rows = list(Agent.objects.filter(account_id=account.pk).select_related("user")
                       .order_by("extension"))
    on_call = [a.pk for a in agents_rows if a.state == State.ON_CALL]
    calls = {}
    for event in QueueEvent.objects.filter(account_id=account.pk, agent_id__in=on_call,
                                           kind=K.CONNECTED, at__gte=now - LONGEST_STAY) \
            .order_by("agent_id", "at", "id"):
        calls[event.agent_id] = event  # the last one wins
    agents = []
    for agent in agents_rows:
        call = calls.get(agent.pk) if agent.state == State.ON_CALL else None
        agents.append({
            "id": str(agent.pk), "extension": agent.extension, "name": agent.user.email,
            "state": agent.state, "in_state": _since(now, agent.state_changed_at),
            "call": call.call_id if call else None,
            "call_seconds": _since(now, call.at) if call else None,
            "handled_today": handled.get(agent.pk, 0)})
    return {"at": now.isoformat(), "queues": queues, "agents": agents}


def live_calls(*, account: Any, now: datetime) -> list[dict[str, Any]]:
    """The account's queue calls going on now, from the log: callers waiting (an `entered`
    not yet followed by a leaving event in its queue) and calls an agent is on (a
    `connected` not yet followed by the agent's `completed`). Calls that never reach a
    queue (a flow's menu, a voicemail) are in the engine only: not listed here."""
    left = QueueEvent.objects.filter(account_id=account.pk, queue_id=OuterRef("queue_id"),
                                     call_id=OuterRef("call_id"), kind__in=LEFT,
                                     at__gte=OuterRef("at"))
    done = QueueEvent.objects.filter(account_id=account.pk, agent_id=OuterRef("agent_id"),
                                     call_id=OuterRef("call_id"), kind=K.COMPLETED,
                                     at__gte=OuterRef("at"))
    since = now - LONGEST_STAY
    calls = [{"call_id": e.call_id, "state": "waiting", "queue_id": str(e.queue_id),
              "agent_id": None, "since": e.at.isoformat(), "seconds": _since(now, e.at)}
             for e in QueueEvent.objects.filter(account_id=account.pk, kind=K.ENTERED,
                                                at__gte=since, queue__isnull=False)
             .exclude(Exists(left)).order_by("at", "id")]
    calls += [{"call_id": e.call_id, "state": "talking",
               "queue_id": str(e.queue_id) if e.queue_id else None,
               "agent_id": str(e.agent_id), "since": e.at.isoformat(),
               "seconds": _since(now, e.at)}
              for e in QueueEvent.objects.filter(account_id=account.pk, kind=K.CONNECTED,
                                                 at__gte=since, agent__isnull=False)
              .exclude(Exists(done)).order_by("at", "id")]
    return calls


def originated_live(calls: list[dict[str, Any]], *, now: datetime) -> list[dict[str, Any]]:
    """The engine's calls placed by the API (`services.calls.originated_calls`) in the
    shape of `live_calls`: an agent talking to the customer they asked to call."""
    out = []
    for call in sorted(calls, key=lambda c: c["since"]):
        since = datetime.fromtimestamp(float(call["since"]), tz=UTC)
        out.append({"call_id": str(call["call_id"]), "state": "talking", "queue_id": None,
                    "agent_id": str(call["agent_id"]), "since": since.isoformat(),
                    "seconds": _since(now, since), "direction": "outbound"})
    return out
