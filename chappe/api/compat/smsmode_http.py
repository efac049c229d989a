"""smsmode's HTTP API 1.6 (`/http/1.6/<operation>.do`): `accessToken` is one of the
account's API keys; answers are smsmode's plain-text lines, `code | description | smsID`
for a send, in ISO-8859-15 (UTF-8 where the text cannot be written in it).

`message` is read in ISO-8859-15, or in UTF-8 with `classe_msg=9`, strictly: bytes that
are not valid in that encoding are refused (35), never guessed. The `smsID` of a send is
the 32 hex digits of its id (`deleteSMS.do` and `compteRendu.do` take it back).

Codes: 0 accepted, 31 internal error, 32 authentication error, 33 insufficient credit,
35 missing (or invalid) parameter, 50 temporarily unavailable, 61 not found.
"""

import csv
import io
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.accounts.selectors import managed_account_get
from chappe.accounts.services import account_create, api_key_create
from chappe.api.compat.auth import Refused, authenticate
from chappe.api.compat.core import (
    SMSMODE_HTTP_STATUS,
    BadInput,
    form_params,
    int_param,
    sms_send_compat,
    url_param,
)
from chappe.billing.selectors import usable_credit
from chappe.billing.services.credits import credit_transfer
from chappe.common.errors import ChappeError, NotAuthenticated, PermissionDenied
from chappe.contacts.models import ContactList
from chappe.contacts.services import contact_create, contact_list_create
from chappe.messaging.lifecycle import MessageStatus, can_cancel
from chappe.messaging.models import Channel, Message, MessageKind, Reply, Send
from chappe.messaging.services.accept import SmsRequest, sms_send_many
from chappe.messaging.services.edit import message_cancel, send_cancel
from chappe.messaging.services.replies import stop_code
from chappe.messaging.services.tts import tts_send

log = logging.getLogger(__name__)

GET_MAX_RECIPIENTS = 300
MICROS = Decimal(1_000_000)
TTS_LANGUAGES = {"fr-FR": "fr", "en-GB": "en", "de-DE": "de", "es-ES": "es"}
PAGE = 50
BATCH_MAX_BYTES = 5 * 1024 * 1024
BATCH_MAX_LINES = 10_000


