"""Outbound legs: dial a number through the trunks (longest-prefix routing, caps, failover
on 503), play a message to it (TTS voice messages, M-1), and ring an agent's registered
phones together (`ring_all`). Transfers (the runner) dial the same way. Uses only the
engine interface (chappe.voice.sip.base)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chappe.voice.callstate import CallLog, CallState, hangup_cause, seconds_between
from chappe.voice.registrations import WEBRTC, Binding
from chappe.voice.sip.base import Originator, OutboundCall, OutboundFailed
from chappe.voice.trunking import TrunkGate, TrunkRoute

if TYPE_CHECKING:  # chappe.voice.crm imports the directory, which is below this module
    from chappe.voice.crm import CallerInfo

logger = logging.getLogger("chappe.voice.calls")

# How the call of a TTS voice message (M-1) ended: MessageResult.status. A failed
# INVITE's final SIP response names the last three (and transfer legs' dispositions).
LISTENED = "listened"    # answered, and the message played to the end (every repeat)
ANSWERED = "answered"    # answered, hung up before the end of the message
BUSY = "busy"            # 486, 600
NO_ANSWER = "no_answer"  # 408, 480, 487 (our CANCEL after the ring timeout)
FAILED = "failed"        # any other final response (503 from every trunk, 403, 603…)
NO_ROUTE = "no_route"    # no trunk routes the number: no INVITE went out
CONGESTED = "congested"  # every trunk routing it is at one of its caps: call again later
ERROR = "error"          # the engine could not place it (its prompt, a fault)
# An INVITE went to a carrier: the call is on its records (and ours).
PLACED = frozenset({LISTENED, ANSWERED, BUSY, NO_ANSWER, FAILED})
BUSY_CODES = frozenset({486, 600})
NO_ANSWER_CODES = frozenset({408, 480, 487})
# The trunk cannot take the call now (RFC 3261 §21.5.4): try the next one.
FAILOVER_CODES = frozenset({503})


def status_for(sip_status: int) -> str:
    if sip_status in BUSY_CODES:
        return BUSY
    if sip_status in NO_ANSWER_CODES:
        return NO_ANSWER
    return FAILED


@dataclass
class Dialed:
    """A dialling attempt over the trunks: the answered call, or why there is none."""

    log: CallLog      # ringing → answered, or → ended with every trunk's refusal
    call: OutboundCall | None = None
    status: int = 503  # the final SIP status (200 when answered)
    trunk: str = ""    # the trunk carrying the call
    cause: str = ""    # the hangup cause, once ended
    invited: bool = False  # an INVITE went to a trunk (not all of them skipped at a cap)

    async def end(self, gate: TrunkGate, why: str) -> None:
        """End the answered call: BYE unless the far end already ended, the trunk slot
        given back, the leg's log and cause completed."""
        assert self.call is not None
        by_peer = self.call.ended.is_set()
        await self.call.hangup()
        gate.release(self.trunk)
        self.cause = hangup_cause(we_are="caller", we_hung_up="" if by_peer else why,
                                  peer_reason=self.call.end_reason)
        self.log.move(CallState.ENDED, f"peer {self.call.end_reason or 'bye'}" if by_peer
                      else f"we hung up: {why}")


async def dial(originator: Originator, gate: TrunkGate, routes: Sequence[TrunkRoute], *,
               log: CallLog, caller: str, callee: str, timeout: float,
               clock: Callable[[], float] = time.monotonic) -> Dialed:
    """Call `callee` through the first of `routes` that takes it: a trunk at one of its
    caps is skipped, a 503 moves on to the next trunk, any other refusal is final. The
    log stays open on an answered call (Dialed.end closes it)."""
    tried: list[str] = [] if routes else ["no trunk routes this number"]
    status = 503  # unless a trunk answers otherwise
    invited = False
    for trunk in routes:
        refused = gate.admit(trunk, clock())
        if refused:
            tried.append(f"{trunk.name}: at its {refused} cap")
            continue
        invited = True
        try:
            call = await originator.originate(
                caller=caller, callee=callee, remote=trunk.remote, transport=trunk.transport,
                auth=(trunk.username, trunk.password) if trunk.username else None,
                timeout=timeout)
        except OutboundFailed as exc:
            gate.release(trunk.name)
            status = exc.status
            tried.append(f"{trunk.name}: {exc.status} {exc.reason}")
            if exc.status in FAILOVER_CODES:
                continue
            break
        except BaseException:  # cancelled while ringing (the INVITE was CANCELed)
            gate.release(trunk.name)
            raise
        log.call_id = call.call_id
        log.move(CallState.ANSWERED, "; ".join([*tried, f"200 OK via trunk {trunk.name}"]))
        return Dialed(log, call, 200, trunk.name, invited=True)
    log.move(CallState.ENDED, "; ".join(tried))
    logger.info("call to %s failed: %s", callee, "; ".join(tried))
    return Dialed(log, None, status, "", f"sip_{status}", invited=invited)


