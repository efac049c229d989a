"""Our engine interface: what the call logic needs from a SIP/RTP stack, nothing more.

The call runner (chappe.voice.runner), the transfer bridge (chappe.voice.bridge) and the
outbound dialer (chappe.voice.outbound) only see these protocols; `aiosipua_backend`
implements them on aiosipua + aiortp (docs/decisions/0016-voice-engine.md). Another stack
(pjsua, a B2BUA over ESL…) can replace it by implementing the same classes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

FRAME_MS = 20
FRAME_SAMPLES = 160           # 20 ms at 8 kHz
FRAME_BYTES = FRAME_SAMPLES * 2  # 16-bit PCM


class MediaLeg(Protocol):
    """The RTP side of an answered call (G.711, 8 kHz)."""

    codec: str  # "PCMA" or "PCMU"

    async def play(self, pcm: bytes, stop: asyncio.Event | None = None) -> bool:
        """Send 16-bit PCM as 20 ms RTP packets paced to the wall clock. True when it
        played to the end, False when `stop` was set first."""
        ...

    def set_dtmf_handler(self, handler: Callable[[str, int], None]) -> None:
        """Call `handler(digit, duration in ms)` once per RFC 4733 telephone-event (or SIP
        INFO digit)."""
        ...

    def set_audio_sink(self, sink: Callable[[bytes], None] | None) -> None:
        """Call `sink(pcm)` with each decoded frame received (16-bit PCM), or stop."""
        ...

    def send_audio(self, pcm: bytes) -> None:
        """Send 16-bit PCM now as one RTP packet (relaying: the sender's clock paces)."""
        ...

    def send_dtmf(self, digit: str, duration_ms: int) -> None:
        """Send one RFC 4733 telephone-event."""
        ...

    def start_recording(self) -> None: ...

    def stop_recording(self) -> bytes:
        """The 16-bit PCM received since start_recording, gaps filled with silence."""
        ...

    def stats(self) -> dict: ...


class InboundCall(Protocol):
    """An INVITE received on one of our numbers."""

    call_id: str
    caller: str        # From user part
    callee: str        # Request-URI user part
    source: tuple[str, int]
    ended: asyncio.Event  # set when the peer ended the call (BYE or CANCEL)
    end_reason: str       # "bye" | "cancel" | "ack_timeout" | "session_expired" | ""

    def ringing(self) -> None: ...

    async def answer(self) -> MediaLeg:
        """Send 200 OK with our SDP answer and start RTP; to an INVITE without an offer,
        the 200 carries ours and the media starts with the answer in the ACK. Raises
        MediaRefused (see there)."""
        ...

    @property
    def authorization(self) -> str:
        """The INVITE's Authorization header ("" when absent)."""
        ...

    def reject(self, status: int, reason: str = "",
               headers: dict[str, str] | None = None) -> None: ...

    async def hangup(self) -> None:
        """Send BYE (answered) and release media."""
        ...


CallHandler = Callable[[InboundCall], Awaitable[None]]


class MediaRefused(RuntimeError):
    """No media could be agreed on an inbound call: its offer names no codec we speak
    (the INVITE was answered 488), or the answer due in the ACK (to our offer in the 200
    OK, when the INVITE had none) is missing or unusable — the runner then hangs up."""


class OutboundFailed(RuntimeError):
    """An INVITE we sent got a final error (or no answer in time: 408)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.reason = status, reason


@dataclass
class Referral:
    """A REFER the far end sent in the call (RFC 3515, a blind transfer): the user part
    of its Refer-To, and `answer` to report how the transfer went (a NOTIFY with the
    status; 2xx and above end the implicit subscription)."""

    target: str
    answer: Callable[[int, str], None]
    # An attended transfer: the call the transferring agent placed to the target and
    # talked to first (the caller is handed to it rather than ringing the target again).
    call: OutboundCall | None = None


class OutboundCall(Protocol):
    """A call we placed and the far end answered."""

    call_id: str
    leg: MediaLeg
    ended: asyncio.Event  # set when the far end ended the call
    end_reason: str       # "bye" | "session_expired" | ""
    # The far end's REFERs, in the order they came (a transfer asked by an agent's phone).
    referrals: asyncio.Queue[Referral]

    async def hangup(self) -> None:
        """Send BYE (unless the far end already ended) and release media."""
        ...


class Originator(Protocol):
    """Places calls."""

    async def originate(self, *, caller: str, callee: str, remote: tuple[str, int],
                        transport: str = "udp", auth: tuple[str, str] | None = None,
                        timeout: float = 30.0, uri: str = "") -> OutboundCall:
        """INVITE `callee` at `remote` over "udp" or "tcp" (the Request-URI is `uri`, a
        registered contact's, or else sip:callee@remote), answering a 401/407 with
        `auth` (username, password). Returns the answered call; raises OutboundFailed
        (the final status, 408 when nobody answered within `timeout`: the INVITE is then
        CANCELed). Cancelling the awaiting task CANCELs the INVITE too."""
        ...


@dataclass(frozen=True)
class RegisterRequest:
    """A REGISTER as the endpoint hands it to the registrar: the header values as received
    (the registrar validates them), where it came from."""

    uri: str  # the Request-URI
    to: str
    call_id: str
    cseq: str
    contacts: list[str]  # one value per contact (a header listing several is split)
    expires: str | None  # the Expires header
    authorization: str
    source: tuple[str, int]  # the address it came from (behind NAT: the public one)
    transport: str  # "udp" | "tcp"
    user_agent: str = ""


@dataclass(frozen=True)
class RegisterReply:
    """The final response to a REGISTER: status, reason phrase, extra headers in order
    (a header may repeat: one Contact per binding)."""

    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)


RegisterHandler = Callable[[RegisterRequest], Awaitable[RegisterReply]]


class SipEndpoint(Protocol):
    """Listens on UDP and TCP, hands every new INVITE to `on_call` and every REGISTER to
    `on_register` (none: 405)."""

    on_call: CallHandler | None
    on_register: RegisterHandler | None

    async def start(self) -> tuple[str, int]:
        """Bind; returns the (host, port) actually bound."""
        ...

    async def stop(self) -> None: ...
