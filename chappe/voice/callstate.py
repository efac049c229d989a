"""The call state machine (ARCHITECTURE convention 4): states, the transition table the
code checks, and a call's transition log."""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

logger = logging.getLogger("chappe.voice.calls")


class CallState(StrEnum):
    # INVITE received, not answered yet (100/180 sent).
    RINGING = "ringing"
    # 200 OK sent: media flows, the flow runs.
    ANSWERED = "answered"
    # Our leg is relayed to another leg (transfer in progress).
    BRIDGED = "bridged"
    # Handed over to another party; we only relay until one side hangs up.
    TRANSFERRED = "transferred"
    # Over (BYE either way, CANCEL, rejection, failure). Final.
    ENDED = "ended"


TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    CallState.RINGING: frozenset({CallState.ANSWERED, CallState.ENDED}),
    CallState.ANSWERED: frozenset({CallState.BRIDGED, CallState.ENDED}),
    CallState.BRIDGED: frozenset({CallState.TRANSFERRED, CallState.ANSWERED, CallState.ENDED}),
    CallState.TRANSFERRED: frozenset({CallState.ENDED}),
    CallState.ENDED: frozenset(),
}


class IllegalTransition(RuntimeError):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CallLog:
    """A call's state with every transition recorded (and logged)."""

    call_id: str
    account_id: str = ""
    state: CallState = CallState.RINGING
    started_at: datetime = field(default_factory=_now)
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    transitions: list[dict] = field(default_factory=list)

    def move(self, to: CallState, why: str = "", at: datetime | None = None) -> None:
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"call {self.call_id}: {self.state} → {to} ({why})")
        at = at or _now()
        self.transitions.append({"at": at.isoformat(), "from": str(self.state), "to": str(to),
                                 "why": why})
        logger.info("call %s account %s: %s -> %s (%s)", self.call_id, self.account_id,
                    self.state, to, why)
        self.state = to
        if to == CallState.ANSWERED and self.answered_at is None:
            self.answered_at = at
        if to == CallState.ENDED:
            self.ended_at = at

    @property
    def is_over(self) -> bool:
        return self.state == CallState.ENDED


def seconds_between(start: datetime | None, end: datetime | None) -> int:
    """Whole started seconds from `start` to `end` (C-9: every started second): a call
    record's duration, and what a leg is billed on."""
    if start is None or end is None or end <= start:
        return 0
    delta = end - start
    whole = delta.days * 86400 + delta.seconds
    return whole + (1 if delta.microseconds else 0)


def hangup_cause(*, we_are: str, we_hung_up: str, peer_reason: str) -> str:
    """A call record's hangup cause. `we_are` is our side of the leg ("callee" on a call
    we received, "caller" on one we placed); `we_hung_up` why we sent the BYE ("" when
    the far end ended), `peer_reason` how the far end ended ("bye", "cancel", …). A
    session timer that ran out (RFC 4028) is its own cause: we sent the BYE because the
    far end stopped refreshing."""
    if peer_reason == "session_expired":
        return "session_expired"
    if we_hung_up:
        return f"{we_are}_bye:{we_hung_up}"
    other = "caller" if we_are == "callee" else "callee"
    return f"{other}_{peer_reason or 'bye'}"
