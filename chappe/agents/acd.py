"""Automatic call distribution: which waiting caller rings which agent, now (C-4).

A pure function over plain data — no Django, no I/O, no clock (`now` is given), no
process-salted hash — so the same inputs always give the same offers and every rule is
unit- and property-tested (tests/agents/test_acd.py). The voice engine asks it (through its
directory) whenever something changes in a queue — a caller enters, an agent becomes
available, a ring times out, a caller's wait crosses a tier's escalation — and applies the
offers it returns (rings the agents, moves them to `ringing` through the services).

    waiting = WaitingCallers.of([Caller(id="c1", entered_at=t0, priority=5), …])
    offers = choose(queue, waiting, members, now)

The rules, in the order they apply:

1. **Callers in queue order**: higher `priority` first, then the longest waiting, then by
   id (`WaitingCallers` keeps them sorted as they come and go, so a call does not sort
   10,000 callers). A caller whose call already rings an agent gets no new offer, except
   under ring-all where newly opened tiers and newly free agents join the ringing.
2. **Only free agents**: state `available` and not before their `ready_at` (wrap-up
   honoured); ringing, on a call, in wrap-up, paused or logged out: never offered. Each
   agent gets at most one offer per call.
3. **Skills**: an agent qualifies for a caller when it holds every skill the queue (and
   the caller, e.g. from an IVR branch) requires, at the minimum level or above.
4. **Tiers**: agents of a lower tier level are always preferred. Tier `t` is open to a
   caller when no agent of a lower tier is ringing for that caller (the lower tiers are
   busy: escalate at once) or when the caller has waited `escalation_seconds * (t - 1)`
   (the lower tiers ring without answering: add the next one after N seconds), as
   FreeSWITCH mod_callcenter's tier rules with `tier-rule-no-agent-no-wait`.
5. **Strategy** orders the free agents of one tier: ring-all (every one, to one caller),
   longest-idle, round-robin with memory (the next after the last one offered),
   fewest calls, least talk time, linear (by position), random (seeded from the queue and
   `now`: deterministic, uniform across calls).
"""

import bisect
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from operator import attrgetter


class Overflow(StrEnum):
    """Why a caller leaves a queue for its overflow target (closed hours are decided by
    the queue's opening hours, before a caller enters)."""

    TIMEOUT = "timeout"
    NO_AGENT = "no_agent"
    FULL = "full"


class Strategy(StrEnum):
    RING_ALL = "ring_all"
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    LEAST_TALK_TIME = "least_talk_time"
    LINEAR = "linear"
    RANDOM = "random"


class State(StrEnum):
    # Not taking calls; holds no licence (C-8).
    LOGGED_OUT = "logged_out"
    # Logged in and free: may be offered a call.
    AVAILABLE = "available"
    # A call is offered and rings their phones.
    RINGING = "ringing"
    # Talking to a caller.
    ON_CALL = "on_call"
    # After-call work: not offered until it ends.
    WRAP_UP = "wrap_up"
    # Logged in (holds a licence) but not taking calls, with a reason.
    PAUSED = "paused"


Skills = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class QueueSpec:
    id: str
    strategy: Strategy
    # Seconds a caller waits on a ringing lower tier before the next tier joins.
    escalation_seconds: int = 0
    required_skills: Skills = ()
    ring_timeout_seconds: int = 20
    # Round-robin memory: the member offered last in this queue.
    last_agent_id: str | None = None
    # Limits (0: none) and whether callers leave at once when no agent is logged in.
    max_wait_seconds: int = 0
    max_length: int = 0
    overflow_when_no_agent: bool = False


@dataclass(frozen=True, slots=True)
class Member:
    """An agent as a member of the queue being served."""

    id: str
    state: State
    tier: int = 1
    position: int = 0
    skills: Mapping[str, int] = field(default_factory=dict)
    # Wrap-up ends then: not offered before.
    ready_at: datetime | None = None
    # Free since (end of the last call, or login): longest-idle picks the oldest.
    idle_since: datetime | None = None
    calls_taken: int = 0
    talk_seconds: int = 0


@dataclass(frozen=True, slots=True)
class Caller:
    id: str
    entered_at: datetime
    priority: int = 0
    # Skills this caller needs on top of the queue's (an IVR branch, a CRM answer).
    required_skills: Skills = ()
    # Agents ringing for this caller now.
    ringing: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Offer:
    caller_id: str
    agent_id: str
    tier: int
    ring_timeout_seconds: int


