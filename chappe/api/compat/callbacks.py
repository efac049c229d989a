"""The callbacks of the compatibility APIs, in each protocol's form (issue 17). The
webhooks machinery writes the event with the send's `callback_format` and delivers it
at least once through its guarded outbound HTTP (`common.outbound_http`); these
renderers say only what the request looks like.

* `smsmode_http` — delivery reports as a GET to `notification_url` with `numero`,
  `date_reception` (`yyyy-MM-dd HH:mm:ss`), `statut` (smsmode's code), `smsID`,
  `refClient`, `cost`, `mcc_mnc`; replies as a GET to `notification_url_reponse` with
  `numero`, `message`, `emetteur`, `date_reception` (`ddMMyyyy-HHmmss`), `smsID`,
  `refClient`, `responseID` — ISO-8859-15 like smsmode (UTF-8 for a text it cannot hold).
* `smsmode_rest` — JSON POSTs (unsigned, as smsmode's): `messageId`, `recipient.to`,
  `refClient`, `status.value`/`status.detail`; replies with `from`, `originMessageId`,
  `body.type`/`body.text`.
* `twilio` — status callbacks form-encoded (`MessageSid`, `MessageStatus`, `From`, `To`,
  `AccountSid`, `ErrorCode`, …) signed with `X-Twilio-Signature`, keyed by the auth token
  the message was sent with; `twilio_mo` — incoming messages to the account's SMS URL,
  signed with the token it last used, and a TwiML `<Message>` in the answer is sent back.
"""

import base64
import hashlib
import hmac
import json
import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db import transaction

from chappe.accounts.actor import SYSTEM
from chappe.api.compat.core import (
    SMSMODE_HTTP_STATUS,
    SMSMODE_REST_DETAIL,
    SMSMODE_REST_STATUS,
    TWILIO_ERROR,
    TWILIO_STATUS,
    sms_send_compat,
)
from chappe.common.errors import ChappeError
from chappe.common.sealing import SealBroken, unseal
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import Message, Reply
from chappe.webhooks.formats import Outbound, WebhookFormat, webhook_format_register
from chappe.webhooks.models import WebhookEvent, WebhookSettings
from chappe.webhooks.services import DeliveryFailed

log = logging.getLogger(__name__)
TWIML_LIMIT = 64 * 1024
MICROS = 1_000_000


def _with_query(url: str, params: dict[str, str], encoding: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params, encoding=encoding)


def _message(event: WebhookEvent) -> Message:
    message = (Message.objects.select_related("send", "account")
               .filter(account_id=event.account_id, pk=event.payload.get("message_id")).first())
    if message is None:
        raise DeliveryFailed("message gone")
    return message


def _status(event: WebhookEvent, message: Message) -> MessageStatus:
    """The status the event announces (the message may have moved on since)."""
    return MessageStatus(event.payload.get("status") or message.status)


def _at(event: WebhookEvent, message: Message) -> datetime:
    at = event.payload.get("at")
    return datetime.fromisoformat(at) if at else message.status_changed_at


def _reply(event: WebhookEvent) -> Reply | None:
    return Reply.objects.filter(account_id=event.account_id,
                                pk=event.payload.get("reply_id")).first()


def _digits(number: str) -> str:
    return number.removeprefix("+")


# --- smsmode HTTP 1.6 --------------------------------------------------------------------


def _iso_8859_15_or_utf8(params: dict[str, str]) -> str:
    try:
        for value in params.values():
            value.encode("iso-8859-15")
    except UnicodeEncodeError:
        return "utf-8"
    return "iso-8859-15"


def render_smsmode_http(event: WebhookEvent) -> Outbound:
    if event.type == "message.reply":
        reply = _reply(event)
        zone = ZoneInfo(event.account.timezone)
        received = reply.received_at.astimezone(zone) if reply else None
        message_id = event.payload.get("message_id")
        message = Message.objects.filter(account_id=event.account_id,
                                         pk=message_id).select_related("send").first() \
            if message_id else None
        params = {
            "numero": event.payload.get("to", ""), "message": event.payload.get("text", ""),
            "emetteur": _digits(event.payload.get("from", "")),
            "date_reception": received.strftime("%d%m%Y-%H%M%S") if received else "",
            "smsID": message.send_id.hex if message else "",
            "refClient": event.payload.get("reference", ""),
            "responseID": reply.id.hex if reply else ""}
        return Outbound("GET", _with_query(event.url, params, _iso_8859_15_or_utf8(params)))
    message = _message(event)
    zone = ZoneInfo(message.account.timezone)
    params = {
        "numero": _digits(message.recipient),
        "date_reception": _at(event, message).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
        "statut": str(SMSMODE_HTTP_STATUS[_status(event, message)]),
        "smsID": message.send_id.hex, "refClient": message.send.reference,
        "cost": f"{message.price_micros / MICROS:.4f}", "mcc_mnc": "",
    }
    return Outbound("GET", _with_query(event.url, params, "iso-8859-15"))


# --- smsmode REST v1 --------------------------------------------------------------------


