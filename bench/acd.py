"""`choose` — the pure ACD choice — with 1,000 agents and 10,000 waiting callers.

    .venv/bin/python bench/acd.py                       # every strategy, 2,000 calls each
    .venv/bin/python bench/acd.py --calls 5000 --free 0.05

Each call gets a fresh snapshot of the queue's members (a share of them free, the rest
ringing, on a call, in wrap-up or paused; three tiers; two skills) and the 10,000 waiting
callers (priorities 0 to 2, a tenth needing an extra skill) kept in a `WaitingCallers`, as the
engine holds them. It prints, per strategy, p50/p99/max of one `choose` call in wall-clock
time and p99 in CPU time of the thread (what the call costs, whatever else the machine
runs: a loaded machine stretches wall-clock tails, not CPU time), and the offers made.
Target (issue 14): p99 <= 2 ms.
"""

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from chappe.agents.acd import (
    Caller,
    Member,
    QueueSpec,
    State,
    Strategy,
    WaitingCallers,
    choose,
)

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
BUSY = [State.RINGING, State.ON_CALL, State.WRAP_UP, State.PAUSED]


def members(rng: random.Random, count: int, free_share: float) -> list[Member]:
    return [Member(
        id=f"agent-{i:04d}",
        state=State.AVAILABLE if rng.random() < free_share else rng.choice(BUSY),
        tier=1 + i % 3, position=i,
        skills={"french": rng.randint(1, 10), "billing": rng.randint(0, 10)},
        idle_since=NOW - timedelta(seconds=rng.randint(0, 3600)),
        calls_taken=rng.randint(0, 40), talk_seconds=rng.randint(0, 20_000))
        for i in range(count)]


def callers(rng: random.Random, count: int) -> WaitingCallers:
    return WaitingCallers.of(Caller(
        id=f"call-{i:05d}", entered_at=NOW - timedelta(seconds=rng.randint(0, 1800)),
        priority=rng.choice((0, 0, 0, 1, 2)),
        required_skills=(("billing", 5),) if i % 10 == 0 else ())
        for i in range(count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--callers", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=2000, help="choose calls per strategy")
    parser.add_argument("--free", type=float, default=0.1, help="share of agents available")
    args = parser.parse_args()
    rng = random.Random(14)  # noqa: S311 - a reproducible load, not a secret
    waiting = callers(rng, args.callers)
    snapshots = [members(rng, args.agents, args.free) for _ in range(20)]
    print(f"choose: {args.agents} agents ({args.free:.0%} available), {args.callers} callers "
          f"waiting, {args.calls} calls per strategy")
    for strategy in Strategy:
        queue = QueueSpec(id="bench", strategy=strategy, escalation_seconds=30,
                          required_skills=(("french", 3),), last_agent_id="agent-0500")
        timings, cpu, offers = [], [], 0
        for call in range(args.calls):
            agents = snapshots[call % len(snapshots)]
            now = NOW + timedelta(milliseconds=call)
            start, start_cpu = time.perf_counter(), time.thread_time()
            made = choose(queue, waiting, agents, now)
            timings.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
            offers += len(made)
        timings.sort()
        cpu.sort()
        p50 = statistics.median(timings) * 1000
        p99 = timings[int(len(timings) * 0.99) - 1] * 1000
        cpu_p99 = cpu[int(len(cpu) * 0.99) - 1] * 1000
        print(f"  {strategy.value:16} p50 {p50:.3f} ms  p99 {p99:.3f} ms  "
              f"max {timings[-1] * 1000:.3f} ms  cpu p99 {cpu_p99:.3f} ms  "
              f"offers/call {offers / args.calls:.1f}")


if __name__ == "__main__":
    main()
