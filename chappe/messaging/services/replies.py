"""Inbound messages (MO): stored, linked to the message they answer, pushed by webhook
(M-16); STOP replies put the number on the red list at once and, where the country
requires it, trigger a billed unsubscribe confirmation (M-10)."""

import logging

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
from chappe.messaging.models import Message, MessageKind, Reply
from chappe.messaging.services.accept import sms_send, stop_mention
from chappe.webhooks.selectors import webhook_url
from chappe.webhooks.services import EventDraft, webhooks_emit

log = logging.getLogger(__name__)

# Countries where a STOP must be answered by a confirmation message (billed, M-10).
CONFIRMATION_COUNTRIES = {"FR": "fr"}


def _answered_message(from_number: str, to: str) -> Message | None:
    """The message this MO answers: the latest one to that number from the sender it was
    sent to; for the STOP short code, the latest marketing message to that number."""
    sent_to_them = Message.objects.filter(recipient=from_number).order_by("-created_at")
    found = sent_to_them.filter(sender=to).first()
    if found is None and to in stop_mention():
        found = sent_to_them.filter(kind=MessageKind.MARKETING).first()
    return found


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


def inbound_receive(*, connector: str, inbound: list[Inbound]) -> list[Reply]:
    """Store each MO once (by the carrier's id) and act on STOP."""
    stored: list[Reply] = []
    for mo in inbound:
        try:
            from_number = normalize(mo.from_number, default_country="FR").e164
        except InvalidNumber:
            from_number = mo.from_number
        message = _answered_message(from_number, mo.to)
        if message is None:
            log.warning("MO %s from %s to %s matches no message; dropped",
                        mo.carrier_id, from_number, mo.to)
            continue
        stop = is_stop(mo.text)
        try:
            with transaction.atomic():
                reply = Reply.objects.create(
                    account=message.account, message=message, from_number=from_number,
                    to=mo.to, text=mo.text, is_stop=stop, connector=connector,
                    carrier_id=mo.carrier_id, received_at=mo.received_at)
                if stop:
                    opt_out_add(actor=SYSTEM.on(message.account), account=message.account,
                                number=from_number, source=OptOutSource.STOP_REPLY)
                    if message.country in CONFIRMATION_COUNTRIES:
                        _unsubscribe_confirm_safely(message)
                url = webhook_url(account_id=message.account_id,
                                  callback_url=message.send.callback_url)
                webhooks_emit([EventDraft(
                    account_id=message.account_id, url=url, type="message.reply",
                    subject_id=str(message.id),
                    payload={"reply_id": str(reply.id), "message_id": str(message.id),
                             "from": from_number, "to": mo.to, "text": mo.text, "stop": stop,
                             "reference": message.send.reference,
                             "received_at": mo.received_at.isoformat()})])
        except IntegrityError:
            continue  # the same MO delivered twice: already stored
        stored.append(reply)
    return stored