class Answer(Exception):
    """A coded answer (`code | description`) raised from anywhere in an operation."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


def _text(body: str, status: int = 200) -> HttpResponse:
    try:
        content, charset = body.encode("iso-8859-15"), "ISO-8859-15"
    except UnicodeEncodeError:
        content, charset = body.encode("utf-8"), "UTF-8"
    return HttpResponse(content, status=status, content_type=f"text/plain; charset={charset}")


def _line(code: int, description: str, *rest: str) -> HttpResponse:
    return _text(" | ".join([str(code), description, *rest]))


def _clean(value: str) -> str:
    """A value inside a ` | `-separated answer line."""
    return value.replace("|", "/").replace("\r", " ").replace("\n", " ")


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise Answer(35, _("Missing parameter: %(name)s") % {"name": name})
    return value


def _date_envoi(params: dict[str, str], actor: Actor, name: str = "date_envoi",
                ) -> datetime | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        local = datetime.strptime(value, "%d%m%Y-%H:%M")
    except ValueError:
        raise Answer(35, _("Invalid parameter %(name)s: expected ddMMyyyy-HH:mm")
                     % {"name": name}) from None
    return local.replace(tzinfo=ZoneInfo(actor.account.timezone))


def _encoding(params_ascii: dict[str, str]) -> str:
    return "utf-8" if params_ascii.get("classe_msg", "").strip() == "9" else "iso-8859-15"


def _params(request: HttpRequest) -> dict[str, str]:
    """The parameters, `message` decoded as `classe_msg` says: read once leniently for
    `classe_msg` (ASCII), then strictly in the right encoding."""
    probe = form_params(request, encoding="latin-1")
    return form_params(request, encoding=_encoding(probe))


def _group_numbers(actor: Actor, name: str) -> list[str]:
    group = ContactList.objects.filter(account=actor.account, name=name).first()
    if group is None:
        raise Answer(35, _("Unknown group: %(name)s") % {"name": name})
    return list(group.contacts.values_list("mobile", flat=True))


def _send(request: HttpRequest, actor: Actor, params: dict[str, str]) -> HttpResponse:
    message = _required(params, "message")
    numero, groupe = params.get("numero", "").strip(), params.get("groupe", "").strip()
    if not numero and not groupe:
        raise Answer(35, _("Missing parameter: numero or groupe"))
    recipients = [n.strip() for n in numero.split(",") if n.strip()] if numero else \
        _group_numbers(actor, groupe)
    if request.method == "GET" and len(recipients) > GET_MAX_RECIPIENTS:
        raise Answer(35, _("More than %(n)d recipients: use POST") % {"n": GET_MAX_RECIPIENTS})
    classe = params.get("classe_msg", "2").strip() or "2"
    if classe not in ("2", "4", "9"):
        raise Answer(35, _("Invalid parameter classe_msg"))
    ref = params.get("refClient", "")
    if len(ref) > 40:
        raise Answer(35, _("Invalid parameter refClient: at most 40 characters"))
    stop = params.get("stop", "").strip()
    if stop not in ("", "1", "2"):
        raise Answer(35, _("Invalid parameter stop"))
    outcome = sms_send_compat(
        actor=actor, recipients=recipients, text=message,
        # Without `emetteur` smsmode sends from its short number: here the platform's.
        sender=params.get("emetteur", "").strip() or stop_code(), callback_format="smsmode_http",
        callback_url=url_param(params, "notification_url"),
        reply_url=url_param(params, "notification_url_reponse"),
        send_at=_date_envoi(params, actor), reference=ref,
        # A STOP mention asked for is a marketing send (M-10: it always carries it).
        kind=MessageKind.MARKETING if stop else MessageKind.TRANSACTIONAL,
        allow_reply=classe == "4", max_segments=int_param(params, "nbr_msg", low=1, high=255))
    if not any(r.message is not None for r in outcome.recipients):
        if any(r.status == "sender_rejected" for r in outcome.recipients):
            raise Answer(35, _("Invalid parameter emetteur"))
        if refused := next((r for r in outcome.recipients if r.status == "content_refused"),
                           None):  # the content policy (M-11) names its rule
            raise Answer(35, _("Invalid parameter message: %(why)s")
                         % {"why": refused.error_message})
        raise Answer(35, _("Invalid parameter numero: no valid recipient"))
    return _line(0, _("Accepted"), outcome.send.id.hex)


def _send_of(actor: Actor, params: dict[str, str], channel: str = Channel.SMS) -> Send:
    sms_id = _required(params, "smsID")
    try:
        send_id = uuid.UUID(hex=sms_id)
    except ValueError:
        raise Answer(61, _("SMS not found")) from None
    send = Send.objects.filter(account=actor.account, pk=send_id).first()
    if send is None:
        raise Answer(61, _("SMS not found"))
    return send


def _report(request: HttpRequest, actor: Actor, params: dict[str, str]) -> HttpResponse:
    actor.require(Perm.MESSAGING_VIEW)
    send = _send_of(actor, params)
    rows = Message.objects.filter(send=send).order_by("recipient")
    return _text(" | ".join(f"{m.recipient.removeprefix('+')} "
                            f"{SMSMODE_HTTP_STATUS[MessageStatus(m.status)]}" for m in rows))


def _credit(request: HttpRequest, actor: Actor, params: dict[str, str]) -> HttpResponse:
    actor.require(Perm.MESSAGING_VIEW)
    micros = usable_credit(account=actor.account, currency="EUR", at=timezone.now())
    return _text(f"{Decimal(micros) / MICROS:.2f}")


def _delete(request: HttpRequest, actor: Actor, params: dict[str, str]) -> HttpResponse:
    numero = params.get("numero", "").strip()
    if not params.get("smsID", "").strip() and not numero:
        raise Answer(35, _("Missing parameter: smsID or numero"))
    if params.get("smsID", "").strip():
        send = _send_of(actor, params)
        if numero:
            wanted = numero.removeprefix("+")
            message = next((m for m in Message.objects.filter(send=send)
                            if m.recipient.removeprefix("+") == wanted
                            or m.recipient.endswith(wanted.lstrip("0"))), None)
            if message is None or not can_cancel(MessageStatus(message.status)):
                raise Answer(61, _("SMS not found"))
            message_cancel(actor=actor, message=message)
        else:
            send_cancel(actor=actor, send=send)
        return _line(0, _("Deleted"))
    canceled = 0
    for message in Message.objects.filter(account=actor.account, channel=Channel.SMS,
                                          status=MessageStatus.SCHEDULED):
        if message.recipient.removeprefix("+").endswith(numero.lstrip("+0")):
            message_cancel(actor=actor, message=message)
            canceled += 1
    if not canceled:
        raise Answer(61, _("SMS not found"))
    return _line(0, _("Deleted"))


def _offset(params: dict[str, str]) -> int:
    return int_param(params, "offset", low=0, high=10_000_000) or \
        int_param(params, "start", low=0, high=10_000_000) or 0


def _sms_list(request: HttpRequest, actor: Actor, params: dict[str, str]) -> HttpResponse:
    actor.require(Perm.MESSAGING_VIEW)
    zone = ZoneInfo(actor.account.timezone)
    start = _offset(params)
    sends = Send.objects.filter(account=actor.account, channel=Channel.SMS).order_by(
        "-created_at")[start:start + PAGE]
    lines = []
    for send in sends:
        messages = list(send.messages.all())
        when = (send.send_at or send.created_at).astimezone(zone).strftime("%d%m%Y-%H:%M")
        cost = sum(m.price_micros for m in messages)
        lines.append(" | ".join([send.id.hex, when, _clean(send.text),
                                 ",".join(m.recipient.removeprefix("+") for m in messages),
                                 f"{Decimal(cost) / MICROS:.4f}", _clean(send.reference)]))
    return _text("\n".join(lines))


def _response_list(request: HttpRequest, actor: Actor, params: dict[str, str]) -> HttpResponse:
    actor.require(Perm.MESSAGING_VIEW)
    zone = ZoneInfo(actor.account.timezone)
    replies = Reply.objects.filter(account=actor.account).select_related("message__send")
    if since := _date_envoi(params, actor, "startDate"):
        replies = replies.filter(received_at__gte=since)
    if until := _date_envoi(params, actor, "endDate"):
        replies = replies.filter(received_at__lt=until)
    start = _offset(params)
    lines = []
    for reply in replies.order_by("-received_at")[start:start + PAGE]:
        send = reply.message.send if reply.message else None
        lines.append(" | ".join([
            reply.id.hex, reply.received_at.astimezone(zone).strftime("%d%m%Y-%H%M%S"),
            reply.from_number.removeprefix("+"), _clean(reply.text), reply.to,
            send.id.hex if send else "", _clean(send.reference) if send else ""]))
    return _text("\n".join(lines))


def _add_contact(request: HttpRequest, actor: Actor, params: dict[str, str]) -> HttpResponse:
    mobile = _required(params, "mobile")
    lists = []
    for name in (g.strip() for g in params.get("groupes", "").split(",")):
        if not name:
            continue
        group = ContactList.objects.filter(account=actor.account, name=name).first()
        lists.append(group or contact_list_create(actor=actor, account=actor.account,
                                                  name=name))
    contact_create(actor=actor, account=actor.account, mobile=mobile, lists=lists,
                   values={"last_name": params.get("nom", "")[:100],
                           "first_name": params.get("prenom", "")[:100]})
    return _line(0, _("Contact added"))


def _voice(request: HttpRequest, actor: Actor, params: dict[str, str]) -> HttpResponse:
    message = _required(params, "message")
    if len(message) > 160:
        raise Answer(35, _("Invalid parameter message: at most 160 characters"))
    numero = _required(params, "numero")
    language = params.get("language", "fr-FR").strip() or "fr-FR"
    if language not in TTS_LANGUAGES:
        raise Answer(35, _("Invalid parameter language"))
    outcome = tts_send(actor=actor, account=actor.account,
                       recipients=[n.strip() for n in numero.split(",") if n.strip()],
                       text=message, language=TTS_LANGUAGES[language],
                       caller_id=params.get("emetteur", "").strip(),
                       send_at=_date_envoi(params, actor),
                       reference=params.get("title", "")[:40])
    if not any(r.message is not None for r in outcome.recipients):
        raise Answer(35, _("Invalid parameter numero: no valid recipient"))
    return _line(0, _("Accepted"), outcome.send.id.hex)


def _create_sub_account(request: HttpRequest, actor: Actor, params: dict[str, str],
                        ) -> HttpResponse:
    """A sub-account (P-2) named after `societe` (else `prenom nom`, else `newPseudo`),
    with an API key of its own: `0 | Sub-account created | <id> | <its accessToken>`."""
    actor.require(Perm.SUBACCOUNTS_MANAGE)
    name = (params.get("societe", "").strip()
            or f"{params.get('prenom', '')} {params.get('nom', '')}".strip()
            or _required(params, "newPseudo"))
    sub = account_create(actor=actor, name=name[:200], parent=actor.account)
    _key, raw = api_key_create(actor=actor.on(sub), account=sub,
                               name=_("smsmode access token"))
    return _line(0, _("Sub-account created"), sub.id.hex, raw)


def _credit_transfer(request: HttpRequest, actor: Actor, params: dict[str, str],
                     ) -> HttpResponse:
    """Move credit (EUR) to a sub-account, `targetPseudo` = its id; a negative
    `creditAmount` takes credit back from it."""
    target = _required(params, "targetPseudo")
    try:
        amount = Decimal(_required(params, "creditAmount").replace(",", "."))
    except InvalidOperation:
        raise Answer(35, _("Invalid parameter creditAmount")) from None
    if not amount.is_finite() or amount == 0 or abs(amount) >= 10 ** 9:
        raise Answer(35, _("Invalid parameter creditAmount"))
    try:
        sub = managed_account_get(account=actor.account, id=target)
    except ChappeError:
        raise Answer(35, _("Invalid parameter targetPseudo")) from None
    if sub == actor.account:
        raise Answer(35, _("Invalid parameter targetPseudo"))
    source, destination = (actor.account, sub) if amount > 0 else (sub, actor.account)
    credit_transfer(actor=actor, from_account=source, to_account=destination,
                    amount=abs(amount), memo=params.get("reference", "")[:200])
    return _line(0, _("Transfer done"))


def _batch(request: HttpRequest, actor: Actor, params: dict[str, str]) -> HttpResponse:
    """A CSV file (`numero,message,emetteur[,ref]`, ISO-8859-15) in a multipart POST:
    each line one send through the acceptance core's batch entry (`sms_send_many`), one
    answer line per CSV line (`code | description | smsID`)."""
    if request.method != "POST":
        raise Answer(35, _("Missing parameter: file (multipart POST)"))
    try:
        upload = next(iter(request.FILES.values()), None)
    except (RequestDataTooBig, SuspiciousOperation):
        raise Answer(35, _("Invalid parameter: file too large")) from None
    if upload is None:
        raise Answer(35, _("Missing parameter: file"))
    if upload.size > BATCH_MAX_BYTES:
        raise Answer(35, _("Invalid parameter: file too large"))
    try:
        text = upload.read().decode("iso-8859-15")
    except UnicodeDecodeError:
        raise Answer(35, _("Invalid parameter: file is not ISO-8859-15")) from None
    if "\x00" in text:
        raise Answer(35, _("Invalid parameter: file contains the NUL character"))
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(c.strip() for c in row)]
    if not rows:
        raise Answer(35, _("Missing parameter: file is empty"))
    if len(rows) > BATCH_MAX_LINES:
        raise Answer(35, _("Invalid parameter: at most %(n)d lines") % {"n": BATCH_MAX_LINES})
    requests: list[SmsRequest | None] = []
    for row in rows:
        numero, message, sender, ref = [*row, "", "", "", ""][:4]
        if not numero.strip() or not message.strip():
            requests.append(None)
            continue
        requests.append(SmsRequest(
            actor=actor, account=actor.account, recipients=[numero.strip()], text=message,
            sender=sender.strip() or stop_code(), reference=ref.strip()[:40],
            channel_fields={"callback_format": "smsmode_http", "reply_url": ""}))
    results = iter(sms_send_many(requests=[r for r in requests if r is not None]))
    lines = []
    for request_ in requests:
        if request_ is None:
            lines.append(" | ".join(["35", _("Missing parameter: numero or message")]))
            continue
        result = next(results)
        if isinstance(result, Exception):
            if isinstance(result, ChappeError):
                lines.append(_chappe_answer(result).content.decode("iso-8859-15", "replace"))
            else:
                log.error("smsmode batch line refused: %r", result)
                lines.append(" | ".join(["31", _("Internal error")]))
        elif not any(r.message is not None for r in result.recipients):
            lines.append(" | ".join(["35", _("Invalid parameter numero: no valid recipient")]))
        else:
            lines.append(" | ".join(["0", _("Accepted"), result.send.id.hex]))
    return _text("\n".join(lines))


OPERATIONS: dict[str, Callable[[HttpRequest, Actor, dict[str, str]], HttpResponse]] = {
    "sendSMS.do": _send, "compteRendu.do": _report, "credit.do": _credit,
    "deleteSMS.do": _delete, "smsList.do": _sms_list, "responseList.do": _response_list,
    "addContact.do": _add_contact, "sendVoiceMessage.do": _voice,
    "createSubAccount.do": _create_sub_account, "creditTransfert.do": _credit_transfer,
    "sendSMSBatch.do": _batch,
}


def _chappe_answer(exc: ChappeError) -> HttpResponse:
    if exc.code == "insufficient_credit":
        return _line(33, _("Insufficient credit"))
    if isinstance(exc, NotAuthenticated | PermissionDenied):
        return _line(32, _("Authentication error"))
    if exc.status == 404:
        return _line(61, _("SMS not found"))
    if exc.status in (400, 409, 422):
        fields = ", ".join(sorted(exc.details)) if exc.details else ""
        return _line(35, _("Invalid parameter %(name)s: %(why)s")
                     % {"name": fields or "-", "why": _clean(exc.message)})
    return _line(31, _("Internal error: %(why)s") % {"why": _clean(exc.message)})


@csrf_exempt
def operation_view(request: HttpRequest, operation: str) -> HttpResponse:
    handler = OPERATIONS.get(operation)
    if handler is None:
        return _text(_("Unknown operation"), status=404)
    if request.method not in ("GET", "POST"):
        response = _text(_("Method not allowed"), status=405)
        response["Allow"] = "GET, POST"
        return response
    try:
        params = _params(request)
        result = authenticate(request, params.get("accessToken", "").strip())
        if isinstance(result, Refused):
            return _line(32, _("Authentication error"))
        return handler(request, result, params)
    except Answer as answer:
        return _line(answer.code, answer.description)
    except BadInput as exc:
        return _line(35, _("Invalid parameter %(name)s: %(why)s")
                     % {"name": exc.field or "-", "why": exc.why})
    except ChappeError as exc:
        return _chappe_answer(exc)
    except OperationalError:
        log.exception("smsmode %s: database unavailable", operation)
        return _line(50, _("Temporarily unavailable"))
    except (InvalidOperation, ValueError):
        log.exception("smsmode %s: unexpected input", operation)
        return _line(35, _("Invalid parameter"))
    except Exception:
        log.exception("smsmode %s: internal error", operation)
        return _line(31, _("Internal error"))
