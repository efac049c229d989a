"""The registrations table of a voice engine: which phones (SIP contacts) each agent's SIP
username is registered from, until when (RFC 3261 §10.3).

Pure state over an injected clock: no SIP library, no I/O. The registrar
(chappe.voice.registrar) authenticates a REGISTER and hands the table its contacts; the
table applies RFC 3261 §10.3 steps 6 to 8 all or nothing:

* each contact's interval is its `expires` parameter, else the request's Expires, else
  `default_expires`; under `min_expires` (0 aside) the request is refused 423 with
  Min-Expires; above `max_expires` it is shortened;
* a binding is updated or removed only by a REGISTER of another Call-ID, or of its own
  Call-ID with a higher CSeq; a lower or equal CSeq on the same Call-ID (a REGISTER that
  arrived out of order) aborts the whole request (500 "Out of order request", as
  Kamailio answers);
* `Contact: *` with `Expires: 0` removes every binding of the user, by the same rule;
* at most `max_contacts` bindings per user (403 beyond).

Expired bindings are never returned (`contacts_of` reads the clock) and are forgotten by
`sweep()`, which the engine runs on a timer.

**One engine process only.** The table lives in the memory of the engine that received
the REGISTER: a phone is reachable through that engine, and a restart forgets every
binding until the phones refresh (within their interval; they re-register at once when
they see no answer to their keep-alives). A deployment with several engines behind one
address needs, next, the bindings in a shared store: a table of the database (one row per
binding, written on each REGISTER, read by whichever engine places the call; the engine
that received the REGISTER stays the one that can reach a phone behind NAT over UDP, so
the row names it, and another engine forwards the INVITE through it — a Path header,
RFC 3327), or a small replicated store (Redis with key expiry) when the database's
write rate matters. The interface below (`update`, `contacts_of`, `sweep`) is what such
a store implements.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

DEFAULT_EXPIRES = 3600
MIN_EXPIRES = 60
MAX_EXPIRES = 7200
MAX_CONTACTS = 10
# RFC 3261 §10.2.1.1 (and §20.19): larger values are read as this one.
EXPIRES_CEILING = 2**32 - 1


@dataclass(frozen=True)
class ContactRequest:
    """One Contact of a REGISTER: its URI and its `expires` parameter (None: absent)."""

    uri: str
    expires: int | None = None


@dataclass(frozen=True)
class Binding:
    """A registered contact: where to send an INVITE for `username` (the `uri`, through
    `source`, the address the REGISTER came from over `transport`: behind NAT the phone is
    reachable there, not at the private address of its Contact)."""

    username: str
    uri: str
    expires_at: float  # on the table's clock
    call_id: str
    cseq: int
    source: tuple[str, int]
    transport: str  # "udp" | "tcp"
    account_id: str = ""
    agent_id: str = ""
    user_agent: str = ""

    def expires_in(self, now: float) -> int:
        return max(0, round(self.expires_at - now))


@dataclass(frozen=True)
class Outcome:
    """What the table did with a REGISTER: `status` 200 with the user's bindings now, or
    the refusal (423 with `min_expires`, 500 out of order, 403 too many contacts)."""

    status: int
    reason: str = "OK"
    bindings: list[Binding] = field(default_factory=list)
    min_expires: int = 0


# The transport of an agent's browser's binding (chappe.voice.browser): not SIP, rung by
# the engine itself.
WEBRTC = "webrtc"


@dataclass(frozen=True)
class Registrant:
    """Who sends the REGISTER, as the registrar authenticated it: the bindings keep it."""

    username: str
    call_id: str
    cseq: int
    source: tuple[str, int]
    transport: str
    account_id: str = ""
    agent_id: str = ""
    user_agent: str = ""


class Registrations:
    """The bindings of one engine process, by username (module doc)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 default_expires: int = DEFAULT_EXPIRES, min_expires: int = MIN_EXPIRES,
                 max_expires: int = MAX_EXPIRES, max_contacts: int = MAX_CONTACTS) -> None:
        assert 0 < min_expires <= default_expires <= max_expires
        self.clock = clock
        self.default_expires = default_expires
        self.min_expires = min_expires
        self.max_expires = max_expires
        self.max_contacts = max_contacts
        self._users: dict[str, dict[str, Binding]] = {}

    def __len__(self) -> int:
        """How many bindings are held (expired ones not yet swept included)."""
        return sum(map(len, self._users.values()))

    def contacts_of(self, username: str) -> list[Binding]:
        """The live bindings of `username`, longest-lived first (every one rings)."""
        now = self.clock()
        live = [b for b in self._users.get(username, {}).values() if b.expires_at > now]
        return sorted(live, key=lambda b: b.expires_at, reverse=True)

    def contacts_of_agent(self, agent_id: str) -> list[Binding]:
        """The live bindings of every username of the agent `agent_id` (a scan: a few
        thousand bindings per engine)."""
        return [binding for username in list(self._users)
                for binding in self.contacts_of(username) if binding.agent_id == agent_id]

    def update(self, registrant: Registrant, contacts: Sequence[ContactRequest] | None, *,
               expires: int | None) -> Outcome:
        """Apply a REGISTER of `registrant`: `contacts`, or None for `Contact: *` (then
        `expires` is 0: the registrar checked it); `expires` is its Expires header.
        Nothing changes unless the whole request is accepted. No contact at all: a query,
        answered with the current bindings."""
        now = self.clock()
        current = {uri: b for uri, b in self._users.get(registrant.username, {}).items()
                   if b.expires_at > now}
        if contacts is None:
            if any(not _newer(registrant, b) for b in current.values()):
                return Outcome(500, "Out of order request")
            self._store(registrant.username, {})
            return Outcome(200)
        wanted: dict[str, int] = {}
        for contact in contacts:
            seconds = contact.expires if contact.expires is not None else expires
            seconds = self.default_expires if seconds is None else min(seconds,
                                                                       EXPIRES_CEILING)
            if 0 < seconds < self.min_expires:
                return Outcome(423, "Interval Too Brief", min_expires=self.min_expires)
            wanted[contact.uri] = min(seconds, self.max_expires)
        after = dict(current)
        for uri, seconds in wanted.items():
            known = current.get(uri)
            if known is not None and not _newer(registrant, known):
                return Outcome(500, "Out of order request")
            if seconds == 0:
                after.pop(uri, None)
                continue
            after[uri] = Binding(
                username=registrant.username, uri=uri, expires_at=now + seconds,
                call_id=registrant.call_id, cseq=registrant.cseq, source=registrant.source,
                transport=registrant.transport, account_id=registrant.account_id,
                agent_id=registrant.agent_id, user_agent=registrant.user_agent)
        if len(after) > self.max_contacts:
            return Outcome(403, "Too Many Contacts")
        self._store(registrant.username, after)
        return Outcome(200, bindings=self.contacts_of(registrant.username))

    def _store(self, username: str, bindings: dict[str, Binding]) -> None:
        if bindings:
            self._users[username] = bindings
        else:
            self._users.pop(username, None)

    def attach(self, binding: Binding) -> None:
        """Hold `binding` as its username's only one, outside any REGISTER: an agent's
        browser (chappe.voice.browser), bound while its connection lasts."""
        self._users[binding.username] = {binding.uri: binding}

    def detach(self, username: str) -> None:
        """Forget every binding of `username` (an agent's browser gone)."""
        self._users.pop(username, None)

    def sweep(self) -> int:
        """Forget the expired bindings; how many were."""
        now, dropped = self.clock(), 0
        for username, bindings in list(self._users.items()):
            live = {uri: b for uri, b in bindings.items() if b.expires_at > now}
            dropped += len(bindings) - len(live)
            self._store(username, live)
        return dropped


def _newer(registrant: Registrant, binding: Binding) -> bool:
    """RFC 3261 §10.3 step 7: another Call-ID, or the same one with a higher CSeq."""
    return registrant.call_id != binding.call_id or registrant.cseq > binding.cseq
