"""Inbound messages (MO): attributed to one account, stored, linked to the message they
answer, pushed by webhook (M-16); STOP replies put the number on the red list at once
and, where the country requires it, trigger a billed unsubscribe confirmation (M-10).

Attribution (decision 0026): an MO to a number an account owns belongs to that account
only (whatever other accounts sent to that handset); an MO to a shared code goes to the
account of the latest message from that code to that handset — for the STOP short code,
the latest message to that handset of any kind, since every marketing message names it
whatever its sender. An MO that matches nothing is kept for the operator
(`UnattributedReply`), never dropped.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import override

from chappe.accounts.actor import SYSTEM
from chappe.billing.rating import Product
from chappe.carriers.base import Inbound
from chappe.common.errors import ChappeError
from chappe.common.numbers import InvalidNumber, normalize
from chappe.contacts.models import OptOutSource
from chappe.contacts.services import opt_out_add
from chappe.messaging.keywords import is_stop
from chappe.messaging.models import Message, Reply, UnattributedReply
from chappe.messaging.services.accept import sms_send, stop_mention
from chappe.webhooks.selectors import twilio_sms_url, webhook_url
from chappe.webhooks.services import EventDraft, webhooks_emit

log = logging.getLogger(__name__)

# Countries where a STOP must be answered by a confirmation message (billed, M-10).
CONFIRMATION_COUNTRIES = {"FR": "fr"}


# Who owns a number the platform receives on (an account id), or None: the contact
# center's rented numbers, handed in by the role that polls the carriers.
NumberOwner = Callable[[str], Any]


def stop_code() -> str:
    """The STOP short code named in the STOP mention ("STOP au 36034" → "36034")."""
    return "".join(ch for ch in stop_mention() if ch.isdigit())


def _as_e164(number: str) -> str:
    try:
        return normalize(number, default_country=settings.CHAPPE_DEFAULT_COUNTRY).e164
    except InvalidNumber:
        return number


def _attribution(from_number: str, to: str,
                 number_owner: NumberOwner | None) -> tuple[Any, Message | None]:
    """(account id, the message answered) of an MO; (None, None) when nothing matches."""
    sent_to_them = Message.objects.filter(recipient=from_number).order_by("-created_at")
    owner = number_owner(_as_e164(to)) if number_owner and len(to) > 8 else None
    if owner is not None:
        mine = sent_to_them.filter(account_id=owner)
        return owner, mine.filter(sender=to).first() or mine.first()
    # Every marketing message names the STOP code whatever its sender.
    answered = sent_to_them if to == stop_code() else sent_to_them.filter(sender=to)
    found = answered.first()
    return (found.account_id, found) if found is not None else (None, None)


def _keep_for_the_operator(connector: str, mo: Inbound, from_number: str) -> None:
    log.warning("MO %s from %s to %s matches no account; kept for the operator",
                mo.carrier_id, from_number, mo.to)
    UnattributedReply.objects.get_or_create(
        connector=connector, carrier_id=mo.carrier_id,
        defaults={"from_number": from_number, "to": mo.to, "text": mo.text,
                  "received_at": mo.received_at})


def _unsubscribe_confirm(message: Message) -> None:
    language = CONFIRMATION_COUNTRIES[message.country]
    with override(language):
        text = _("You are unsubscribed and will no longer receive messages from %(sender)s.") % {
            "sender": message.sender}
    sms_send(actor=SYSTEM.on(message.account), account=message.account,
             recipients=[message.recipient], text=text, sender=message.sender,
             product=Product.UNSUBSCRIBE_CONFIRMATION, honour_red_list=False)


def _unsubscribe_confirm_safely(message: Message) -> None:
    """The opt-out stands even if the confirmation cannot be sent (no credit, suspended)."""
    try:
        with transaction.atomic():
            _unsubscribe_confirm(message)
    except ChappeError as exc:
        log.warning("unsubscribe confirmation to %s not sent: %s", message.recipient, exc.code)


def inbound_receive(*, connector: str, inbound: list[Inbound],
                    number_owner: NumberOwner | None = None) -> list[Reply]:
    """Attribute and store each MO once (by the carrier's id) and act on STOP."""
    stored: list[Reply] = []
    for mo in inbound:
        from_number = _as_e164(mo.from_number)
        account_id, message = _attribution(from_number, mo.to, number_owner)
        if account_id is None:
            _keep_for_the_operator(connector, mo, from_number)
            continue
        stop = is_stop(mo.text)
        try:
            with transaction.atomic():
                reply = Reply.objects.create(
                    account_id=account_id, message=message, from_number=from_number,
                    to=mo.to, text=mo.text, is_stop=stop, connector=connector,
                    carrier_id=mo.carrier_id, received_at=mo.received_at)
                if stop:
                    account = reply.account
                    opt_out_add(actor=SYSTEM.on(account), account=account,
                                number=from_number, source=OptOutSource.STOP_REPLY)
                    if message is not None and message.country in CONFIRMATION_COUNTRIES:
                        _unsubscribe_confirm_safely(message)
                send = message.send if message is not None else None
                url = webhook_url(account_id=account_id,
                                  callback_url=send.callback_url if send else "")
                payload = {"reply_id": str(reply.id),
                           "message_id": str(message.id) if message else None,
                           "from": from_number, "to": mo.to, "text": mo.text, "stop": stop,
                           "reference": send.reference if send else "",
                           "received_at": mo.received_at.isoformat()}
                subject = str(message.id) if message else str(reply.id)
                drafts = [EventDraft(account_id=account_id, url=url, type="message.reply",
                                     subject_id=subject, payload=payload)]
                if send is not None and send.callback_format and send.reply_url:
                    # A compatibility API's own reply callback, in its form (issue 17).
                    drafts = [EventDraft(account_id=account_id, url=send.reply_url,
                                         type="message.reply", subject_id=subject,
                                         payload=payload, format=send.callback_format)]
                if twilio_url := twilio_sms_url(account_id=account_id):
                    # The Twilio-compatible API's "SMS URL": every incoming message.
                    drafts.append(EventDraft(account_id=account_id, url=twilio_url,
                                             type="message.reply", subject_id=subject,
                                             payload=payload, format="twilio_mo"))
                webhooks_emit(drafts)
        except IntegrityError:
            continue  # the same MO delivered twice: already stored
        stored.append(reply)
    return stored
