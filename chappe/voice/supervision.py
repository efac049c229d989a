"""A supervisor joined to a live call (C-6, C-7; issue 16): listen, whisper, barge.

The supervisor's phones (SIP phones and browser, rung together like an agent's) are
called; once one answers, the call's two-way bridge pauses and a three-way `Conference`
takes over its legs: every 20 ms it takes the next frame each leg sent and sends each
leg the mix of what it may hear —

| mode    | the customer hears | the agent hears        | the supervisor hears |
|---------|--------------------|------------------------|----------------------|
| listen  | the agent          | the customer           | both                 |
| whisper | the agent          | customer + supervisor  | both                 |
| barge   | agent + supervisor | customer + supervisor  | both                 |

A leg that sent nothing in a tick adds nothing, and a leg with nothing to hear is sent
nothing. The supervisor hanging up (or the call ending) ends the conference and, the
call going on, its bridge resumes. A supervisor already joined changes mode without being
rung again. The call's recording (the bridge's tap) goes on hearing the customer and the
agent. Keypad digits go between the customer and the agent as through the bridge.
"""

from __future__ import annotations

import array
import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from chappe.voice.control import CommandRefused, Handler, LiveCall, LiveCalls
from chappe.voice.outbound import ring_all
from chappe.voice.registrations import Registrations
from chappe.voice.sip.base import FRAME_MS, MediaLeg, Originator, OutboundCall, OutboundFailed

logger = logging.getLogger("chappe.voice.supervision")

CUSTOMER, AGENT, SUPERVISOR = 0, 1, 2
HEARS: dict[str, tuple[frozenset[int], ...]] = {
    "listen": (frozenset({AGENT}), frozenset({CUSTOMER}), frozenset({CUSTOMER, AGENT})),
    "whisper": (frozenset({AGENT}), frozenset({CUSTOMER, SUPERVISOR}),
                frozenset({CUSTOMER, AGENT})),
    "barge": (frozenset({AGENT, SUPERVISOR}), frozenset({CUSTOMER, SUPERVISOR}),
              frozenset({CUSTOMER, AGENT})),
}
# Frames kept per leg beyond which the oldest are dropped (a latency cap, as a jitter
# buffer would).
MAX_QUEUED = 5
RING_SECONDS = 30


def mix(frames: list[bytes]) -> bytes:
    """The sum of 16-bit PCM frames of one length, clipped."""
    if len(frames) == 1:
        return frames[0]
    total = array.array("h", frames[0])
    for frame in frames[1:]:
        other = array.array("h", frame)
        total = array.array("h", (max(-32768, min(32767, a + b))
                                  for a, b in zip(total, other, strict=False)))
    return total.tobytes()


