"""The registrar: agents' phones (any SIP softphone or desk phone) REGISTER with the
digest credentials the web app shows them (RFC 3261 §10.3), and calls to an agent go to
the contacts they registered (`contacts_of`, rung by chappe.voice.outbound.ring_all).

A REGISTER is handled in this order, each step answering on its own:

1. **Validation** (400 with the reason in the phrase): a To without a user, a CSeq that is
   not `<number below 2**31> REGISTER`, an Expires or `expires` parameter that is not a
   number, a Contact that is no SIP URI, `Contact: *` with anything but `Expires: 0` and
   no other contact, a control character (NUL…) in any of these. Missing mandatory
   headers get their 400 from the SIP stack before the request reaches here.
2. **Throttling** (503 with Retry-After): an address whose authentications keep failing
   (chappe.common.throttle) is refused without a look at its credentials.
3. **Digest authentication** (chappe.voice.sip.digest, realm `chappe`, MD5, qop=auth,
   stateless nonces that go stale after a minute): no Authorization gets the 401
   challenge; an unknown username or a wrong answer gets 403 and counts as a failure of
   its address; a stale nonce gets a fresh challenge with `stale=true`. The To user must
   be the authenticated username (403): a phone registers only its own address.
4. **Bindings** (chappe.voice.registrations): 200 listing every contact of the user with
   its `expires`, 423 with Min-Expires, 500 for a REGISTER out of order, 403 for too many
   contacts.

Credentials come from the directory the engine is given (`PhoneDirectory.sip_credentials`);
no SIP library is used here (the endpoint hands over a plain RegisterRequest)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from email.utils import formatdate

from chappe.common.throttle import FailureThrottle
from chappe.voice.directory import PhoneDirectory, SipCredentials
from chappe.voice.registrations import (
    EXPIRES_CEILING,
    Binding,
    ContactRequest,
    Registrant,
    Registrations,
)
from chappe.voice.sip.base import RegisterReply, RegisterRequest
from chappe.voice.sip.digest import (
    REALM,
    DigestResult,
    authorization_parse,
    challenge_header,
    digest_check,
    nonce_issue,
)

logger = logging.getLogger("chappe.voice.registrar")

MAX_USERNAME = 64
CSEQ_CEILING = 2**31  # RFC 3261 §8.1.1.5: a CSeq number is below it
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_CSEQ = re.compile(r"\s*(\d{1,10})\s+REGISTER\s*", re.IGNORECASE)
_DIGITS = re.compile(r"\s*(\d+)\s*")
# sip:user@host:port;params — the host a name, an IPv4 address or a bracketed IPv6 one.
_SIP_URI = re.compile(r"sips?:(?:([^@;>?\s]+)@)?(?:\[[0-9A-Fa-f:.]+\]|[^@;>?\s:\[\]]+)"
                      r"(?::\d{1,5})?(?:[;?][^>\s]*)?", re.IGNORECASE)


class BadRequest(ValueError):
    """A REGISTER we cannot read: answered 400 with this reason."""


class Registrar:
    """Answers REGISTERs (module doc) on the `registrations` table it is given; `secret`
    signs the nonces, `throttle` counts failed authentications per address, `wall` is the
    clock of nonces and of the Date header."""

    def __init__(self, directory: PhoneDirectory, registrations: Registrations, *,
                 secret: bytes, throttle: FailureThrottle,
                 wall: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.registrations = registrations
        self.secret = secret
        self.throttle = throttle
        self.wall = wall

    def contacts_of(self, username: str) -> list[Binding]:
        """The phones `username` is registered from now: ring them all."""
        return self.registrations.contacts_of(username)

    def contacts_of_agent(self, agent_id: str) -> list[Binding]:
        """The phones of every SIP username of the agent `agent_id`."""
        return self.registrations.contacts_of_agent(agent_id)

    async def register(self, request: RegisterRequest) -> RegisterReply:
        try:
            username, cseq, contacts, expires = _read(request)
        except BadRequest as exc:
            logger.info("REGISTER from %s: 400 %s", request.source, exc)
            return RegisterReply(400, f"Bad Request ({exc})")
        address = request.source[0]
        if wait := self.throttle.retry_after(address):
            logger.warning("REGISTER for %s from %s: too many failed authentications",
                           username, address)
            return RegisterReply(503, "Too Many Failed Authentications",
                                 [("Retry-After", str(wait))])
        credentials = await self._authenticate(request, username)
        if isinstance(credentials, RegisterReply):
            return credentials
        outcome = self.registrations.update(
            Registrant(username=username, call_id=request.call_id, cseq=cseq,
                       source=request.source, transport=request.transport,
                       account_id=credentials.account_id, agent_id=credentials.agent_id,
                       user_agent=request.user_agent),
            contacts, expires=expires)
        if outcome.status == 423:
            return RegisterReply(423, outcome.reason,
                                 [("Min-Expires", str(outcome.min_expires))])
        if outcome.status != 200:
            logger.info("REGISTER for %s from %s: %s %s", username, request.source,
                        outcome.status, outcome.reason)
            return RegisterReply(outcome.status, outcome.reason)
        now = self.registrations.clock()
        logger.info("REGISTER for %s from %s: %s contact(s)", username, request.source,
                    len(outcome.bindings))
        return RegisterReply(200, "OK", [
            *((("Contact", f"<{b.uri}>;expires={b.expires_in(now)}"))
              for b in outcome.bindings),
            ("Date", formatdate(self.wall(), usegmt=True))])

    async def _authenticate(self, request: RegisterRequest,
                            username: str) -> SipCredentials | RegisterReply:
        """The credentials of an authenticated REGISTER, or the reply refusing it."""
        now = self.wall()
        found = await phone_authenticate(self.directory, request.authorization,
                                         method="REGISTER", address=request.source[0],
                                         secret=self.secret, throttle=self.throttle, now=now)
        if found in (DigestResult.MISSING, DigestResult.STALE):
            return self._challenge(now, stale=found == DigestResult.STALE)
        if not isinstance(found, SipCredentials):
            logger.warning("REGISTER for %s from %s: wrong digest credentials", username,
                           request.source)
            return RegisterReply(403, "Forbidden")
        if found.username != username:
            logger.warning("REGISTER for %s from %s: authenticated as %s", username,
                           request.source, found.username)
            return RegisterReply(403, "Forbidden (To is another user)")
        return found

    def _challenge(self, now: float, *, stale: bool) -> RegisterReply:
        nonce = nonce_issue(secret=self.secret, now=now)
        return RegisterReply(401, "Unauthorized", [
            ("WWW-Authenticate", challenge_header(realm=REALM, nonce=nonce, stale=stale))])


async def phone_authenticate(directory: PhoneDirectory, authorization: str, *, method: str,
                             address: str, secret: bytes, throttle: FailureThrottle,
                             now: float) -> SipCredentials | DigestResult:
    """The phone user a request's digest answer proves (REGISTER, or an INVITE from a
    phone dialling a feature code), or why not: MISSING (challenge it), STALE (challenge
    again, `stale=true`), WRONG (an unknown user or a wrong answer: counted against the
    address)."""
    if not authorization:
        return DigestResult.MISSING
    params = authorization_parse(authorization) or {}
    credentials = None
    if params.get("username"):
        credentials = await directory.sip_credentials(params["username"])
    verdict = DigestResult.WRONG if credentials is None else digest_check(
        header=authorization, method=method, username=credentials.username,
        password=credentials.password, realm=REALM, secret=secret, now=now)
    if verdict == DigestResult.STALE:
        return verdict
    if verdict != DigestResult.OK or credentials is None:
        throttle.failed(address)
        return DigestResult.WRONG
    throttle.succeeded(address)
    return credentials


def _read(request: RegisterRequest) -> tuple[str, int, list[ContactRequest] | None,
                                             int | None]:
    """(username, CSeq number, contacts or None for `*`, Expires) of a REGISTER, or
    BadRequest."""
    values = [request.uri, request.to, request.call_id, request.cseq, request.expires or "",
              request.authorization, request.user_agent, *request.contacts]
    if any(_CONTROL.search(value) for value in values):
        raise BadRequest("control character in a header")
    to = _SIP_URI.search(_bracketed(request.to))
    username = to.group(1) if to else None
    if not username or len(username) > MAX_USERNAME:
        raise BadRequest("To names no user")
    cseq = _CSEQ.fullmatch(request.cseq)
    if cseq is None or int(cseq.group(1)) >= CSEQ_CEILING:
        raise BadRequest("CSeq")
    expires = _seconds(request.expires, "Expires") if request.expires is not None else None
    if any(value.strip() == "*" for value in request.contacts):
        if len(request.contacts) != 1 or expires != 0:
            raise BadRequest("Contact: * needs Expires: 0 and no other contact")
        return username, int(cseq.group(1)), None, expires
    return username, int(cseq.group(1)), [_contact(v) for v in request.contacts], expires


def _contact(value: str) -> ContactRequest:
    """A Contact value: `<uri>;params` or `uri;params` (whose parameters, without angle
    brackets, are the header's, not the URI's: RFC 3261 §20.10)."""
    value = value.strip()
    if "<" in value:
        start, end = value.find("<"), value.find(">")
        if end < start:
            raise BadRequest("Contact")
        uri, params = value[start + 1:end].strip(), value[end + 1:]
    else:
        uri, _, params = value.partition(";")
        params = ";" + params
    if not _SIP_URI.fullmatch(uri):
        raise BadRequest("Contact")
    expires = None
    for param in params.split(";"):
        name, _, raw = param.partition("=")
        if name.strip().lower() == "expires":
            expires = _seconds(raw, "Contact expires")
    return ContactRequest(uri, expires)


def _bracketed(value: str) -> str:
    start, end = value.find("<"), value.find(">")
    return value[start + 1:end] if 0 <= start < end else value


def _seconds(raw: str, what: str) -> int:
    digits = _DIGITS.fullmatch(raw)
    if digits is None:
        raise BadRequest(what)
    text = digits.group(1).lstrip("0") or "0"
    # A number of more digits than the ceiling has is above it (and int() of thousands of
    # digits is refused by Python).
    return EXPIRES_CEILING if len(text) > 10 else min(int(text), EXPIRES_CEILING)
