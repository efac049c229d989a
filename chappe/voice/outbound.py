"""Outbound legs: call a number and play a message (TTS voice messages, M-1), the
foundation transfers will bridge onto. Uses only our endpoint's `originate`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from chappe.voice.callstate import CallLog, CallState
from chappe.voice.sip.aiosipua_backend import AiosipuaEndpoint, OutboundFailed

logger = logging.getLogger("chappe.voice.calls")

# M-1 outcomes of a voice message, by the SIP final response of a failed INVITE.
BUSY_CODES = frozenset({486, 600})
NO_ANSWER_CODES = frozenset({408, 480, 487})


@dataclass
class MessageResult:
    status: str  # listened | answered (hung up during the message) | busy | no_answer | failed
    sip_status: int = 200
    log: CallLog = field(default_factory=lambda: CallLog(""))
    plays: int = 0

    @property
    def billable_seconds(self) -> int:
        from chappe.callcenter.services import seconds_between

        return seconds_between(self.log.answered_at, self.log.ended_at)


def status_for(sip_status: int) -> str:
    if sip_status in BUSY_CODES:
        return "busy"
    if sip_status in NO_ANSWER_CODES:
        return "no_answer"
    return "failed"


async def message_play(endpoint: AiosipuaEndpoint, *, caller: str, callee: str,
                       remote: tuple[str, int], pcm: bytes, repeat: int = 1,
                       ring_timeout: float = 30.0) -> MessageResult:
    """Call `callee`, play `pcm` `repeat` times when answered, hang up."""
    log = CallLog(f"out:{callee}")
    try:
        leg = await endpoint.originate(caller=caller, callee=callee, remote=remote,
                                       timeout=ring_timeout)
    except OutboundFailed as exc:
        log.move(CallState.ENDED, f"{exc.status} {exc.reason}")
        return MessageResult(status_for(exc.status), exc.status, log)
    log.call_id = leg.call_id
    log.move(CallState.ANSWERED, "200 OK received")
    plays = 0
    assert leg.leg is not None
    for _ in range(max(repeat, 1)):
        stop = asyncio.Event()
        watcher = asyncio.create_task(leg.ended.wait())
        watcher.add_done_callback(lambda _t, stop=stop: stop.set())
        finished = await leg.leg.play(pcm, stop)
        watcher.cancel()
        if not finished or leg.ended.is_set():
            break
        plays += 1
    if leg.ended.is_set():
        await leg.release()
        log.move(CallState.ENDED, f"peer {leg.end_reason or 'bye'}")
    else:
        await leg.hangup()
        log.move(CallState.ENDED, "we hung up: message played")
    status = "listened" if plays >= max(repeat, 1) else "answered"
    logger.info("voice message to %s: %s after %s play(s)", callee, status, plays)
    return MessageResult(status, 200, log, plays)
