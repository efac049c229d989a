"""What RBM pushes to our webhook, checked before anything is believed (decision 0056).

RBM posts a Pub/Sub push envelope, `{"message": {"data": <base64 JSON>, …}}`, signed
with `X-Goog-Signature`: base64 of HMAC-SHA512 of the raw body under the webhook's
client token. The decoded event is a user message (`text`, or `suggestionResponse` for a
tap, with its `postbackData`) or an `event` (`DELIVERED`, `READ`; `IS_TYPING` and others
are acknowledged and ignored). Unknown fields are ignored (RBM adds fields over time);
a field we read must have the type we expect, else the whole body is refused.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterator

from django.conf import settings
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic import ValidationError as SchemaError

from chappe.carriers.base import PollResult, Receipt
from chappe.carriers.rcs import READ, RcsInbound
from chappe.common.numbers import InvalidNumber, normalize

MAX_BODY = 64 * 1024
RECEIPTS = {"DELIVERED": "delivered", "READ": READ}


class BadEvent(ValueError):
    """The body is not an RBM event we can read; the message says why (for the 400)."""


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Data(_Loose):
    data: str = Field(min_length=1, max_length=MAX_BODY)


class _Envelope(_Loose):
    message: _Data


class _SuggestionResponse(_Loose):
    postbackData: str = Field("", max_length=2048)
    text: str = Field("", max_length=3072)


class _Event(_Loose):
    eventType: str = Field(max_length=64)
    messageId: str = Field(min_length=1, max_length=200)


class RbmEvent(_Loose):
    senderPhoneNumber: str = Field(min_length=1, max_length=32)
    agentId: str = Field("", max_length=200)
    messageId: str = Field(min_length=1, max_length=200)
    sendTime: AwareDatetime
    text: str | None = Field(None, max_length=3072)
    suggestionResponse: _SuggestionResponse | None = None
    event: _Event | None = None


def signature_valid(*, body: bytes, signature: str, secret: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha512).digest())
    return hmac.compare_digest(expected, signature.encode("ascii", "replace"))


def event_parse(body: bytes) -> RbmEvent:
    """The event in `body`, or `BadEvent` saying what is wrong."""
    try:
        envelope = _Envelope.model_validate_json(body)
        decoded = base64.b64decode(envelope.message.data, validate=True)
        event = RbmEvent.model_validate_json(decoded)
    except (SchemaError, binascii.Error, ValueError) as exc:
        raise BadEvent(_why(exc)) from exc
    if any("\x00" in text for text in _strings(event.model_dump())):
        raise BadEvent("NUL character")  # PostgreSQL cannot store it
    try:
        normalize(event.senderPhoneNumber, default_country=settings.CHAPPE_DEFAULT_COUNTRY)
    except InvalidNumber as exc:
        raise BadEvent("senderPhoneNumber: not a phone number") from exc
    return event


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _why(exc: Exception) -> str:
    if isinstance(exc, SchemaError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'body'}: {first['msg']}"
    return "message.data: not base64 JSON"


def event_as_reports(event: RbmEvent, *, agents: dict[str, str]) -> PollResult:
    """The event as the receipts and MOs a connector reports (`agents`: our sender ids →
    RBM agent ids; an MO is addressed to our sender id, so replies find the message)."""
    number = normalize(event.senderPhoneNumber,
                       default_country=settings.CHAPPE_DEFAULT_COUNTRY).e164
    if event.event is not None:
        status = RECEIPTS.get(event.event.eventType)
        return PollResult(receipts=[Receipt(event.event.messageId, status, "", event.sendTime)]
                          if status else [])
    ours = {agent_id: sender for sender, agent_id in agents.items()}
    to = ours.get(event.agentId, event.agentId)
    if event.suggestionResponse is not None:
        tap = event.suggestionResponse
        return PollResult(inbound=[RcsInbound(event.messageId, number, to, tap.text,
                                              event.sendTime, postback_data=tap.postbackData)])
    if event.text:
        return PollResult(inbound=[RcsInbound(event.messageId, number, to, event.text,
                                              event.sendTime)])
    return PollResult()  # a location or a file: not carried yet
