"""A simulated shift of a campaign's floor: a discrete-event simulation, one-second steps,
of the pacing core (`pacing.calls_to_place`) driving agents and lines, with a seeded
random generator — what the abandon-rate tests and `bench/dialer.py` measure.

Each placed call rings for a while, then is answered by a person (`answer_rate`) or not
(busy, no answer, machine). An answered call takes a free agent at once, or waits for one
at most `agent_wait` seconds (C-5: a consumer with no agent within 2 seconds is hung up
on), else it is abandoned. A connected call lasts an exponential talk time, then the agent
wraps up. The floor's busy agents whose wrap-up ends within the ring time are the agents
"about to be free" the predictive mode counts on. Pure: no clock, no database.
"""

import random
from dataclasses import dataclass
from fractions import Fraction

from chappe.dialer import pacing


@dataclass(frozen=True)
class ShiftSpec:
    agents: int = 20
    numbers: int = 10_000
    seconds: int = 8 * 3600
    answer_rate: float = 0.3
    ring_seconds: tuple[int, int] = (5, 25)
    talk_mean: float = 90.0
    wrap_up: int = 10
    agent_wait: int = 2
    seed: int = 18


@dataclass
class ShiftResult:
    placed: int = 0
    answered: int = 0  # by a person
    connected: int = 0
    abandoned: int = 0
    busy_agent_seconds: int = 0  # talking or wrapping up
    agent_seconds: int = 0
    seconds: int = 0
    max_lines: int = 0
    lines_cap_kept: bool = True

    @property
    def abandon_rate(self) -> Fraction:
        return Fraction(self.abandoned, self.answered) if self.answered else Fraction(0)

    @property
    def occupancy(self) -> float:
        return self.busy_agent_seconds / self.agent_seconds if self.agent_seconds else 0.0

    @property
    def calls_per_second(self) -> float:
        return self.placed / self.seconds if self.seconds else 0.0


def simulate(mode: pacing.Pacing, spec: ShiftSpec) -> ShiftResult:
    rng = random.Random(spec.seed)  # noqa: S311 - a simulation, repeatable by its seed
    free_at = [0] * spec.agents  # the second each agent is ready again
    wrap_from = [0] * spec.agents  # when their current wrap-up began (talk's end)
    lines: list[tuple[int, bool]] = []  # (second the ringing ends, answered by a person)
    waiting: list[int] = []  # answered calls waiting for an agent: the second they answered
    result = ShiftResult()
    left = spec.numbers
    for now in range(spec.seconds):
        if left == 0 and not lines and not waiting:
            break
        still = []
        for ends, person in lines:
            if ends > now:
                still.append((ends, person))
            elif person:
                result.answered += 1
                waiting.append(now)
        lines = still
        for answered_at in list(waiting):
            agent = next((a for a in range(spec.agents) if free_at[a] <= now), None)
            if agent is not None:
                talk = max(1, round(rng.expovariate(1 / spec.talk_mean)))
                wrap_from[agent] = now + talk
                free_at[agent] = now + talk + spec.wrap_up
                result.connected += 1
                waiting.remove(answered_at)
            elif now - answered_at >= spec.agent_wait:
                result.abandoned += 1
                waiting.remove(answered_at)
        ready = sum(1 for a in range(spec.agents) if free_at[a] <= now)
        soon = sum(1 for a in range(spec.agents)
                   if free_at[a] > now and wrap_from[a] <= now
                   and free_at[a] - now <= spec.ring_seconds[0])
        floor = pacing.Floor(agents_staffed=spec.agents, agents_ready=ready,
                             lines_dialing=len(lines) + len(waiting),
                             agents_soon=Fraction(soon), placed=result.placed,
                             answered=result.answered, live_answered=result.answered,
                             abandoned=result.abandoned)
        calls = min(left, pacing.calls_to_place(mode, floor).calls)
        for _ in range(calls):
            lines.append((now + rng.randint(*spec.ring_seconds), rng.random() < spec.answer_rate))
        left -= calls
        result.placed += calls
        result.max_lines = max(result.max_lines, len(lines) + len(waiting))
        if len(lines) + len(waiting) > mode.lines_per_agent * spec.agents:
            result.lines_cap_kept = False
        result.busy_agent_seconds += spec.agents - ready
        result.agent_seconds += spec.agents
        result.seconds = now + 1
    return result
