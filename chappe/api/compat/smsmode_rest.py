"""smsmode's REST API v1 (`/sms/v1/messages`, header `X-Api-Key` = one of the account's
API keys, JSON). A message is one recipient: `messageId` is the Chappe message id.
Errors read `{"title", "message", "detail", "errorCode"}` with the HTTP status.
"""

import json
import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.api.compat.auth import Refused, authenticate
from chappe.api.compat.core import (
    SMSMODE_REST_DETAIL,
    SMSMODE_REST_STATUS,
    BadInput,
    form_params,
    int_param,
    sms_send_compat,
)
from chappe.api.hostile_input import hostile_values
from chappe.common.errors import ChappeError, NotFound
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import Channel, Message
from chappe.messaging.services.edit import message_cancel, message_edit
from chappe.webhooks.services import callback_url_problem

log = logging.getLogger(__name__)
MICROS = 1_000_000
TITLES = {400: "Bad Request", 401: "Unauthorized", 402: "Payment Required",
          403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
          413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error"}


def rest_error(status: int, message: str, detail: str = "", code: str = "",
               headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps({
        "title": TITLES.get(status, "Error"), "message": str(message), "detail": str(detail),
        "errorCode": code or str(status)}), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _json(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def message_out(message: Message) -> dict[str, Any]:
    status = MessageStatus(message.status)
    return {
        "messageId": str(message.id), "acceptedAt": message.created_at.isoformat(),
        "sentDate": (message.send.send_at or message.created_at).isoformat(),
        "channel": {"channelId": None, "type": "SMS"},
        "from": message.sender, "recipient": {"to": message.recipient},
        "body": {"text": message.text, "encoding": message.encoding,
                 "messagePartCount": message.segments},
        "refClient": message.send.reference,
        "status": {"value": SMSMODE_REST_STATUS[status],
                   "detail": SMSMODE_REST_DETAIL.get(status, message.error_code or "")},
        "price": {"amount": message.price_micros / MICROS, "currency": message.currency},
        "callbackUrlStatus": message.send.callback_url, "callbackUrlMo": message.send.reply_url,
    }


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise BadInput("", "request body too large") from exc
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput("", "the body is not JSON in UTF-8") from exc
    if not isinstance(body, dict):
        raise BadInput("", "the body must be a JSON object")
    if problems := hostile_values({"body": body}):
        field, [why, *_rest] = next(iter(problems.items()))
        raise BadInput(field.removeprefix("body."), str(why))
    return body


def _str(body: dict[str, Any], *path: str, limit: int = 2000) -> str:
    value: Any = body
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadInput(".".join(path), "must be a string")
    if len(value) > limit:
        raise BadInput(".".join(path), f"at most {limit} characters")
    return value


def _date(value: str, field: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput(field, "an ISO-8601 date-time with a time zone") from exc
    if moment.tzinfo is None:
        raise BadInput(field, "an ISO-8601 date-time with a time zone")
    offset = moment.utcoffset()
    if offset is not None and abs(offset.total_seconds()) > 15 * 3600 + 59 * 60:
        raise BadInput(field, "a UTC offset within ±15:59")
    return moment


def _url(body: dict[str, Any], field: str) -> str:
    url = _str(body, field, limit=500)
    if url and (problem := callback_url_problem(url)):
        raise BadInput(field, str(problem))
    return url


def _create(request: HttpRequest, actor: Actor) -> HttpResponse:
    body = _body(request)
    to, text = _str(body, "recipient", "to", limit=32), _str(body, "body", "text", limit=1600)
    missing = [name for name, value in (("recipient.to", to), ("body.text", text)) if not value]
    if missing:
        return rest_error(400, _("Missing required field"), ", ".join(missing), "MISSING_FIELD")
    ref = _str(body, "refClient", limit=140)
    if len(ref) > 40:
        raise BadInput("refClient", "at most 40 characters")
    outcome = sms_send_compat(
        actor=actor, recipients=[to], text=text, sender=_str(body, "from", limit=20).strip(),
        callback_format="smsmode_rest", callback_url=_url(body, "callbackUrlStatus"),
        reply_url=_url(body, "callbackUrlMo"), send_at=_date(_str(body, "sentDate"), "sentDate"),
        reference=ref, idempotency_key=request.headers.get("Idempotency-Key", "")[:100] or None)
    [row] = outcome.recipients
    if row.message is None:
        code = "INVALID_PHONE_NUMBER" if row.status == "invalid" else row.status.upper()
        field = "from" if row.status == "sender_rejected" else "recipient.to"
        return rest_error(400, row.error_message or _("The message was not accepted."),
                          field, code)
    message = Message.objects.select_related("send").get(pk=row.message.pk)
    return _json(message_out(message), status=200 if outcome.replayed else 201)


def _list(request: HttpRequest, actor: Actor) -> HttpResponse:
    actor.require(Perm.MESSAGING_VIEW)
    params = form_params(request, body=False)
    page = int_param(params, "page", low=1, high=10_000_000) or 1
    size = int_param(params, "pageSize", low=1, high=100) or 10
    messages = (Message.objects.filter(account=actor.account, channel=Channel.SMS)
                .select_related("send").order_by("-created_at", "-id"))
    total = messages.count()
    rows = messages[(page - 1) * size:page * size]
    return _json({"items": [message_out(m) for m in rows], "page": page, "pageSize": size,
                  "totalItems": total, "totalPages": (total + size - 1) // size})


def _one(actor: Actor, message_id: str) -> Message:
    try:
        return Message.objects.select_related("send").get(
            account=actor.account, channel=Channel.SMS, pk=message_id)
    except (Message.DoesNotExist, ValueError, ValidationError) as exc:  # a malformed id too
        raise NotFound() from exc


def _authenticated(request: HttpRequest) -> Actor | HttpResponse:
    result = authenticate(request, request.headers.get("X-Api-Key", "").strip())
    if isinstance(result, Refused):
        if result.retry_after:
            return rest_error(429, _("Too many failed authentications"), "",
                              "TOO_MANY_REQUESTS", {"Retry-After": str(result.retry_after)})
        return rest_error(401, _("Invalid or missing API key"), "X-Api-Key", "UNAUTHORIZED")
    return result


def _guarded(handler):
    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        try:
            actor = _authenticated(request)
            if isinstance(actor, HttpResponse):
                return actor
            return handler(request, actor, **kwargs)
        except BadInput as exc:
            return rest_error(400, _("Invalid request"), f"{exc.field}: {exc.why}"
                              if exc.field else exc.why, "INVALID_REQUEST")
        except NotFound:
            return rest_error(404, _("Message not found"), "", "NOT_FOUND")
        except ChappeError as exc:
            if exc.code == "insufficient_credit":
                return rest_error(402, exc.message, "", "INSUFFICIENT_CREDIT")
            detail = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                               for k, v in exc.details.items())
            return rest_error(exc.status if exc.status < 500 else 500, exc.message, detail,
                              exc.code.upper())
        except Exception:
            log.exception("smsmode REST: %s %s", request.method, request.path)
            return rest_error(500, _("Internal error"), "", "INTERNAL_ERROR")

    return view


@_guarded
def _messages(request: HttpRequest, actor: Actor) -> HttpResponse:
    if request.method == "POST":
        return _create(request, actor)
    if request.method == "GET":
        return _list(request, actor)
    return rest_error(405, _("Method not allowed"), "", "METHOD_NOT_ALLOWED",
                      {"Allow": "GET, POST"})


@_guarded
def _message(request: HttpRequest, actor: Actor, message_id: str) -> HttpResponse:
    if request.method == "GET":
        actor.require(Perm.MESSAGING_VIEW)
        return _json(message_out(_one(actor, message_id)))
    if request.method == "DELETE":
        message = message_cancel(actor=actor, message=_one(actor, message_id))
        return _json(message_out(_one(actor, str(message.id))))
    if request.method == "PATCH":
        message = _one(actor, message_id)
        body = _body(request)
        changes: dict[str, Any] = {}
        if "body" in body:
            changes["text"] = _str(body, "body", "text", limit=1600)
        if "sentDate" in body:
            changes["send_at"] = _date(_str(body, "sentDate"), "sentDate")
        if not changes:
            raise BadInput("", "give body.text and/or sentDate")
        message_edit(actor=actor, message=message, **changes)
        return _json(message_out(_one(actor, message_id)))
    return rest_error(405, _("Method not allowed"), "", "METHOD_NOT_ALLOWED",
                      {"Allow": "GET, PATCH, DELETE"})


messages_view = _messages
message_view = _message