def _caller_rank(caller: Caller) -> tuple:
    return (-caller.priority, caller.entered_at, caller.id)


class WaitingCallers:
    """A queue's waiting callers, kept in queue order as they enter and leave (the engine
    holds one per queue; `choose` only reads it)."""

    __slots__ = ("_callers", "_ranks")

    def __init__(self) -> None:
        self._ranks: list[tuple] = []
        self._callers: list[Caller] = []

    @classmethod
    def of(cls, callers: Iterable[Caller]) -> "WaitingCallers":
        waiting = cls()
        ordered = sorted(callers, key=_caller_rank)
        waiting._callers = ordered
        waiting._ranks = [_caller_rank(c) for c in ordered]
        if len(set(waiting._ranks)) != len(ordered):
            raise ValueError("a caller is waiting twice")
        return waiting

    def add(self, caller: Caller) -> None:
        rank = _caller_rank(caller)
        at = bisect.bisect_left(self._ranks, rank)
        if at < len(self._ranks) and self._ranks[at] == rank:
            raise ValueError(f"caller {caller.id} is already waiting")
        self._ranks.insert(at, rank)
        self._callers.insert(at, caller)

    def remove(self, caller: Caller) -> None:
        at = bisect.bisect_left(self._ranks, _caller_rank(caller))
        if at == len(self._ranks) or self._callers[at].id != caller.id:
            raise KeyError(caller.id)
        del self._ranks[at]
        del self._callers[at]

    def __iter__(self) -> Iterator[Caller]:
        return iter(self._callers)

    def __len__(self) -> int:
        return len(self._callers)


def _qualifies(member: Member, skills: Skills) -> bool:
    held = member.skills
    return all(held.get(name, 0) >= level for name, level in skills)



def _ordered(queue: QueueSpec, free: list[Member], agents: Sequence[Member],
             now: datetime) -> list[Member]:
    """The free members in offer order: tier first, then the queue's strategy."""
    strategy = queue.strategy
    if strategy in (Strategy.LONGEST_IDLE, Strategy.RING_ALL):
        def key(m: Member) -> tuple:
            idle = m.idle_since
            return (m.tier, idle is not None, idle.timestamp() if idle else 0.0, m.id)
    elif strategy == Strategy.ROUND_ROBIN:
        # The members after the one offered last (by position), then from the top again.
        last = next(((m.position, m.id) for m in agents if m.id == queue.last_agent_id), None)

        def key(m: Member) -> tuple:
            place = (m.position, m.id)
            return (m.tier, last is not None and place <= last, place)
    elif strategy == Strategy.FEWEST_CALLS:
        def key(m: Member) -> tuple:
            return (m.tier, m.calls_taken, m.position, m.id)
    elif strategy == Strategy.LEAST_TALK_TIME:
        def key(m: Member) -> tuple:
            return (m.tier, m.talk_seconds, m.position, m.id)
    elif strategy == Strategy.LINEAR:
        def key(m: Member) -> tuple:
            return (m.tier, m.position, m.id)
    elif strategy == Strategy.RANDOM:
        shuffled = sorted(free, key=attrgetter("id"))
        # Seeded from the inputs: the same call draws the same; not a secret (S311).
        random.Random(f"{queue.id}|{now.isoformat()}").shuffle(shuffled)  # noqa: S311
        draw = {m.id: i for i, m in enumerate(shuffled)}

        def key(m: Member) -> tuple:
            return (m.tier, draw[m.id])
    else:  # pragma: no cover - the enum is closed
        raise ValueError(strategy)
    return sorted(free, key=key)


class _Pool:
    """The free members one skill requirement admits, in offer order, consumed as offers
    are made (a head index skips the taken ones: no rescans)."""

    __slots__ = ("head", "members")

    def __init__(self, members: list[Member]) -> None:
        self.members = members
        self.head = 0

    def exhausted(self, taken: set[str]) -> bool:
        members, head = self.members, self.head
        while head < len(members) and members[head].id in taken:
            head += 1
        self.head = head
        return head == len(members)

    def untaken(self, taken: set[str]) -> Iterator[Member]:
        members = self.members
        for i in range(self.head, len(members)):
            if members[i].id not in taken:
                yield members[i]


def _tier_open(tier: int, waited: float, escalation: int, ringing_tier: int | None) -> bool:
    if ringing_tier is None or ringing_tier >= tier:
        return True
    return waited >= escalation * (tier - 1)


