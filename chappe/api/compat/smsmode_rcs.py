"""smsmode's RCS REST API (`POST /rcs/v1/messages`, header `X-Api-Key`, JSON; reference
§2, "API REST RCS v1.8"): the same shape as `/sms/v1/messages` with `body.type` TEXT,
CARD (`content{title, description, media{fileUrl, height}, suggestions}`, `orientation`)
or CAROUSEL (`contents[]`); suggestions REPLY, OPEN_URL, DIAL_PHONE,
CREATE_CALENDAR_EVENT, SHOW_LOCATION, REQUEST_LOCATION with `text` and `postbackData`.

smsmode binds a key to a channel whose agent sends; here the agent is `from` (an agent's
sender id or brand name) or else the account's first launched agent. The action fields
other than `text`/`postbackData` (`url`, `phoneNumber`, `startTime`…) are not in our
reference: named as RBM names them. Status callbacks use Chappe's signed JSON webhooks.
"""

from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.api.compat.core import BadInput
from chappe.api.compat.smsmode_rest import (
    _body,
    _guarded,
    _json,
    _str,
    _url,
    message_out,
    rest_error,
)
from chappe.messaging.models import Message
from chappe.messaging.rcs.models import AgentStatus, RcsAgent
from chappe.messaging.rcs.send import rcs_send

SUGGESTIONS = {"REPLY": "reply", "OPEN_URL": "open_url", "DIAL_PHONE": "dial",
               "CREATE_CALENDAR_EVENT": "calendar_event", "SHOW_LOCATION": "show_location",
               "REQUEST_LOCATION": "request_location"}
FIELDS = {"url": "url", "phoneNumber": "phone_number", "title": "title",
          "description": "description", "startTime": "start_time", "endTime": "end_time",
          "latitude": "latitude", "longitude": "longitude", "label": "label"}
HEIGHTS = {"SHORT": "short", "MEDIUM": "medium", "TALL": "tall"}


def _suggestion(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadInput("suggestions", "each suggestion is an object")
    kind = SUGGESTIONS.get(str(raw.get("type", "")).upper())
    if kind is None:
        raise BadInput("suggestions.type", "one of " + ", ".join(SUGGESTIONS))
    out = {"type": kind, "text": raw.get("text", ""), "postback_data": raw.get("postbackData", "")}
    out.update({ours: raw[theirs] for theirs, ours in FIELDS.items() if theirs in raw})
    return out


def _card(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadInput("content", "a card is an object")
    card: dict[str, Any] = {"title": raw.get("title", ""),
                            "description": raw.get("description", ""),
                            "suggestions": [_suggestion(s) for s in raw.get("suggestions") or []]}
    if isinstance(media := raw.get("media"), dict):
        card["media"] = {"file_url": media.get("fileUrl", ""),
                         "height": HEIGHTS.get(str(media.get("height", "MEDIUM")).upper(),
                                               "medium")}
    return card


def content_of(body: dict[str, Any]) -> dict[str, Any]:
    """smsmode's `body` as our RCS content (validated afterwards by `rcs_send`)."""
    kind = _str(body, "body", "type", limit=16).upper()
    inner = body.get("body") or {}
    if kind == "TEXT":
        return {"type": "text", "text": _str(body, "body", "text", limit=3072),
                "suggestions": [_suggestion(s) for s in inner.get("suggestions") or []]}
    if kind == "CARD":
        return {"type": "card", "card": _card(inner.get("content")),
                "orientation": "horizontal" if str(inner.get("orientation", "")).upper()
                == "HORIZONTAL" else "vertical"}
    if kind == "CAROUSEL":
        contents = inner.get("contents")
        if not isinstance(contents, list):
            raise BadInput("body.contents", "a list of cards")
        return {"type": "carousel", "cards": [_card(c) for c in contents]}
    raise BadInput("body.type", "TEXT, CARD or CAROUSEL")


def _agent(actor: Actor, sender: str) -> RcsAgent | None:
    agents = RcsAgent.objects.filter(account=actor.account, status=AgentStatus.LAUNCHED)
    if sender:
        return agents.filter(Q(sender=sender) | Q(brand_name=sender)).first()
    return agents.order_by("created_at").first()


@_guarded
def messages_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    if request.method != "POST":
        return rest_error(405, _("Method not allowed"), "", "METHOD_NOT_ALLOWED",
                          {"Allow": "POST"})
    body = _body(request)
    to = _str(body, "recipient", "to", limit=32)
    if not to:
        return rest_error(400, _("Missing required field"), "recipient.to", "MISSING_FIELD")
    agent = _agent(actor, _str(body, "from", limit=40).strip())
    if agent is None:
        return rest_error(403, _("No launched RCS agent for this key"), "from",
                          "CHANNEL_TYPE_MISMATCH")
    ref = _str(body, "refClient", limit=140)
    if len(ref) > 40:
        raise BadInput("refClient", "at most 40 characters")
    outcome = rcs_send(actor=actor, account=actor.account, agent_id=agent.pk,
                       recipients=[to if to.startswith("+") or to.startswith("0") else f"+{to}"],
                       content=content_of(body), reference=ref,
                       callback_url=_url(body, "callbackUrlStatus"),
                       idempotency_key=request.headers.get("Idempotency-Key", "")[:100] or None)
    [row] = outcome.recipients
    if row.message is None:
        return rest_error(400, row.error_message or _("The message was not accepted."),
                          "recipient.to", row.status.upper())
    message = Message.objects.select_related("send").get(pk=row.message.pk)
    answer = message_out(message)
    answer["channel"] = {"channelId": None, "type": "RCS"}
    answer["body"] = body.get("body")
    return _json(answer, status=200 if outcome.replayed else 201)
