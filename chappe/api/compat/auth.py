"""Authentication of the compatibility APIs: an account's API key (smsmode's
`accessToken`, smsmode REST's `X-Api-Key`, Twilio's auth token beside the Account SID),
looked up by `accounts.services.api_key_authenticate` as `/api/v1` does, behind the one
back-off every credential check of the platform uses (`common.throttle`): after a few
failures from one address (or for one account SID), attempts are refused at once, the
wait doubling up to a minute.

The throttle is one per process (like the SMPP server's): each web process throttles on
its own.
"""

import hmac
from dataclasses import dataclass

from django.http import HttpRequest

from chappe.accounts.actor import Actor
from chappe.accounts.models import ApiKey
from chappe.accounts.services import api_key_authenticate
from chappe.common.throttle import FailureThrottle

# Tests replace it (`auth.THROTTLE = FailureThrottle(clock=…)`) to drive the clock.
THROTTLE = FailureThrottle(free=5, base=1.0, cap=60.0)
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Refused:
    """Authentication refused; `retry_after` > 0 when throttled."""

    retry_after: int = 0


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def authenticate(request: HttpRequest, raw_key: str, *, account_sid: str | None = None,
                 ) -> Actor | Refused:
    """The actor of a valid key (and, for Twilio, the Account SID it must belong to)."""
    keys = [f"ip:{client_ip(request)}"] + ([f"sid:{account_sid[:40]}"] if account_sid else [])
    if wait := THROTTLE.retry_after(*keys):
        return Refused(retry_after=wait)
    key: ApiKey | None = None
    if raw_key and len(raw_key) <= MAX_KEY_LENGTH and "\x00" not in raw_key:
        key = api_key_authenticate(raw_key=raw_key)
    if key is not None and account_sid is not None and not hmac.compare_digest(
            key.account.twilio_account_sid.encode(), account_sid.encode()):
        key = None
    if key is None:
        THROTTLE.failed(*keys)
        return Refused()
    THROTTLE.succeeded(*keys)
    actor = Actor(account=key.account, api_key=key, ip=request.META.get("REMOTE_ADDR") or None,
                  user_agent=request.headers.get("User-Agent", "")[:400])
    request.actor = actor  # type: ignore[attr-defined]
    return actor
