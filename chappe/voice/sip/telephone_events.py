"""RFC 4733 telephone-events received → one digit each, end bit or not.

An event is a run of packets sharing one RTP timestamp, the last ones (usually three)
carrying the end bit. aiortp 0.8 reports a digit only on an end bit: a digit whose end
packets were lost, or a sender that never sets the bit, was never heard. RFC 4733
§2.5.1.4 and §2.5.2.2 let the receiver end such an event itself; so a digit counts at
its first end packet, or when a new event starts, or when no packet of it came for
`quiet` seconds (senders update at least every 50 ms while the key is down). Pure but
for the loop's `call_later`, given in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# RFC 4733 §3.2 event codes of the DTMF keys.
DIGITS = "0123456789*#ABCD"
# Without an end bit, the event is over after this long with no packet of it.
QUIET_SECONDS = 0.25


class TelephoneEvents:
    """Feed each telephone-event packet to `packet()`; `on_digit(digit, duration in RTP
    clock units)` is called once per event."""

    def __init__(self, on_digit: Callable[[str, int], None], *,
                 call_later: Callable[..., asyncio.TimerHandle] | None = None,
                 quiet: float = QUIET_SECONDS) -> None:
        self._on_digit = on_digit
        self._call_later = call_later
        self._quiet = quiet
        self._timestamp: int | None = None
        self._event = 0
        self._duration = 0
        self._reported = True
        self._timer: asyncio.TimerHandle | None = None

    def packet(self, *, timestamp: int, event: int, end: bool, duration: int) -> None:
        if timestamp != self._timestamp:
            self._report()  # a new event ends the one before (no end bit seen)
            self._timestamp, self._event, self._reported = timestamp, event, False
        if self._reported:
            return  # the end packet's retransmissions
        self._event, self._duration = event, max(self._duration, duration)
        if end:
            self._report()
            return
        self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        call_later = self._call_later or asyncio.get_running_loop().call_later
        self._timer = call_later(self._quiet, self._report)

    def _report(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._reported:
            return
        self._reported = True
        duration, self._duration = self._duration, 0
        if 0 <= self._event < len(DIGITS):
            self._on_digit(DIGITS[self._event], duration)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