def choose(queue: QueueSpec, callers: WaitingCallers, agents: Sequence[Member],
           now: datetime) -> list[Offer]:
    """The offers to make now in `queue` (see the module doc for the rules)."""
    available = State.AVAILABLE
    base_need = queue.required_skills
    free = [m for m in agents
            if m.state == available and (m.ready_at is None or m.ready_at <= now)
            and _qualifies(m, base_need)]
    if not free or not len(callers):
        return []
    ordered = _ordered(queue, free, agents, now)
    pools: dict[Skills, _Pool] = {(): _Pool(ordered)}
    tiers: dict[str, int] | None = None  # built when a caller rings someone
    taken: set[str] = set()
    offers: list[Offer] = []
    ring_all = queue.strategy == Strategy.RING_ALL
    timeout, escalation = queue.ring_timeout_seconds, queue.escalation_seconds
    for caller in callers:
        if caller.ringing and not ring_all:
            continue
        need = caller.required_skills
        pool = pools.get(need)
        if pool is None:
            pool = pools[need] = _Pool([m for m in ordered if _qualifies(m, need)])
        if pool.exhausted(taken):
            continue
        ringing_tier = None
        if caller.ringing:
            if tiers is None:
                tiers = {m.id: m.tier for m in agents}
            ringing_tier = min(tiers.get(a, 1) for a in caller.ringing)
        waited = (now - caller.entered_at).total_seconds()
        for member in pool.untaken(taken):
            if not _tier_open(member.tier, waited, escalation, ringing_tier):
                break  # tiers only rise from here
            taken.add(member.id)
            offers.append(Offer(caller.id, member.id, member.tier, timeout))
            if not ring_all:
                break
            # Ringing from now on: a higher tier waits for the escalation like any other.
            ringing_tier = member.tier if ringing_tier is None else min(ringing_tier,
                                                                          member.tier)
        if len(taken) == len(free):
            break
    return offers


def admit(queue: QueueSpec, *, waiting: int, logged_in: int) -> Overflow | None:
    """Whether a new caller may enter (None) or overflows at once: the queue is full
    (`max_length` callers wait already), or nobody is logged in and the queue overflows
    then (Asterisk's joinempty)."""
    if queue.max_length and waiting >= queue.max_length:
        return Overflow.FULL
    if logged_in == 0 and queue.overflow_when_no_agent:
        return Overflow.NO_AGENT
    return None


def leaving(queue: QueueSpec, callers: WaitingCallers, *, logged_in: int,
            now: datetime) -> list[tuple[str, Overflow]]:
    """The waiting callers who must leave now, in queue order, and why: everyone when the
    last agent logged out of a queue that overflows then (Asterisk's leavewhenempty),
    else those who waited `max_wait_seconds` (a caller already ringing an agent stays:
    the ring ends first)."""
    if logged_in == 0 and queue.overflow_when_no_agent:
        return [(c.id, Overflow.NO_AGENT) for c in callers]
    if not queue.max_wait_seconds:
        return []
    return [(c.id, Overflow.TIMEOUT) for c in callers
            if not c.ringing and (now - c.entered_at).total_seconds() >= queue.max_wait_seconds]


def caller_priority(*, rules: Iterable[tuple[str, str, int]], caller_number: str,
                    dialled_number: str, branch: str = "") -> int:
    """The priority a caller enters a queue with: the highest of the account's rules that
    match — (kind, value, priority) with kind `caller_prefix` (the caller's E.164 starts
    with value), `dialled_number` (the number they called) or `branch` (the IVR branch
    they came through); 0 when none does."""
    best = 0
    for kind, value, priority in rules:
        matched = ((kind == "caller_prefix" and caller_number.startswith(value))
                   or (kind == "dialled_number" and dialled_number == value)
                   or (kind == "branch" and branch == value))
        if matched:
            best = max(best, priority)
    return best


def expected_wait(*, position: int, handle_seconds: float, agents: int) -> int:
    """Seconds a caller at `position` may expect to wait (what the announcements say):
    the callers ahead of them and they themselves, served `agents` at a time, each call
    taking `handle_seconds` (talk and wrap-up, the queue's recent average) — Asterisk's
    holdtime estimate, spread over the agents logged in. 0 when there is nothing to
    estimate from."""
    if handle_seconds <= 0 or position <= 0:
        return 0
    return round(position * handle_seconds / max(agents, 1))
