"""Digest authentication of the INVITEs a carrier sends us and of the REGISTERs of
agents' phones (RFC 3261 §22, digest as in RFC 2617 with MD5 and qop="auth", which every
carrier, phone and SIPp speak).

Nonces are stateless: a hex timestamp plus an HMAC of it under the engine's secret, so any
engine copy can check a nonce another copy issued, and nothing is stored per challenge.
A nonce is good for `NONCE_TTL` seconds; an older one gets a fresh challenge with
`stale=true` (the peer retries without asking its user). Nonce counts are not tracked, so
a captured answer can be replayed inside that window from an allowed source address.

Pure functions: no SIP library here; the runner and the registrar build the 401 and read
the header through the engine interface.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from enum import StrEnum

NONCE_TTL = 60
# The realm of our challenges (carrier trunks' INVITEs, phones' REGISTERs).
REALM = "chappe"
_PARAM = re.compile(r'([A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class DigestResult(StrEnum):
    OK = "ok"
    MISSING = "missing"  # no answer to a challenge: challenge (401)
    STALE = "stale"      # our nonce expired: challenge again, stale=true (401)
    WRONG = "wrong"      # wrong user, password, realm or forged nonce: refuse (403)


def nonce_issue(*, secret: bytes, now: float) -> str:
    stamp = f"{int(now):x}"
    return f"{stamp}.{_mac(secret, stamp)}"


def _mac(secret: bytes, stamp: str) -> str:
    return hmac.new(secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]


def challenge_header(*, realm: str, nonce: str, stale: bool = False) -> str:
    """The WWW-Authenticate value of a 401."""
    value = f'Digest realm="{realm}", nonce="{nonce}", algorithm=MD5, qop="auth"'
    return value + (", stale=true" if stale else "")


def authorization_parse(header: str) -> dict[str, str] | None:
    """The parameters of a `Digest …` Authorization value, or None if it is not one."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in _PARAM.finditer(rest)}


def digest_check(*, header: str, method: str, username: str, password: str, realm: str,
                 secret: bytes, now: float) -> DigestResult:
    """Check an Authorization header against the expected credentials."""
    if not header:
        return DigestResult.MISSING
    params = authorization_parse(header)
    if params is None:
        return DigestResult.WRONG
    nonce = params.get("nonce", "")
    stamp, _, mac = nonce.partition(".")
    try:
        issued = int(stamp, 16)
    except ValueError:
        return DigestResult.WRONG
    if not hmac.compare_digest(mac, _mac(secret, stamp)):
        return DigestResult.WRONG
    if params.get("algorithm", "MD5").upper() != "MD5":
        return DigestResult.WRONG
    if params.get("username") != username or params.get("realm") != realm:
        return DigestResult.WRONG
    expected = _response(params, method=method, password=password)
    if expected is None or not hmac.compare_digest(params.get("response", ""), expected):
        return DigestResult.WRONG
    if not 0 <= now - issued <= NONCE_TTL:
        return DigestResult.STALE
    return DigestResult.OK


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _response(params: dict[str, str], *, method: str, password: str) -> str | None:
    ha1 = _md5(f"{params.get('username')}:{params.get('realm')}:{password}")
    ha2 = _md5(f"{method}:{params.get('uri', '')}")
    qop = params.get("qop")
    if qop is None:
        return _md5(f"{ha1}:{params['nonce']}:{ha2}")
    if qop.lower() != "auth" or "nc" not in params or "cnonce" not in params:
        return None
    return _md5(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