@dataclass
class MessageResult:
    status: str  # LISTENED, ANSWERED, BUSY, NO_ANSWER, FAILED, NO_ROUTE or CONGESTED
    sip_status: int = 200
    log: CallLog = field(default_factory=lambda: CallLog(""))
    plays: int = 0
    trunk: str = ""

    @property
    def billable_seconds(self) -> int:
        return seconds_between(self.log.answered_at, self.log.ended_at)


async def message_play(originator: Originator, gate: TrunkGate, routes: Sequence[TrunkRoute],
                       *, caller: str, callee: str, pcm: bytes, repeat: int = 1,
                       ring_timeout: float = 30.0) -> MessageResult:
    """Call `callee`, play `pcm` `repeat` times when answered, hang up."""
    dialed = await dial(originator, gate, routes, log=CallLog(f"out:{callee}"), caller=caller,
                        callee=callee, timeout=ring_timeout)
    if dialed.call is None:
        status = (status_for(dialed.status) if dialed.invited
                  else CONGESTED if routes else NO_ROUTE)
        return MessageResult(status, dialed.status, dialed.log)
    call, plays = dialed.call, 0
    for _ in range(max(repeat, 1)):
        stop = asyncio.Event()
        watcher = asyncio.create_task(call.ended.wait())
        watcher.add_done_callback(lambda _t, stop=stop: stop.set())
        finished = await call.leg.play(pcm, stop)
        watcher.cancel()
        if not finished or call.ended.is_set():
            break
        plays += 1
    await dialed.end(gate, "message played")
    status = LISTENED if plays >= max(repeat, 1) else ANSWERED
    logger.info("voice message to %s: %s after %s play(s)", callee, status, plays)
    return MessageResult(status, 200, dialed.log, plays, dialed.trunk)


async def ring_all(originator: Originator, bindings: Sequence[Binding], *, caller: str,
                   timeout: float, caller_info: CallerInfo | None = None) -> OutboundCall:
    """Ring every registered phone of an agent at once (a forking proxy's parallel search,
    RFC 3261 §16.7): the first to answer gets the call, the others are CANCELed (one that
    answered in the same instant is hung up). Each INVITE goes to its contact's URI
    through the address the REGISTER came from and over its transport — behind NAT the
    phone's own Contact names a private address; the pinhole its REGISTER opened is what
    reaches it (RFC 3581's rport and received). OutboundFailed when none answers: 408
    after `timeout`, else the refusal a forking proxy would pick (RFC 3261 §16.7: a 6xx,
    else the lowest class, busy first). `caller_info` (the CRM's name of the caller) goes
    to the agent's browsers, which show it; a SIP phone shows the caller's number."""
    if not bindings:
        raise OutboundFailed(480, "no registered phone")
    tasks = [asyncio.ensure_future(originator.originate(
        caller=caller, callee=b.username, remote=b.source, transport=b.transport,
        uri=b.uri, timeout=timeout,
        **({"caller_info": caller_info} if caller_info and b.transport == WEBRTC else {})))
        for b in bindings]
    pending, failures, answered = set(tasks), [], None
    try:
        while pending and answered is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is None:
                    if answered is None:
                        answered = task.result()
                    else:
                        await task.result().hangup()
                elif isinstance(task.exception(), OutboundFailed):
                    failures.append(task.exception())
                else:
                    logger.warning("ringing a phone failed", exc_info=task.exception())
    finally:
        for task in pending:
            task.cancel()
        for task in await _settled(pending):
            if task.exception() is None and task.result() is not answered:
                await task.result().hangup()
    if answered is not None:
        return answered
    if not failures:
        raise OutboundFailed(500, "ringing the phones failed")
    raise min(failures, key=lambda f: (f.status < 600, f.status not in BUSY_CODES,
                                       f.status // 100, f.status))


async def _settled(tasks: set[asyncio.Future]) -> list[asyncio.Future]:
    """`tasks` once each has ended (cancelled ones included)."""
    await asyncio.gather(*tasks, return_exceptions=True)
    return [task for task in tasks if not task.cancelled()]