class Conference:
    """Three legs mixed as `mode` says (module doc). `heard[source][target]` counts the
    frames of `source` mixed into what `target` was sent."""

    def __init__(self, legs: tuple[MediaLeg, MediaLeg, MediaLeg], mode: str, *,
                 tap: Callable[[int, bytes], None] | None = None) -> None:
        self.legs, self.mode, self.tap = legs, mode, tap
        self.heard = [[0, 0, 0] for _ in legs]
        self._queues: list[deque[bytes]] = [deque(maxlen=MAX_QUEUED) for _ in legs]
        self._pacer: asyncio.Task | None = None

    def start(self) -> None:
        for side, leg in enumerate(self.legs):
            leg.set_audio_sink(self._queues[side].append)
        customer, agent, supervisor = self.legs
        customer.set_dtmf_handler(agent.send_dtmf)
        agent.set_dtmf_handler(customer.send_dtmf)
        supervisor.set_dtmf_handler(lambda _key, _ms: None)
        if self._pacer is None:
            self._pacer = asyncio.get_running_loop().create_task(self._pace())

    def stop(self) -> None:
        if self._pacer is not None:
            self._pacer.cancel()
            self._pacer = None
        for leg in self.legs:
            leg.set_audio_sink(None)
            leg.set_dtmf_handler(lambda _key, _ms: None)
        for queue in self._queues:
            queue.clear()

    close = stop

    def tick(self) -> None:
        """One 20 ms step: each leg sent the mix of what it hears."""
        frames = [queue.popleft() if queue else None for queue in self._queues]
        if self.tap is not None:
            for side in (CUSTOMER, AGENT):
                if frames[side] is not None:
                    self.tap(side, frames[side])
        for target, sources in enumerate(HEARS[self.mode]):
            present = [s for s in sorted(sources) if frames[s] is not None]
            if not present:
                continue
            for source in present:
                self.heard[source][target] += 1
            self.legs[target].send_audio(mix([frames[s] for s in present]))

    async def _pace(self) -> None:
        start, n = time.monotonic(), 0
        while True:
            n += 1
            await asyncio.sleep(max(0.0, start + n * FRAME_MS / 1000 - time.monotonic()))
            self.tick()

    def stats(self) -> dict[str, Any]:
        names = ("customer", "agent", "supervisor")
        return {f"{names[s]}_to_{names[t]}": self.heard[s][t]
                for s in range(3) for t in range(3) if s != t}


async def join(call: LiveCall, supervisor: OutboundCall, mode: str) -> None:
    """Mix `supervisor` into `call` until either ends (module doc)."""
    conference = Conference((call.customer, call.agent_call.leg, supervisor.leg), mode,
                            tap=call.bridge.tap)
    call.conference = conference
    call.bridge.stop()
    if not call.held:
        conference.start()
    waits = [asyncio.ensure_future(e.wait())
             for e in (supervisor.ended, call.over)]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        conference.close()
        logger.info("call %s: supervision (%s) over: %s", call.call_id, conference.mode,
                    conference.stats())
        if call.conference is conference:
            call.conference = None
            if not call.held and not call.over.is_set():
                call.bridge.resume()
        await supervisor.hangup()


def supervise_handler(*, phones: Originator, registrations: Registrations,
                      calls: LiveCalls) -> Handler:
    """The control port's `supervise` (chappe.voice.control): rings the supervisor's
    phones and answers at once; they join the call once one answers."""
    joining: set[asyncio.Task] = set()

    async def handle(body: dict[str, Any]) -> dict[str, Any]:
        mode, supervisor_id = body.get("mode"), body.get("supervisor_agent_id")
        if mode not in HEARS or not isinstance(supervisor_id, str):
            raise CommandRefused("bad_request", "mode and supervisor_agent_id are required")
        call = calls.get(account_id=body["account_id"], call_id=str(body.get("call_id")))
        if not supervisor_id:
            raise CommandRefused("conflict", "no supervisor: the user has no agent")
        if supervisor_id == call.agent_id:
            raise CommandRefused("conflict", "the call's own agent cannot supervise it")
        if call.conference is not None:  # already joined: a new mode
            call.conference.mode = mode
            return {"call_id": call.call_id, "mode": mode, "ringing": False}
        bindings = registrations.contacts_of_agent(supervisor_id)
        if not bindings:
            raise CommandRefused("conflict", "the supervisor has no phone connected")
        label = str(body.get("label", ""))[:32] or "supervision"

        async def ring_and_join() -> None:
            try:
                answered = await ring_all(phones, bindings, caller=label, timeout=RING_SECONDS)
            except OutboundFailed as exc:
                logger.info("call %s: the supervisor did not answer (%s)", call.call_id, exc)
                return
            if call.over.is_set() or calls.calls.get(call.call_id) is not call \
                    or call.conference is not None:
                await answered.hangup()
                return
            await join(call, answered, mode)

        task = asyncio.get_running_loop().create_task(ring_and_join())
        joining.add(task)
        task.add_done_callback(joining.discard)
        return {"call_id": call.call_id, "mode": mode, "ringing": True}

    return handle
