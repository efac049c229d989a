"""The built-in voice carrier simulator: a carrier's SIP trunk speaking real SIP and RTP
over loopback, the voice counterpart of the SMS simulator. `chappe up` runs it (`chappe
sip-sim`) and the demo's trunk points at it, so TTS voice messages (and, later, the
outbound dialer's calls) reach a "phone" out of the box.

It is a UAS on our own engine interface (chappe.voice.sip: the same SIP stack as the
engine), playing the phone each test number stands for — documented in the README next
to the SMS test numbers:

| number       | the phone                                                              |
|--------------|------------------------------------------------------------------------|
| +33600000101 | answers after a ring and listens until the caller hangs up             |
| +33600000102 | busy: 486 Busy Here                                                    |
| +33600000103 | rings, nobody answers: 480 after `no_answer_after` seconds             |
| +33600000104 | an answering machine: answers after three rings, plays its greeting    |
|              | and beep, records until the caller hangs up                            |
| +33600000105 | rejects the call: 603 Decline                                          |
| +33600000106 | answers, then hangs up after two seconds                               |
| any other    | answers and listens, as +33600000101                                   |

Every call is kept in `calls` (what a test or a demo asks the simulator about).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from chappe.voice.media.prompts import tone
from chappe.voice.sip.aiosipua_backend import AiosipuaEndpoint, RtpPorts
from chappe.voice.sip.base import InboundCall

logger = logging.getLogger("chappe.voice.simulator")

ANSWERS = "answers"
BUSY = "busy"
NO_ANSWER = "no_answer"
ANSWERING_MACHINE = "answering_machine"
REJECTS = "rejects"
HANGS_UP = "hangs_up"

TEST_NUMBERS = {
    "+33600000101": ANSWERS,
    "+33600000102": BUSY,
    "+33600000103": NO_ANSWER,
    "+33600000104": ANSWERING_MACHINE,
    "+33600000105": REJECTS,
    "+33600000106": HANGS_UP,
}
# A ring is this long (the machine answers after three).
RING_SECONDS = 1.0
# The answering machine's greeting: a short melody, then the beep.
GREETING = tone(440, 400) + tone(660, 400) + b"\0\0" * 1600 + tone(1000, 300)
# Nobody stays on a simulated line longer than this.
MAX_CALL_SECONDS = 300.0


@dataclass
class SimulatedCall:
    """What happened to one call the simulator took."""

    call_id: str
    callee: str  # E.164
    behaviour: str
    status: int = 0  # the final response: 200 (answered), 486, 480, 603
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    audio_bytes: int = 0  # how much of the caller's audio it heard (16-bit PCM)


class VoiceCarrierSimulator:
    """The simulator on `host`:`port` (UDP and TCP). `no_answer_after` is how long
    +33600000103 rings before the 480 (a carrier's no-answer timer)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5070, *,
                 rtp_ports: tuple[int, int] = (31000, 31998), ring_seconds: float = RING_SECONDS,
                 no_answer_after: float = 5.0) -> None:
        self.endpoint = AiosipuaEndpoint(host, port, rtp_ports=RtpPorts(*rtp_ports),
                                         user_agent="Chappe carrier simulator")
        self.endpoint.on_call = self._on_call
        self.ring_seconds, self.no_answer_after = ring_seconds, no_answer_after
        self.calls: list[SimulatedCall] = []

    async def start(self) -> tuple[str, int]:
        return await self.endpoint.start()

    async def stop(self) -> None:
        await self.endpoint.stop()

    async def _on_call(self, call: InboundCall) -> None:
        callee = f"+{call.callee}" if call.callee.isdigit() else call.callee
        record = SimulatedCall(call.call_id, callee, TEST_NUMBERS.get(callee, ANSWERS))
        self.calls.append(record)
        try:
            await self._play_the_phone(call, record)
        finally:
            record.ended_at = datetime.now(UTC)
            logger.info("simulated call %s to %s (%s): %s", call.call_id, callee,
                        record.behaviour, record.status or call.end_reason)

    async def _play_the_phone(self, call: InboundCall, record: SimulatedCall) -> None:
        behaviour = record.behaviour
        if behaviour in (BUSY, REJECTS):
            record.status = 486 if behaviour == BUSY else 603
            call.reject(record.status)
            return
        call.ringing()
        rings = {NO_ANSWER: self.no_answer_after,
                 ANSWERING_MACHINE: 3 * self.ring_seconds}.get(behaviour, self.ring_seconds)
        if await _ended_within(call, rings):
            return  # the caller gave up (CANCEL)
        if behaviour == NO_ANSWER:
            record.status = 480
            call.reject(480)
            return
        leg = await call.answer()
        record.status, record.answered_at = 200, datetime.now(UTC)

        def heard(pcm: bytes) -> None:
            record.audio_bytes += len(pcm)

        leg.set_audio_sink(heard)
        if behaviour == ANSWERING_MACHINE:
            await leg.play(GREETING)
        stay = 2.0 if behaviour == HANGS_UP else MAX_CALL_SECONDS
        await _ended_within(call, stay)
        await call.hangup()  # a BYE unless the caller hung up first


async def _ended_within(call: InboundCall, seconds: float) -> bool:
    """Whether the caller ended the call within `seconds`."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(call.ended.wait(), seconds)
    return call.ended.is_set()


def run_sip_sim(*, host: str, port: int, port_file: str | None = None,
                no_answer_after: float = 5.0, stay_up: bool = False) -> None:
    """Serve until SIGINT/SIGTERM (`chappe sip-sim`). With `stay_up` (under `chappe up`),
    a port already in use is logged and the role idles instead of crashing the other
    roles' supervisor."""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        simulator = VoiceCarrierSimulator(host, port, no_answer_after=no_answer_after)
        try:
            bound = await simulator.start()
        except OSError as exc:
            if not stay_up:
                raise
            logger.error("voice carrier simulator not started: %s:%s: %s", host, port, exc)
            print(f"Voice carrier simulator NOT started ({host}:{port}: {exc}); set "
                  "CHAPPE_SIP_SIM_PORT.", flush=True)
            await stop.wait()
            return
        if port_file:
            Path(port_file).write_text(str(bound[1]))
        print(f"Voice carrier simulator listening on {bound[0]}:{bound[1]} (UDP and TCP)",
              flush=True)
        await stop.wait()
        await simulator.stop()

    asyncio.run(serve())
