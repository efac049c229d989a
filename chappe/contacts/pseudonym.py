"""The keyed hash that stands in for an erased number (P-12).

An erased recipient who had opted out must stay opted out, yet the number itself must go:
the red-list entry keeps HMAC-SHA256(secret key, account id + number) instead. The key is
the deployment's SECRET_KEY (not in the database), so a copy of the database alone does
not let anyone test numbers against the hashes; the account id in the message makes the
same number hash differently in two accounts, so hashes do not link tenants. Lookups
also try SECRET_KEY_FALLBACKS, so rotating the key keeps erased opt-outs working.
"""

import hashlib
import hmac

from django.conf import settings


def _keys() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def number_hash(*, account_id: object, number: str, key: str | None = None) -> str:
    message = f"chappe.contacts.optout:{account_id}:{number}".encode()
    secret = (key if key is not None else settings.SECRET_KEY).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def number_hashes(*, account_id: object, number: str) -> list[str]:
    """The hash of `number` under the current key and every fallback key."""
    return [number_hash(account_id=account_id, number=number, key=key) for key in _keys()]
