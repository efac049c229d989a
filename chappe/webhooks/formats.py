"""Callback formats other than Chappe's signed JSON (issue 17): smsmode's GET, smsmode
REST's JSON, Twilio's signed form posts. The webhooks machinery keeps what it always did
— one row per event written in the caller's transaction, delivered at least once by the
job queue through `common.outbound_http` (no private or loopback address unless the
operator allows it), every attempt logged — and asks the event's format only how the
request looks (`render`) and, optionally, what to do with a 2xx answer (`answered`:
Twilio's TwiML reply).

Formats are registered by the edge that speaks the protocol (`api.compat`, in its app's
`ready()`), like job handlers: this floor does not know the protocols.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outbound:
    method: str  # "GET" or "POST"
    url: str
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookFormat:
    render: Callable[[Any], Outbound]  # the WebhookEvent → the request to make
    # Called with (event, body of the 2xx answer) in the transaction that marks the
    # event delivered; at most `answer_limit` bytes of the body are read.
    answered: Callable[[Any, bytes], None] | None = None
    answer_limit: int = 0


_FORMATS: dict[str, WebhookFormat] = {}


def webhook_format_register(name: str, fmt: WebhookFormat) -> None:
    _FORMATS[name] = fmt


def webhook_format(name: str) -> WebhookFormat | None:
    return _FORMATS.get(name)
