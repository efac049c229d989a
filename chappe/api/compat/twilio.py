"""Twilio's Messages API, 2010-04-01 (`/2010-04-01/Accounts/{AccountSid}/Messages…`):
HTTP Basic with the account's Account SID and one of its API keys as the auth token.

Message sids are `SM` + the 32 hex digits of the message id; the list is newest first,
paged by `PageSize` (≤ 1,000, default 50) and a `PageToken` (`PA` + the last message's
hex) or a `Page` number. Errors read `{"code", "message", "more_info", "status"}` with
Twilio's codes. See docs/decisions/0039-compat-apis.md for what maps to what.
"""

import base64
import binascii
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.accounts.selectors import account_descendant_ids
from chappe.api.compat.auth import Refused, authenticate
from chappe.api.compat.core import (
    TWILIO_ERROR,
    TWILIO_STATUS,
    BadInput,
    form_params,
    int_param,
    sms_send_compat,
    url_param,
)
from chappe.billing.errors import InsufficientCredit
from chappe.common.errors import ChappeError, NotFound, PermissionDenied
from chappe.common.sealing import seal
from chappe.messaging.lifecycle import MessageStatus, can_cancel
from chappe.messaging.models import Channel, Message, Reply
from chappe.messaging.services.edit import message_cancel
from chappe.messaging.services.erasure import message_redact
from chappe.webhooks.models import WebhookSettings

log = logging.getLogger(__name__)
API_VERSION = "2010-04-01"
MICROS = 1_000_000
MAX_PAGE_SIZE = 1000
MAX_PAGE_OFFSET = 50_000  # `Page` beyond this: follow `next_page_uri` (a PageToken)
MAX_BODY = 1600
WAITING = frozenset({MessageStatus.ACCEPTED, MessageStatus.SCHEDULED, MessageStatus.QUEUED})