def render_smsmode_rest(event: WebhookEvent) -> Outbound:
    if event.type == "message.reply":
        body: dict[str, Any] = {
            "messageId": event.payload.get("reply_id"),
            "originMessageId": event.payload.get("message_id"),
            "from": event.payload.get("from", ""),
            "recipient": {"to": event.payload.get("to", "")},
            "refClient": event.payload.get("reference", ""),
            "receptionDate": event.payload.get("received_at"),
            "body": {"type": "TEXT", "text": event.payload.get("text", "")}}
    else:
        message = _message(event)
        status = _status(event, message)
        body = {
            "messageId": str(message.id), "channel": {"channelId": None, "type": "SMS"},
            "recipient": {"to": message.recipient}, "from": message.sender,
            "refClient": message.send.reference,
            "status": {"value": SMSMODE_REST_STATUS[status],
                       "detail": SMSMODE_REST_DETAIL.get(status, message.error_code or ""),
                       "deliveryDate": _at(event, message).isoformat()},
            "price": {"amount": message.price_micros / MICROS, "currency": message.currency}}
    return Outbound("POST", event.url, json.dumps(body).encode(),
                    {"Content-Type": "application/json"})


# --- Twilio -------------------------------------------------------------------------------


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(token, url + each name and value, sorted))."""
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
                            ).decode()


def _signed_form(url: str, params: dict[str, str], sealed: str) -> Outbound:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if sealed:
        try:
            headers["X-Twilio-Signature"] = twilio_signature(unseal(sealed), url, params)
        except SealBroken:
            log.warning("a Twilio callback token cannot be opened (SECRET_KEY changed?)")
    return Outbound("POST", url, urlencode(params).encode(), headers)


def render_twilio(event: WebhookEvent) -> Outbound:
    message = _message(event)
    if not message.send.callback_secret:
        # The token is sealed onto the send right after its acceptance: not yet there.
        raise DeliveryFailed("signing token not recorded yet")
    status = _status(event, message)
    params = {
        "AccountSid": message.account.twilio_account_sid, "ApiVersion": "2010-04-01",
        "From": message.sender, "To": message.recipient,
        "MessageSid": "SM" + message.id.hex, "SmsSid": "SM" + message.id.hex,
        "MessageStatus": TWILIO_STATUS[status], "SmsStatus": TWILIO_STATUS[status],
    }
    if (error := TWILIO_ERROR.get(status)) is not None:
        params["ErrorCode"] = str(error)
    if status in (MessageStatus.DELIVERED, MessageStatus.UNDELIVERED):
        params["RawDlrDoneDate"] = _at(event, message).astimezone(UTC).strftime("%y%m%d%H%M")
    return _signed_form(event.url, params, message.send.callback_secret)


def render_twilio_mo(event: WebhookEvent) -> Outbound:
    account = event.account
    reply_id = str(event.payload.get("reply_id", "")).replace("-", "")
    text = event.payload.get("text", "")
    params = {
        "AccountSid": account.twilio_account_sid, "ApiVersion": "2010-04-01",
        "MessageSid": "SM" + reply_id, "SmsSid": "SM" + reply_id,
        "SmsMessageSid": "SM" + reply_id, "From": event.payload.get("from", ""),
        "To": event.payload.get("to", ""), "Body": text, "NumMedia": "0",
        "NumSegments": "1", "SmsStatus": "received",
    }
    sealed = WebhookSettings.objects.filter(account=account).values_list(
        "twilio_token_sealed", flat=True).first() or ""
    return _signed_form(event.url, params, sealed)


def twiml_replies(body: bytes) -> list[tuple[str, str, str]]:
    """The (text, to, from) of each `<Message>` of a TwiML `<Response>` ("" when not
    given); [] for an empty or unparsable answer."""
    if not body.strip() or b"<!" in body:
        # No DOCTYPE, no entity: nothing TwiML needs, and what XML attacks use.
        return []
    try:
        root = ET.fromstring(body)  # noqa: S314 (declarations refused above; size capped)
    except ET.ParseError:
        return []
    if root.tag != "Response":
        return []
    found = []
    for element in root.findall("Message"):
        inner = element.find("Body")
        text = (inner.text if inner is not None else element.text) or ""
        found.append((text.strip(), element.get("to", ""), element.get("from", "")))
    return [item for item in found if item[0]]


def twilio_mo_answered(event: WebhookEvent, body: bytes) -> None:
    """Send the TwiML answer's messages to the handset that wrote (in a savepoint: a
    refused reply — no credit — is logged and does not undo the delivery)."""
    for text, to, sender in twiml_replies(body)[:10]:
        try:
            with transaction.atomic():
                sms_send_compat(
                    actor=SYSTEM.on(event.account), recipients=[to or event.payload["from"]],
                    text=text[:1600], sender=sender or event.payload.get("to", ""),
                    callback_format="twilio")
        except ChappeError as exc:
            log.warning("TwiML reply of account %s not sent: %s", event.account_id, exc.code)


def register_formats() -> None:
    webhook_format_register("smsmode_http", WebhookFormat(render=render_smsmode_http))
    webhook_format_register("smsmode_rest", WebhookFormat(render=render_smsmode_rest))
    webhook_format_register("twilio", WebhookFormat(render=render_twilio))
    webhook_format_register("twilio_mo", WebhookFormat(
        render=render_twilio_mo, answered=twilio_mo_answered, answer_limit=TWIML_LIMIT))
