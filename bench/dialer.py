"""A predictive campaign of 10,000 numbers with 20 agents: calls placed per second, the
measured abandon rate, agent occupancy.

    .venv/bin/python bench/dialer.py                      # a whole shift, simulated
    .venv/bin/python bench/dialer.py --numbers 2000 --cap 1

It runs the pacing loop the dialer runs (`chappe.dialer.pacing.campaign_pacing` every
second) over `chappe.dialer.shift`'s discrete-event model of the floor and the carrier —
ring times, a person's answer rate, exponential talk times, wrap-up, the 2-second wait
for an agent — seeded, so a figure can be compared between two versions of the pacing.
It does not place SIP calls: the voice carrier simulator answers at the speed of real
phones (seconds of ringing per call), so 10,000 real calls would take a shift; the
engine's side is covered by the dialer's protocol tests. Prints the wall-clock time the
pacing decisions took as well (they run on every tick of a real dialer).
"""

import argparse
import time
from fractions import Fraction

from chappe.dialer import pacing
from chappe.dialer.shift import ShiftSpec, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--lines", type=int, default=3, help="lines per agent at most")
    parser.add_argument("--cap", type=Fraction, default=Fraction(3), help="abandon cap, %%")
    parser.add_argument("--answer-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    spec = ShiftSpec(agents=args.agents, numbers=args.numbers, seconds=24 * 3600,
                     answer_rate=args.answer_rate, seed=args.seed)
    started = time.perf_counter()
    result = simulate(pacing.campaign_pacing(pacing.PREDICTIVE, lines_per_agent=args.lines,
                                             abandon_cap=args.cap / 100), spec)
    took = time.perf_counter() - started
    print(f"predictive, {args.numbers} numbers, {args.agents} agents, cap {float(args.cap)} %")
    print(f"simulated time       {result.seconds / 3600:.2f} h")
    print(f"calls placed         {result.placed} ({result.calls_per_second:.3f} per second)")
    print(f"answered by a person {result.answered}, connected {result.connected}")
    print(f"abandon rate         {float(result.abandon_rate) * 100:.2f} % "
          f"({result.abandoned} of {result.answered})")
    print(f"agent occupancy      {result.occupancy * 100:.1f} %")
    print(f"most lines at once   {result.max_lines} (cap {args.lines * args.agents})")
    print(f"simulation took      {took:.2f} s wall-clock")


if __name__ == "__main__":
    main()