def twilio_error(status: int, code: int, message: str, headers: dict | None = None,
                 ) -> HttpResponse:
    response = HttpResponse(json.dumps({
        "code": code, "message": str(message),
        "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}),
        status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _json(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def _date(value: datetime | None) -> str | None:
    return format_datetime(value.astimezone(UTC)) if value is not None else None


def message_sid(message_id: uuid.UUID) -> str:
    return "SM" + message_id.hex


def _message_id(sid: str) -> uuid.UUID:
    if len(sid) != 34 or not sid.startswith(("SM", "MM")):
        raise NotFound()
    try:
        return uuid.UUID(hex=sid[2:])
    except ValueError as exc:
        raise NotFound() from exc


def _base(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}"


def message_resource(message: Message, account_sid: str) -> dict[str, Any]:
    status = MessageStatus(message.status)
    uri = f"{_base(account_sid)}/Messages/{message_sid(message.id)}"
    error = TWILIO_ERROR.get(status)
    return {
        "account_sid": account_sid, "api_version": API_VERSION, "body": message.text,
        "date_created": _date(message.created_at), "date_sent": _date(message.sent_at),
        "date_updated": _date(message.status_changed_at), "direction": "outbound-api",
        "error_code": error, "error_message": message.error_code or None if error else None,
        "from": message.sender, "messaging_service_sid": None, "num_media": "0",
        "num_segments": str(message.segments),
        "price": f"{-message.price_micros / MICROS:.5f}" if message.price_micros else None,
        "price_unit": message.currency, "sid": message_sid(message.id),
        "status": TWILIO_STATUS[status],
        "subresource_uris": {"media": f"{uri}/Media.json"}, "to": message.recipient,
        "uri": f"{uri}.json",
    }


def inbound_resource(reply: Reply, account_sid: str) -> dict[str, Any]:
    """An incoming message (a reply, M-16) as Twilio shows one."""
    uri = f"{_base(account_sid)}/Messages/{message_sid(reply.id)}"
    return {
        "account_sid": account_sid, "api_version": API_VERSION, "body": reply.text,
        "date_created": _date(reply.received_at), "date_sent": _date(reply.received_at),
        "date_updated": _date(reply.received_at), "direction": "inbound",
        "error_code": None, "error_message": None, "from": reply.from_number,
        "messaging_service_sid": None, "num_media": "0", "num_segments": "1", "price": None,
        "price_unit": "EUR", "sid": message_sid(reply.id), "status": "received",
        "subresource_uris": {"media": f"{uri}/Media.json"}, "to": reply.to,
        "uri": f"{uri}.json",
    }


def _basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, encoded = header.partition(" ")
    if scheme.lower() != "basic" or len(encoded) > 1000:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _authenticated(request: HttpRequest, account_sid: str) -> Actor | HttpResponse:
    credentials = _basic_credentials(request)
    unauthorized = twilio_error(401, 20003, _("Authenticate"),
                                {"WWW-Authenticate": 'Basic realm="Twilio API"'})
    if credentials is None:
        return unauthorized
    user, token = credentials
    result = authenticate(request, token, account_sid=user)
    if isinstance(result, Refused):
        if result.retry_after:
            return twilio_error(429, 20429, _("Too Many Requests"),
                                {"Retry-After": str(result.retry_after)})
        return unauthorized
    _remember_token(result, token)
    if account_sid != user:
        # A sub-account's SID in the path acts on it, as Twilio's subaccounts (P-2: for a
        # role that manages sub-accounts); any other SID is as if it did not exist.
        sub = Account.objects.filter(
            twilio_account_sid=account_sid,
            pk__in=account_descendant_ids(account=result.account)).first()
        if sub is None:
            return twilio_error(404, 20404, _("The requested resource %(path)s was not "
                                              "found") % {"path": request.path})
        result.require(Perm.SUBACCOUNTS_MANAGE)
        result = result.on(sub)
    return result


def _remember_token(actor: Actor, token: str) -> None:
    """The token incoming messages are signed with: the one the account last used here
    (written only when it changes)."""
    prefix = actor.api_key.prefix if actor.api_key is not None else ""
    settings, _created = WebhookSettings.objects.get_or_create(account=actor.account)
    if settings.twilio_token_prefix != prefix:
        settings.twilio_token_prefix, settings.twilio_token_sealed = prefix, seal(token)
        settings.save(update_fields=["twilio_token_prefix", "twilio_token_sealed"])


def _chappe_error(exc: ChappeError) -> HttpResponse:
    """A refusal of the core in Twilio's words."""
    details = exc.details or {}
    if isinstance(exc, InsufficientCredit) or exc.code == "insufficient_credit":
        return twilio_error(400, 20005, _("Account not active: insufficient credit. %(why)s")
                            % {"why": exc.message})
    if isinstance(exc, PermissionDenied):
        return twilio_error(403, 20403, exc.message)
    if exc.status == 404:
        return twilio_error(404, 20404, exc.message)
    if "text" in details or exc.code == "too_many_segments":
        return twilio_error(400, 21617 if exc.code == "too_many_segments" else 21602,
                            exc.message)
    if "callback_url" in details:
        return twilio_error(400, 21609, _("Invalid StatusCallback: %(why)s")
                            % {"why": " ".join(map(str, details["callback_url"]))})
    if "send_at" in details:
        return twilio_error(400, 35111, " ".join(map(str, details["send_at"])))
    if exc.status == 409:
        return twilio_error(409, 20409, exc.message)
    if exc.status in (402, 403) or exc.code in ("service_suspended", "account_suspended"):
        return twilio_error(403, 20005, exc.message)
    return twilio_error(400, 21600 if exc.status < 500 else 20500, exc.message)


def _bad(exc: BadInput) -> HttpResponse:
    if exc.field in ("", "request"):
        return twilio_error(400, 20001, _("Invalid request: %(why)s") % {"why": exc.why})
    return twilio_error(400, 21600, _("Invalid parameter %(name)s: %(why)s")
                        % {"name": exc.field, "why": exc.why})


def _parse_send_at(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput("SendAt", "an ISO-8601 date-time with a time zone") from exc
    if moment.tzinfo is None:
        raise BadInput("SendAt", "an ISO-8601 date-time with a time zone")
    offset = moment.utcoffset()
    if offset is not None and abs(offset.total_seconds()) > 15 * 3600 + 59 * 60:
        raise BadInput("SendAt", "a UTC offset within ±15:59")
    return moment


def _create(request: HttpRequest, actor: Actor, account_sid: str) -> HttpResponse:
    params = form_params(request)
    to, sender, body = (params.get("To", "").strip(), params.get("From", "").strip(),
                        params.get("Body"))
    if not to:
        return twilio_error(400, 21604, _("A 'To' phone number is required."))
    if params.get("MediaUrl"):
        return twilio_error(400, 21620, _("Media (MMS) is not supported: send text only."))
    if not sender:
        # No sender pools are modelled: a MessagingServiceSid alone names no sender.
        return twilio_error(400, 21603, _("A 'From' phone number is required."))
    if body is None or not body.strip():
        return twilio_error(400, 21602, _("Message body is required."))
    if len(body) > MAX_BODY:
        return twilio_error(400, 21617, _("The concatenated message body exceeds the 1600 "
                                          "character limit."))
    if len(to) > 32:
        return twilio_error(400, 21211, _("The 'To' number %(to)s is not a valid phone "
                                          "number.") % {"to": to[:32]})
    if len(sender) > 20:
        return twilio_error(400, 21606, _("The 'From' number is not a valid sender."))
    int_param(params, "ValidityPeriod", low=1, high=36000)  # validity is the platform's (M-7)
    send_at = None
    if params.get("ScheduleType") or params.get("SendAt"):
        if params.get("ScheduleType") != "fixed" or not params.get("SendAt"):
            return twilio_error(400, 35114, _("Scheduling requires ScheduleType=fixed and "
                                              "SendAt."))
        send_at = _parse_send_at(params["SendAt"])
    callback = url_param(params, "StatusCallback")
    idempotency = request.headers.get("I-Twilio-Idempotency-Token", "")[:100] or None
    outcome = sms_send_compat(
        actor=actor, recipients=[to], text=body, sender=sender, callback_format="twilio",
        callback_url=callback, send_at=send_at, idempotency_key=idempotency,
        signing_token=_basic_credentials(request)[1])  # type: ignore[index]
    [row] = outcome.recipients
    if row.message is None:
        if row.status == "invalid":
            return twilio_error(400, 21211, _("The 'To' number %(to)s is not a valid phone "
                                              "number.") % {"to": to})
        if row.status == "sender_rejected":
            return twilio_error(400, 21606, _("The 'From' phone number provided is not a "
                                              "valid message-capable phone number for this "
                                              "destination. %(why)s")
                                % {"why": row.error_message})
        return twilio_error(400, 21600, row.error_message or row.status)
    message = Message.objects.select_related("send").get(pk=row.message.pk)
    return _json(message_resource(message, account_sid), status=201)


def _page_uri(account_sid: str, params: dict[str, str], **changes: Any) -> str:
    query = {k: v for k, v in params.items() if k in ("To", "From", "DateSent", "DateSent<",
                                                      "DateSent>", "PageSize")}
    query.update({k: str(v) for k, v in changes.items()})
    return f"{_base(account_sid)}/Messages.json?{urlencode(query)}"


def _date_param(value: str, name: str) -> datetime:
    try:
        day = datetime.strptime(value.strip()[:10], "%Y-%m-%d")
    except ValueError as exc:
        raise BadInput(name, "a date YYYY-MM-DD") from exc
    return day.replace(tzinfo=UTC)


def _filtered(params: dict[str, str], actor: Actor) -> tuple[QuerySet, QuerySet]:
    """The account's outbound SMS and its inbound messages (replies) the filters keep:
    `To`, `From`, `DateSent` (a UTC day; `<` before it, `>` from it on) — when a message
    was handed to the operator, or received."""
    outbound = Message.objects.filter(account=actor.account, channel=Channel.SMS)
    inbound = Reply.objects.filter(account=actor.account)
    if to := params.get("To", "").strip():
        outbound, inbound = outbound.filter(recipient=to), inbound.filter(to=to)
    if sender := params.get("From", "").strip():
        outbound, inbound = outbound.filter(sender=sender), inbound.filter(from_number=sender)
    for name, lookup in (("DateSent", "exact"), ("DateSent<", "lt"), ("DateSent>", "gte")):
        if value := params.get(name, "").strip():
            day = _date_param(value, name)
            if lookup == "exact":
                outbound = outbound.filter(sent_at__gte=day, sent_at__lt=day + timedelta(days=1))
                inbound = inbound.filter(received_at__gte=day,
                                         received_at__lt=day + timedelta(days=1))
            else:
                outbound = outbound.filter(**{f"sent_at__{lookup}": day})
                inbound = inbound.filter(**{f"received_at__{lookup}": day})
    return (outbound.order_by("-created_at", "-id"),
            inbound.select_related("message").order_by("-received_at", "-id"))


def _when(row: Message | Reply) -> tuple[datetime, uuid.UUID]:
    return (row.created_at, row.id) if isinstance(row, Message) else (row.received_at, row.id)


def _resource(row: Message | Reply, account_sid: str) -> dict[str, Any]:
    return message_resource(row, account_sid) if isinstance(row, Message) \
        else inbound_resource(row, account_sid)


def _list(request: HttpRequest, actor: Actor, account_sid: str) -> HttpResponse:
    """Newest first, outbound and inbound merged; paged by `PageToken` (the last row's
    id: what twilio-python follows) or by `Page` for the first pages."""
    actor.require(Perm.MESSAGING_VIEW)
    params = form_params(request, body=False)
    size = int_param(params, "PageSize", low=1, high=MAX_PAGE_SIZE) or 50
    page = int_param(params, "Page", low=0, high=1_000_000) or 0
    outbound, inbound = _filtered(params, actor)
    token = params.get("PageToken", "").strip()
    if token:
        try:
            last = uuid.UUID(hex=token[2:]) if token.startswith("PA") and len(token) == 34 \
                else None
        except ValueError:
            last = None
        anchor: Message | Reply | None = None
        if last is not None:
            anchor = (Message.objects.filter(account=actor.account, pk=last).first()
                      or Reply.objects.filter(account=actor.account, pk=last).first())
        if anchor is None:
            return twilio_error(400, 20001, _("Invalid PageToken."))
        at, anchor_id = _when(anchor)
        outbound = outbound.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=anchor_id))
        inbound = inbound.filter(Q(received_at__lt=at) | Q(received_at=at, id__lt=anchor_id))
        skip = 0
    else:
        if page * size > MAX_PAGE_OFFSET:
            return twilio_error(400, 20001, _("Page too far: follow next_page_uri."))
        skip = page * size
    wanted = skip + size + 1
    merged = sorted([*outbound[:wanted], *inbound[:wanted]], key=_when, reverse=True)
    rows = merged[skip:skip + size + 1]
    more, rows = len(rows) > size, rows[:size]
    start = page * size
    body = {
        "messages": [_resource(row, account_sid) for row in rows],
        "end": start + len(rows) - 1 if rows else start,
        "first_page_uri": _page_uri(account_sid, params, Page=0, PageSize=size),
        "next_page_uri": _page_uri(account_sid, params, Page=page + 1, PageSize=size,
                                   PageToken="PA" + rows[-1].id.hex) if more else None,
        "page": page, "page_size": size,
        "previous_page_uri": _page_uri(account_sid, params, Page=page - 1, PageSize=size)
        if page > 0 else None,
        "start": start, "uri": _page_uri(account_sid, params, Page=page, PageSize=size),
    }
    return _json(body)


def _one(actor: Actor, sid: str) -> Message:
    try:
        return Message.objects.select_related("send").get(
            account=actor.account, channel=Channel.SMS, pk=_message_id(sid))
    except Message.DoesNotExist as exc:
        raise NotFound() from exc


def _update(request: HttpRequest, actor: Actor, account_sid: str, sid: str) -> HttpResponse:
    params = form_params(request)
    message = _one(actor, sid)
    if params.get("Status") is not None:
        if params["Status"] != "canceled":
            return twilio_error(400, 21600, _("Status may only be set to canceled."))
        if not can_cancel(MessageStatus(message.status)):
            return twilio_error(400, 30409, _("This message cannot be canceled: it has "
                                              "already left."))
        message = message_cancel(actor=actor, message=message)
    elif params.get("Body") is not None:
        if params["Body"] != "":
            return twilio_error(400, 21600, _("Body may only be set to an empty string "
                                              "(redaction)."))
        if message.status in WAITING:
            return twilio_error(400, 20009, _("A message that has not left cannot be "
                                              "redacted; cancel it."))
        message = message_redact(actor=actor, message=message)
    else:
        return twilio_error(400, 21600, _("Give Status=canceled or Body=\"\"."))
    message = _one(actor, sid)
    return _json(message_resource(message, account_sid))


def _guarded(handler):
    """Authentication first, then the handler; every refusal in Twilio's shape."""

    @csrf_exempt
    def view(request: HttpRequest, account_sid: str, **kwargs: Any) -> HttpResponse:
        try:
            actor = _authenticated(request, account_sid)
            if isinstance(actor, HttpResponse):
                return actor
            return handler(request, actor, account_sid, **kwargs)
        except BadInput as exc:
            return _bad(exc)
        except NotFound:
            return twilio_error(404, 20404, _("The requested resource %(path)s was not found")
                                % {"path": request.path})
        except ChappeError as exc:
            return _chappe_error(exc)
        except Exception:
            log.exception("Twilio-compatible API: %s %s", request.method, request.path)
            return twilio_error(500, 20500, _("Internal Server Error"))

    return view


@_guarded
def _messages(request: HttpRequest, actor: Actor, account_sid: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, actor, account_sid)
    if request.method == "GET":
        return _list(request, actor, account_sid)
    return twilio_error(405, 20004, _("Method not allowed"), {"Allow": "GET, POST"})


@_guarded
def _message(request: HttpRequest, actor: Actor, account_sid: str, sid: str) -> HttpResponse:
    if request.method == "GET":
        actor.require(Perm.MESSAGING_VIEW)
        reply = Reply.objects.filter(account=actor.account, pk=_message_id(sid)).first()
        if reply is not None:
            return _json(inbound_resource(reply, account_sid))
        return _json(message_resource(_one(actor, sid), account_sid))
    if request.method == "POST":
        return _update(request, actor, account_sid, sid)
    if request.method == "DELETE":
        message = _one(actor, sid)
        if message.status in WAITING:
            return twilio_error(400, 20009, _("Cannot delete a message that has not left; "
                                              "cancel it first."))
        message_redact(actor=actor, message=message)
        return HttpResponse(status=204)
    return twilio_error(405, 20004, _("Method not allowed"), {"Allow": "GET, POST, DELETE"})


messages_view = _messages
message_view = _message
