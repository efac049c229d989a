"""Our engine interface: what the call logic needs from a SIP/RTP stack, nothing more.

The call runner (chappe.voice.runner) only sees these protocols; `aiosipua_backend`
implements them on aiosipua + aiortp (docs/decisions/0016-voice-engine.md). Another stack
(pjsua, a B2BUA over ESL…) can replace it by implementing the same three classes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
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

    def set_dtmf_handler(self, handler: Callable[[str], None]) -> None:
        """Call `handler(digit)` once per RFC 4733 telephone-event (or SIP INFO)."""
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
    end_reason: str       # "bye" | "cancel" | "ack_timeout" | ""

    def ringing(self) -> None: ...

    async def answer(self) -> MediaLeg:
        """Send 200 OK with our SDP answer and start RTP."""
        ...

    def reject(self, status: int, reason: str = "") -> None: ...

    async def hangup(self) -> None:
        """Send BYE (answered) and release media."""
        ...


CallHandler = Callable[[InboundCall], Awaitable[None]]


class SipEndpoint(Protocol):
    """Listens on UDP and TCP and hands every new INVITE to `on_call`."""

    on_call: CallHandler | None

    async def start(self) -> tuple[str, int]:
        """Bind; returns the (host, port) actually bound."""
        ...

    async def stop(self) -> None: ...
