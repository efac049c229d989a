"""What the three compatibility APIs share: the one way they send (the acceptance core
`/api/v1` uses), reading hostile form and query input, and the lifecycle statuses in
each protocol's words."""

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import unquote_to_bytes

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db import transaction
from django.http import HttpRequest

from chappe.accounts.actor import Actor
from chappe.common.sealing import seal
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import MessageKind, Send
from chappe.messaging.services.accept import SendOutcome, SmsRequest, sms_send_one
from chappe.webhooks.services import callback_url_problem

S = MessageStatus
# No parameter of these APIs is longer (a message of 10 parts is ~1,600 characters; a
# POST of many recipients is one long `numero`).
MAX_VALUE = 200_000
MAX_FIELDS = 200


class BadInput(ValueError):
    """A parameter no adapter can take: its name (or "" for the whole request) and why."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field, self.why = field, why


def parse_form(raw: bytes) -> list[tuple[bytes, bytes]]:
    """`application/x-www-form-urlencoded` pairs as bytes (percent escapes undone, not
    decoded: the caller decodes in the encoding the protocol says)."""
    pairs = []
    for field in raw.replace(b";", b"&").split(b"&") if raw else []:
        if not field:
            continue
        name, _sep, value = field.partition(b"=")
        pairs.append((unquote_to_bytes(name.replace(b"+", b" ")),
                      unquote_to_bytes(value.replace(b"+", b" "))))
        if len(pairs) > MAX_FIELDS:
            raise BadInput("", "too many fields")
    return pairs


def _decoded(pairs: list[tuple[bytes, bytes]], encoding: str) -> dict[str, str]:
    if len(pairs) > MAX_FIELDS:
        raise BadInput("", "too many fields")
    out: dict[str, str] = {}
    for raw_name, raw_value in pairs:
        try:
            name = raw_name.decode("ascii")
            value = raw_value.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise BadInput(raw_name.decode("ascii", "replace"),
                           f"not valid {encoding}") from exc
        if "\x00" in name or "\x00" in value:
            raise BadInput(name, "contains the NUL character")
        if len(value) > MAX_VALUE:
            raise BadInput(name, "too long")
        out.setdefault(name, value)  # the first of a repeated name, as smsmode reads it
    return out


def raw_query(request: HttpRequest) -> bytes:
    query = request.META.get("QUERY_STRING", "")
    try:
        return query.encode("latin-1")  # WSGI: the bytes as latin-1 characters
    except UnicodeEncodeError:
        return query.encode("utf-8", "surrogateescape")  # ASGI: decoded as UTF-8


def form_params(request: HttpRequest, *, encoding: str = "utf-8",
                query: bool = True, body: bool = True) -> dict[str, str]:
    """The query string and a form-encoded body, decoded strictly in `encoding` (a
    value that is not valid in it is refused, never guessed), NUL and oversize refused."""
    pairs: list[tuple[bytes, bytes]] = []
    if query:
        pairs += parse_form(raw_query(request))
    if body and request.method in ("POST", "PUT", "PATCH"):
        content_type = request.content_type or ""
        if content_type in ("application/x-www-form-urlencoded", "text/plain", ""):
            try:
                raw = request.body
            except (RequestDataTooBig, TooManyFieldsSent, SuspiciousOperation) as exc:
                raise BadInput("", "request body too large") from exc
            pairs += parse_form(raw)
        elif content_type == "multipart/form-data":
            try:
                fields = request.POST  # files stay in request.FILES
            except (RequestDataTooBig, TooManyFieldsSent, SuspiciousOperation) as exc:
                raise BadInput("", "request body too large") from exc
            # Django decoded the fields (UTF-8); the query string keeps `encoding`.
            decoded = _decoded(pairs, encoding)
            for name, value in _decoded([(n.encode(), v.encode()) for n in fields
                                         for v in fields.getlist(n)[:1]], "utf-8").items():
                decoded.setdefault(name, value)
            return decoded
    return _decoded(pairs, encoding)


def int_param(params: Mapping[str, str], name: str, *, low: int, high: int) -> int | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 9 or not low <= int(value) <= high:
        raise BadInput(name, f"an integer from {low} to {high}")
    return int(value)


def url_param(params: Mapping[str, str], name: str) -> str:
    url = params.get(name, "").strip()
    if url and len(url) > 500:
        raise BadInput(name, "at most 500 characters")
    if url and (problem := callback_url_problem(url)):
        raise BadInput(name, str(problem))
    return url


def sms_send_compat(*, actor: Actor, recipients: list[str], text: str, sender: str,
                    callback_format: str, callback_url: str = "", reply_url: str = "",
                    send_at: datetime | None = None, reference: str = "",
                    kind: str = MessageKind.TRANSACTIONAL, allow_reply: bool = False,
                    max_segments: int | None = None, idempotency_key: str | None = None,
                    signing_token: str = "") -> SendOutcome:
    """One send through the acceptance core (`sms_send_one`, as `/api/v1/sms`): the
    compatibility API's callback form and reply URL are fields of the `Send`. The
    Twilio auth token that signs its status callbacks is sealed onto the send after the
    acceptance (it is not part of the request the Idempotency-Key replays)."""
    outcome = sms_send_one(SmsRequest(
        actor=actor, account=actor.account, recipients=recipients, text=text, sender=sender,
        kind=kind, send_at=send_at, callback_url=callback_url, reference=reference,
        allow_reply=allow_reply, max_segments=max_segments, idempotency_key=idempotency_key,
        channel_fields={"callback_format": callback_format, "reply_url": reply_url}))
    if signing_token and not outcome.replayed:
        with transaction.atomic():
            Send.objects.filter(pk=outcome.send.pk).update(callback_secret=seal(signing_token))
    return outcome


# --- statuses in each protocol's words --------------------------------------------------

# smsmode's per-recipient codes (compteRendu.do, the DLR push `statut`).
SMSMODE_HTTP_STATUS = {
    S.ACCEPTED: 0, S.QUEUED: 0, S.SCHEDULED: 10, S.SENT: 13, S.DELIVERED: 11,
    S.UNDELIVERED: 35, S.EXPIRED: 37, S.REJECTED: 34, S.CANCELED: 50, S.OPTED_OUT: 3999,
}

# smsmode REST v1 `status.value`.
SMSMODE_REST_STATUS = {
    S.ACCEPTED: "ENROUTE", S.QUEUED: "ENROUTE", S.SCHEDULED: "SCHEDULED", S.SENT: "ENROUTE",
    S.DELIVERED: "DELIVERED", S.UNDELIVERED: "UNDELIVERED", S.EXPIRED: "UNDELIVERED",
    S.REJECTED: "UNDELIVERABLE", S.CANCELED: "CANCELLED", S.OPTED_OUT: "UNDELIVERABLE",
}
SMSMODE_REST_DETAIL = {S.OPTED_OUT: "BLACKLISTED", S.EXPIRED: "EXPIRED",
                       S.REJECTED: "REJECTED"}

# Twilio `status`, and the Twilio error code of a final failure.
TWILIO_STATUS = {
    S.ACCEPTED: "queued", S.QUEUED: "queued", S.SCHEDULED: "scheduled", S.SENT: "sent",
    S.DELIVERED: "delivered", S.UNDELIVERED: "undelivered", S.EXPIRED: "undelivered",
    S.REJECTED: "failed", S.CANCELED: "canceled", S.OPTED_OUT: "failed",
}
TWILIO_ERROR = {S.UNDELIVERED: 30003, S.EXPIRED: 30001, S.REJECTED: 30007,
                S.OPTED_OUT: 21610}
