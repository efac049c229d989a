"""The pacing core of outbound call campaigns: how many calls to place now (SPEC C-5;
``reference/contact-center.md`` §4.1 to 4.2). A pure function of the floor's state, like the
queue choice (`chappe.agents.acd`), called by the dialer every tick.

* **preview**: the agent sees the record and dials; the dialer places nothing.
* **progressive**: `lines_per_agent` lines for each agent ready, no more.
* **predictive**: over-dials from the measured hit rate (calls answered by a person over
  calls placed, recent history) so that the calls answered match the agents ready plus the
  agents expected to be free by then (`agents_soon`, a sum of per-agent probabilities as
  in US 5,640,445). The over-dial is scaled down as the **abandon rate** (calls answered
  with no agent free, over live-answered calls: the campaign's, or the last 30 days')
  nears its cap, and stops at the cap: then it dials like progressive 1:1.

Two properties hold for every input, and are tested as such: the lines in progress never
exceed `lines_per_agent` times the agents staffed, and when agents are ready the lines cover
them (a dial level of at least one line per ready agent). Ratios are `Fraction`s: the
decision is exact and repeatable.
"""

import math
from dataclasses import dataclass
from fractions import Fraction

PREVIEW, PROGRESSIVE, PREDICTIVE = "preview", "progressive", "predictive"
# Below this many calls placed, the hit rate is not yet known: no over-dial.
MIN_HISTORY = 20
DEFAULT_ABANDON_CAP = Fraction(3, 100)


@dataclass(frozen=True)
class Pacing:
    mode: str
    lines_per_agent: int = 1  # progressive's ratio; predictive's ceiling (1 to 3 usual)
    abandon_cap: Fraction = DEFAULT_ABANDON_CAP


@dataclass(frozen=True)
class Floor:
    agents_staffed: int  # logged in to the campaign and not paused
    agents_ready: int
    lines_dialing: int  # placed, not yet answered nor failed
    agents_soon: Fraction = Fraction(0)  # busy agents expected free within the ring time
    placed: int = 0  # recent history: calls placed…
    answered: int = 0  # …and answered by a person
    live_answered: int = 0  # over the abandon period
    abandoned: int = 0

    def __post_init__(self) -> None:
        counts = (self.agents_staffed, self.agents_ready, self.lines_dialing, self.placed,
                  self.answered, self.live_answered, self.abandoned)
        if min(counts) < 0 or self.agents_soon < 0:
            raise ValueError("pacing counts cannot be negative")
        if self.agents_ready > self.agents_staffed or self.answered > self.placed:
            raise ValueError("more agents ready than staffed, or answers than calls")
        if self.abandoned > self.live_answered:
            raise ValueError("more abandoned than live-answered calls")
        if self.agents_soon > self.agents_staffed - self.agents_ready:
            raise ValueError("more agents expected free than are busy")


@dataclass(frozen=True)
class Decision:
    calls: int
    hit_rate: Fraction
    abandon_rate: Fraction
    overdial: bool  # some of the calls are for agents not yet free


def calls_to_place(pacing: Pacing, floor: Floor) -> Decision:
    """How many calls to place now."""
    if pacing.lines_per_agent < 1:
        raise ValueError("lines_per_agent must be at least 1")
    abandon = (Fraction(floor.abandoned, floor.live_answered) if floor.live_answered
               else Fraction(0))
    known = floor.placed >= MIN_HISTORY and floor.answered > 0
    hit = Fraction(floor.answered, floor.placed) if known else Fraction(1)
    room = max(0, pacing.lines_per_agent * floor.agents_staffed - floor.lines_dialing)
    if pacing.mode == PREVIEW:
        return Decision(0, hit, abandon, overdial=False)
    if pacing.mode == PROGRESSIVE:
        wanted = pacing.lines_per_agent * floor.agents_ready - floor.lines_dialing
        return Decision(max(0, min(wanted, room)), hit, abandon, overdial=False)
    if pacing.mode != PREDICTIVE:
        raise ValueError(f"unknown dialing mode {pacing.mode!r}")
    headroom = max(Fraction(0), 1 - abandon / pacing.abandon_cap) if pacing.abandon_cap else 0
    if headroom == 0:  # at or over the cap: one line per ready agent, no more
        hit = Fraction(1)
    answers_wanted = floor.agents_ready + floor.agents_soon * headroom
    wanted = math.ceil(answers_wanted / hit - floor.lines_dialing)
    calls = max(0, min(wanted, room))
    return Decision(calls, hit, abandon,
                    overdial=floor.lines_dialing + calls > floor.agents_ready)


# The dialer aims below a campaign's abandon cap: the calls already ringing when the
# measured rate reaches the cap are abandoned too, so aiming at the cap itself ends a
# shift just over it (decision 0048; `chappe.dialer.shift` measures it).
ABANDON_AIM = Fraction(9, 10)


def campaign_pacing(mode: str, *, lines_per_agent: int, abandon_cap: Fraction) -> Pacing:
    """The pacing a campaign runs with: its cap, aimed under."""
    return Pacing(mode=mode, lines_per_agent=lines_per_agent,
                  abandon_cap=abandon_cap * ABANDON_AIM)
