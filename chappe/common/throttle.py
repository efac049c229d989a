"""Back-off after failed authentications — the one throttle every credential check uses
(SMPP binds, SIP REGISTERs and trunk INVITEs; web logins use django-axes).

A failure is recorded under one or more keys (a peer address, a system_id, a SIP user…).
After `free` failures in a row under a key, the key is blocked for `base` seconds, a delay
that doubles with each further failure up to `cap`; while any of its keys is blocked an
attempt is refused at once, without checking (and paying for) the credentials. A success
clears its keys, and a key that has not failed for `forget` seconds starts afresh — so a
password guesser gets a few tries a minute, and a phone or client with a wrong password
that is fixed gets in once its delay has passed.

Memory is bounded: at most `max_keys` keys are tracked, the least recently failed dropped
first, so a flood from many addresses costs a fixed amount. Pure: the clock is injected,
no I/O; one instance per process, shared by its connections (not across processes: each
copy of a role throttles on its own).
"""

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


class FailureThrottle:
    def __init__(self, *, free: int = 3, base: float = 1.0, cap: float = 60.0,
                 forget: float = 600.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base, self.cap, self.forget = free, base, cap, forget
        self.max_keys = max_keys
        self.clock = clock
        self._keys: OrderedDict[str, _Failures] = OrderedDict()

    def retry_after(self, *keys: str) -> int:
        """0 when an attempt under these keys may be checked now, else the whole seconds
        until it may (for a `Retry-After`)."""
        now = self.clock()
        wait = max((f.blocked_until - now for key in keys
                    if (f := self._keys.get(key)) is not None), default=0.0)
        return math.ceil(wait) if wait > 0 else 0

    def failures(self, key: str) -> int:
        """Failures in a row under `key` (0 once forgotten or cleared)."""
        failures = self._keys.get(key)
        if failures is None or self.clock() - failures.last >= self.forget:
            return 0
        return failures.count

    def failed(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            failures = self._keys.setdefault(key, _Failures())
            if now - failures.last >= self.forget:
                failures.count = 0
            failures.count += 1
            failures.last = now
            if failures.count >= self.free:
                failures.blocked_until = now + min(
                    self.cap, self.base * 2 ** (failures.count - self.free))
            self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._keys.pop(key, None)
