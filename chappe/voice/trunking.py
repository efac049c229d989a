"""Which trunk carries a call, and whether a trunk may take one more: the pure core of
trunk routing (ARCHITECTURE convention 6). No I/O: the engine loads the trunks, this
module orders them and counts calls.

- **Outbound routing** is longest-prefix match on the E.164 number over each trunk's
  `number_prefixes`; a trunk without prefixes matches any number, behind every trunk with
  a matching prefix. Ties keep the trunks' order (by name). The caller walks the list and
  fails over to the next trunk when one is at a cap or answers 503.
- **Caps** (`max_concurrent_calls`, `calls_per_second`, 0 meaning none) count both
  directions of a trunk. They are kept per engine process: with several engine copies
  each enforces the caps on its own share of the calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrunkRoute:
    """What the engine needs of one trunk (a plain copy of `callcenter.Trunk`)."""

    name: str
    host: str
    port: int = 5060
    transport: str = "udp"  # "udp" | "tcp"
    # Digest credentials we answer the carrier's challenges with (outbound).
    username: str = ""
    password: str = field(default="", repr=False)
    # Digest credentials the carrier must present on its INVITEs (inbound; empty: none).
    inbound_username: str = ""
    inbound_password: str = field(default="", repr=False)
    allowed_ips: tuple[str, ...] = ()
    number_prefixes: tuple[str, ...] = ()
    max_concurrent_calls: int = 0
    calls_per_second: int = 0

    @property
    def remote(self) -> tuple[str, int]:
        return self.host, self.port

    def prefix_length(self, e164: str) -> int | None:
        """Length of the longest prefix of this trunk matching `e164`: 0 for a trunk
        without prefixes, None when no prefix matches."""
        if not self.number_prefixes:
            return 0
        matches = [len(p) for p in self.number_prefixes if e164.startswith(p)]
        return max(matches) if matches else None


def trunk_candidates(e164: str, trunks: Iterable[TrunkRoute]) -> list[TrunkRoute]:
    """The trunks that may carry a call to `e164`, best first (longest matching prefix;
    stable for ties)."""
    scored = [(length, index, trunk) for index, trunk in enumerate(trunks)
              if (length := trunk.prefix_length(e164)) is not None]
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [trunk for _length, _index, trunk in scored]


class TrunkGate:
    """Calls in progress and call attempts per second, per trunk.

    `admit` takes a slot when the trunk is under both caps; every admitted call gives its
    slot back with `release` when it ends. The per-second cap is a token bucket holding at
    most `calls_per_second` tokens, refilled continuously: a burst of that many calls,
    then that many a second.
    """

    def __init__(self) -> None:
        self._in_progress: dict[str, int] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # name → (tokens, at)

    def in_progress(self, name: str) -> int:
        return self._in_progress.get(name, 0)

    def admit(self, trunk: TrunkRoute, now: float) -> str:
        """"" when admitted (a slot is taken), else why not: "concurrent" or "rate"."""
        if trunk.max_concurrent_calls and self.in_progress(trunk.name) >= \
                trunk.max_concurrent_calls:
            return "concurrent"
        if trunk.calls_per_second:
            rate = float(trunk.calls_per_second)
            tokens, at = self._buckets.get(trunk.name, (rate, now))
            tokens = min(rate, tokens + max(now - at, 0.0) * rate)
            if tokens < 1.0:
                self._buckets[trunk.name] = (tokens, now)
                return "rate"
            self._buckets[trunk.name] = (tokens - 1.0, now)
        self._in_progress[trunk.name] = self.in_progress(trunk.name) + 1
        return ""

    def release(self, name: str) -> None:
        count = self.in_progress(name) - 1
        if count < 0:
            raise RuntimeError(f"trunk {name}: released more calls than admitted")
        self._in_progress[name] = count

