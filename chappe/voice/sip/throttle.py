"""Throttling of failed digest authentications, per source address.

Every authentication the engine checks (phones' REGISTERs, carrier trunks' INVITEs)
records its failures here; an address with `limit` failures within `window` seconds is
refused without any credential check until the oldest of them leaves the window — a
password guesser gets `limit` tries a window, a phone with a wrong password keeps
retrying at its own pace and is let in once fixed. A success clears the address.

Memory is bounded: at most `max_sources` addresses are tracked (the least recently
failed is dropped first), so a flood from many addresses costs a fixed amount. Pure: the
clock is injected, no I/O.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

FAILURES = 10
WINDOW = 60.0


class AuthThrottle:
    def __init__(self, *, limit: int = FAILURES, window: float = WINDOW,
                 max_sources: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.max_sources = limit, window, max_sources
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, source: str) -> int:
        """0 when `source` may try to authenticate now, else the seconds until it may."""
        failures = self._recent(source)
        if failures is None or len(failures) < self.limit:
            return 0
        return max(1, int(failures[0] + self.window - self.clock()) + 1)

    def failures(self, source: str) -> int:
        """How many failures of `source` are within the window now."""
        failures = self._recent(source)
        return 0 if failures is None else len(failures)

    def failed(self, source: str) -> None:
        failures = self._recent(source)
        if failures is None:
            failures = self._failures[source] = deque(maxlen=self.limit)
        failures.append(self.clock())
        self._failures.move_to_end(source)
        while len(self._failures) > self.max_sources:
            self._failures.popitem(last=False)

    def succeeded(self, source: str) -> None:
        self._failures.pop(source, None)

    def _recent(self, source: str) -> deque[float] | None:
        failures = self._failures.get(source)
        if failures is None:
            return None
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[source]
            return None
        return failures
