"""Back-off for failed binds, per peer address and per system_id, shared by every
connection of a server process.

A password check costs a deliberate hash in an executor thread; without a limit, a flood
of wrong binds keeps those threads busy and a good bind waits behind it (32 concurrent
wrong binds once made a good one take 17 s). After `free` failures in a row, a key (the
address, or the system_id) is blocked for a delay that doubles with each further failure
up to `cap`; a bind from a blocked address or for a blocked system_id is refused at once,
without hashing. A success clears both keys. Past `MAX_KEYS` keys, those idle for
`forget` seconds are dropped, then, if still too many (a flood of made-up system_ids),
all but the blocked ones, so that the table stays bounded.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_KEYS = 10_000


@dataclass
class _Failures:
    count: int = 0
    blocked_until: float = 0.0
    last: float = 0.0


class BindGuard:
    def __init__(self, *, free: int = 3, base: float = 1.0, cap: float = 60.0,
                 forget: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base, self.cap, self.forget = free, base, cap, forget
        self.clock = clock
        self._keys: dict[str, _Failures] = {}

    @staticmethod
    def _keys_of(ip: str, system_id: str) -> tuple[str, str]:
        return f"ip:{ip}", f"id:{system_id}"

    def blocked(self, *, ip: str, system_id: str) -> bool:
        now = self.clock()
        return any((f := self._keys.get(key)) is not None and f.blocked_until > now
                   for key in self._keys_of(ip, system_id))

    def failed(self, *, ip: str, system_id: str) -> None:
        now = self.clock()
        if len(self._keys) > MAX_KEYS:  # idle keys first; in a flood of new keys, all
            self._keys = {k: f for k, f in self._keys.items() if now - f.last < self.forget}
            if len(self._keys) > MAX_KEYS:  # but those blocked now
                self._keys = {k: f for k, f in self._keys.items() if f.blocked_until > now}
        for key in self._keys_of(ip, system_id):
            failures = self._keys.setdefault(key, _Failures())
            if now - failures.last >= self.forget:
                failures.count = 0
            failures.count += 1
            failures.last = now
            if failures.count >= self.free:
                delay = min(self.cap, self.base * 2 ** (failures.count - self.free))
                failures.blocked_until = now + delay

    def succeeded(self, *, ip: str, system_id: str) -> None:
        for key in self._keys_of(ip, system_id):
            self._keys.pop(key, None)
