"""Seal a short secret the platform must be able to read back (a Twilio auth token that
signs status callbacks, issue 17): encrypt-then-MAC with keys derived from SECRET_KEY.

HMAC-SHA256 in counter mode is the key stream (a PRF used as a stream cipher, a fresh
random 16-byte nonce per seal), HMAC-SHA256 over nonce and ciphertext the tag. Stdlib
only: the project has no cryptography dependency, and this is the whole need. A token
sealed under one SECRET_KEY cannot be opened under another (rotating SECRET_KEY makes
old seals unreadable: their callbacks go unsigned-invalid, which receivers refuse).
"""

import base64
import hashlib
import hmac
import secrets

from django.conf import settings

_NONCE = 16
_TAG = 16


class SealBroken(ValueError):
    """Not a seal made with this platform's key (tampered, or another SECRET_KEY)."""


def _key(purpose: str) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), f"chappe.sealing.{purpose}".encode(),
                    hashlib.sha256).digest()


def _stream(nonce: bytes, length: int) -> bytes:
    key, blocks = _key("encrypt"), []
    for counter in range((length + 31) // 32):
        blocks.append(hmac.new(key, nonce + counter.to_bytes(8, "big"), hashlib.sha256).digest())
    return b"".join(blocks)[:length]


def seal(secret: str) -> str:
    plain = secret.encode()
    nonce = secrets.token_bytes(_NONCE)
    cipher = bytes(a ^ b for a, b in zip(plain, _stream(nonce, len(plain)), strict=True))
    tag = hmac.new(_key("mac"), nonce + cipher, hashlib.sha256).digest()[:_TAG]
    return base64.urlsafe_b64encode(nonce + cipher + tag).decode()


def unseal(sealed: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
    except ValueError as exc:
        raise SealBroken("not base64") from exc
    if len(raw) < _NONCE + _TAG:
        raise SealBroken("too short")
    nonce, cipher, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
    expected = hmac.new(_key("mac"), nonce + cipher, hashlib.sha256).digest()[:_TAG]
    if not hmac.compare_digest(expected, tag):
        raise SealBroken("bad tag")
    return bytes(a ^ b for a, b in zip(cipher, _stream(nonce, len(cipher)), strict=True)).decode()
