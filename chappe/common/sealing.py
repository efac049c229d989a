"""Seal a short secret the platform must be able to read back (a Twilio auth token that
signs status callbacks, issue 17): `cryptography`'s Fernet (AES-128-CBC with an
HMAC-SHA256 tag, a fresh IV per seal) under a key derived from SECRET_KEY for this one
purpose. A token sealed under one SECRET_KEY cannot be opened under another (rotating
SECRET_KEY makes old seals unreadable: their callbacks go unsigned-invalid, which
receivers refuse).
"""

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SealBroken(ValueError):
    """Not a seal made with this platform's key (tampered, or another SECRET_KEY)."""


def _fernet() -> Fernet:
    key = hmac.new(settings.SECRET_KEY.encode(), b"chappe.sealing", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SealBroken("not a seal of this platform") from exc
