"""The INVITE server transactions we end with an error (RFC 3261 §17.2.1), kept only as
long as the timers say.

A refused INVITE (404 for an unknown number, 403, 480, 488, 503…) leaves state behind:
the SIP stack's call and transaction, and what answers a retransmission of the INVITE.
aiosipua 0.7.1 dropped it only when an ACK came, so INVITEs from scanners and broken
peers that never ACK (3,000 to an unknown number kept ~6.4 KB each) stayed forever.
Here each one lives by the RFC's timers:

* **Timer G** (unreliable transports): the final response is sent again at T1, 2·T1, …
  capped at T2, until the ACK arrives — the caller may have lost it.
* **Timer H** (64·T1, 32 s): no ACK by then, the transaction is forgotten.
* **Timer I** (T4 = 5 s over UDP, 0 over TCP): after the ACK, retransmissions of the
  INVITE and of the ACK are absorbed for that long, then the transaction is forgotten.

The timers are the asyncio loop's (`call_later`), with values a test may shorten
(`SipTimers`). What to send and what to forget are given as callbacks, so this module
knows no SIP library."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

logger = logging.getLogger("chappe.voice.sip")


@dataclass(frozen=True)
class SipTimers:
    """RFC 3261 §17.1.1.1 base values (seconds)."""

    t1: float = 0.5  # round-trip estimate
    t2: float = 4.0  # the longest retransmit interval of a final response
    t4: float = 5.0  # the longest a message stays in the network

    @property
    def h(self) -> float:
        """Timer H: how long to wait for the ACK of a final error response."""
        return 64 * self.t1


class _Refused:
    __slots__ = ("acked", "forget", "handle", "interval", "resend")

    def __init__(self, resend: Callable[[], None], forget: Callable[[], None],
                 interval: float) -> None:
        self.resend, self.forget, self.interval = resend, forget, interval
        self.acked = False
        self.handle: asyncio.TimerHandle | None = None


class RefusedInvites:
    """The INVITE server transactions answered with a final error, from the response to
    their end (Timer H or I), by a key naming the INVITE (its Call-ID and CSeq number: a
    new INVITE of the same call, such as the retry after a 401, is another transaction).
    At most `limit` are kept: past it (a flood) the oldest is forgotten early."""

    def __init__(self, timers: SipTimers | None = None, *, limit: int = 10_000) -> None:
        self.timers = timers or SipTimers()
        self._limit = limit
        self._refused: OrderedDict[Hashable, _Refused] = OrderedDict()
        self._deadlines: dict[Hashable, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._refused)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._refused

    def add(self, key: Hashable, *, reliable: bool, resend: Callable[[], None],
            forget: Callable[[], None]) -> None:
        """The final error response to the INVITE `key` was just sent: `resend()` sends
        it again, `forget()` drops what the SIP stack keeps of the transaction."""
        self._drop(key)
        loop = asyncio.get_running_loop()
        refused = self._refused[key] = _Refused(resend, forget, self.timers.t1)
        if not reliable:
            refused.handle = loop.call_later(refused.interval, self._timer_g, key)
        self._deadlines[key] = loop.call_later(self.timers.h, self._end, key)
        while len(self._refused) > self._limit:
            self._end(next(iter(self._refused)))

    def retransmitted(self, key: Hashable) -> bool:
        """The INVITE `key` came again: the response again (RFC 3261 §17.2.1), or nothing
        once the ACK came (the transaction is confirmed: absorbed). False when it is not
        a refused INVITE's (a new one: the caller handles it)."""
        refused = self._refused.get(key)
        if refused is None:
            return False
        if not refused.acked:
            refused.resend()
        return True

    def acked(self, key: Hashable, *, reliable: bool) -> bool:
        """The ACK of the INVITE `key` came: stop resending, absorb retransmissions for
        Timer I, then end. False when `key` is no refused INVITE (the ACK of a 2xx)."""
        refused = self._refused.get(key)
        if refused is None:
            return False
        if refused.acked:
            return True  # a retransmitted ACK, absorbed
        refused.acked = True
        if refused.handle is not None:
            refused.handle.cancel()
            refused.handle = None
        self._deadlines.pop(key).cancel()
        self._deadlines[key] = asyncio.get_running_loop().call_later(
            0 if reliable else self.timers.t4, self._end, key)
        return True

    def _timer_g(self, key: Hashable) -> None:
        refused = self._refused.get(key)
        if refused is None or refused.acked:
            return
        refused.resend()
        refused.interval = min(2 * refused.interval, self.timers.t2)
        refused.handle = asyncio.get_running_loop().call_later(refused.interval,
                                                               self._timer_g, key)

    def _end(self, key: Hashable) -> None:
        refused = self._drop(key)
        if refused is not None:
            try:
                refused.forget()
            except Exception:  # the stack's state is gone already: nothing to keep
                logger.exception("refused INVITE %s: forgetting it failed", key)

    def _drop(self, key: Hashable) -> _Refused | None:
        refused = self._refused.pop(key, None)
        deadline = self._deadlines.pop(key, None)
        if deadline is not None:
            deadline.cancel()
        if refused is not None and refused.handle is not None:
            refused.handle.cancel()
        return refused

    def close(self) -> None:
        """Cancel every timer (the endpoint stops)."""
        for key in list(self._refused):
            self._drop(key)


class AnsweredRequests:
    """Non-INVITE server transactions answered after a wait (a REGISTER waits for the
    directory's credentials), RFC 3261 §17.2.2: a retransmission of the request while its
    answer is being worked out is absorbed, one after the answer gets it again, until
    Timer J (64·T1 over UDP, at once over TCP) ends the transaction. At most `limit` are
    kept (the oldest forgotten first)."""

    def __init__(self, timers: SipTimers | None = None, *, limit: int = 10_000) -> None:
        self.timers = timers or SipTimers()
        self._limit = limit
        # key → what resends the final response (None while it is being worked out)
        self._requests: OrderedDict[Hashable, Callable[[], None] | None] = OrderedDict()
        self._deadlines: dict[Hashable, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._requests)

    def begin(self, key: Hashable) -> bool:
        """True for a new request (the caller answers it, then calls `answered`); False
        for a retransmission, answered again here when its answer was sent."""
        if key in self._requests:
            resend = self._requests[key]
            if resend is not None:
                resend()
            return False
        self._requests[key] = None
        while len(self._requests) > self._limit:
            self._end(next(iter(self._requests)))
        return True

    def answered(self, key: Hashable, *, reliable: bool, resend: Callable[[], None]) -> None:
        """The final response to `key` was sent; `resend()` sends it again."""
        if key not in self._requests:
            return  # forgotten early (a flood), or the endpoint stopped
        self._requests[key] = resend
        self._deadlines[key] = asyncio.get_running_loop().call_later(
            0 if reliable else self.timers.h, self._end, key)

    def _end(self, key: Hashable) -> None:
        self._requests.pop(key, None)
        deadline = self._deadlines.pop(key, None)
        if deadline is not None:
            deadline.cancel()

    def close(self) -> None:
        for key in list(self._requests):
            self._end(key)
