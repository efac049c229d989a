"""Cancel or edit messages before they leave (M-1).

A canceled message was never handed to a carrier, so its charge is reversed (credited
back to the lots it came from, keeping their expiry). An edited text that changes the
billing (segments) is re-rated: the old charge is reversed and the new one taken, in one
transaction, so an account without credit for the longer text keeps the old one.
"""

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.billing.services.usage import UseShare, usage_charge, usage_reverse_many
from chappe.common.errors import Conflict, ValidationFailed
from chappe.messaging.lifecycle import MessageStatus, can_cancel
from chappe.messaging.models import CAMPAIGN_CHANNEL, Message, MessageEvent, Send
from chappe.messaging.services.accept import (
    MAX_SCHEDULE_AHEAD,
    RecipientOutcome,
    SendOutcome,
    due_for,
    final_text,
    sending_windows,
    validity,
)
from chappe.messaging.services.status import messages_transition
from chappe.smpp.encoding import segment

S = MessageStatus


def charge_key(message: Message) -> str:
    """The usage idempotency key of the message's current charge: its reversal's key is
    this + ":reversal" (a use of an aggregate record has no record of its own)."""
    version = message.charge_version
    return f"message:{message.id}" + (f":v{version}" if version else "")


def _uncharge(account: Account, messages: list[Message], *, reason: str) -> None:
    """Reverse the current charge of `messages` (one account's): a share of the
    aggregate usage record its acceptance wrote (decision 0036), or, once edited (or
    accepted before aggregates), a record of its own named by `charge_key`."""
    keys, shares = [], []
    for message in messages:
        if message.usage_id is not None and not message.charge_version:
            shares.append(UseShare(usage_id=message.usage_id, idempotency_key=charge_key(message),
                                   cause_type="messaging.message", cause_id=str(message.id)))
        else:
            keys.append(charge_key(message))
    usage_reverse_many(account=account, idempotency_keys=keys, shares=shares, reason=reason)


def _cancel(messages: list[Message]) -> list[Message]:
    now = timezone.now()
    canceled = messages_transition([m.id for m in messages], S.CANCELED, at=now,
                                   detail="canceled by the client",
                                   allowed_from=(S.ACCEPTED, S.SCHEDULED))
    messages_uncharge(canceled, reason="message canceled")
    return canceled


def messages_uncharge(messages: list[Message], *, reason: str) -> None:
    """Give back what canceled messages were charged (M-8: not billed unless sent), one
    batch per account."""
    by_account: dict[Any, list[Message]] = defaultdict(list)
    for message in messages:
        by_account[message.account_id].append(message)
    for group in by_account.values():
        _uncharge(group[0].account, group, reason=reason)


@transaction.atomic
def message_cancel(*, actor: Actor, message: Message) -> Message:
    actor.require(Perm.MESSAGING_SEND)
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if not can_cancel(S(locked.status)):
        raise Conflict(_("This message has already left and cannot be canceled."),
                       code="already_sent", details={"status": locked.status})
    _cancel([locked])
    locked.refresh_from_db()
    return locked


def _not_a_campaign(send: Send) -> None:
    """A campaign's send is paced, paused and canceled by the campaign (decision 0021):
    editing or canceling it here would release or drop its messages behind its back."""
    if send.channel == CAMPAIGN_CHANNEL:
        raise Conflict(_("This send is a campaign's: pause, edit or cancel the campaign "
                         "instead."), code="campaign_send")


@transaction.atomic
def send_cancel(*, actor: Actor, send: Send) -> SendOutcome:
    """Cancel what is still waiting in a send; what has left is unaffected."""
    actor.require(Perm.MESSAGING_SEND)
    _not_a_campaign(send)
    waiting = list(Message.objects.select_for_update().filter(
        send=send, status__in=(S.ACCEPTED, S.SCHEDULED)))
    if not waiting:
        raise Conflict(_("Nothing in this send is waiting: it has already left."),
                       code="already_sent")
    _cancel(waiting)
    if send.canceled_at is None:
        send.canceled_at = timezone.now()
        send.save(update_fields=["canceled_at"])
    return _send_outcome(send)


def _send_outcome(send: Send) -> SendOutcome:
    return SendOutcome(send=send, recipients=[
        RecipientOutcome(input=m.recipient, status=m.status, message=m, e164=m.recipient,
                         country=m.country)
        for m in send.messages.order_by("created_at")])


def _check_send_at(send_at: datetime | None, now: datetime) -> None:
    if send_at is None:
        return
    if send_at.tzinfo is None:
        raise ValidationFailed(details={"send_at": [_("Give a time zone.")]})
    if send_at > now + MAX_SCHEDULE_AHEAD:
        raise ValidationFailed(details={"send_at": [_("At most one year ahead.")]})


def _apply_edit(message: Message, *, send_at: datetime | None, text: str | None,
                now: datetime) -> None:
    if send_at is not None:
        due = due_for(base=send_at, kind=message.kind, country=message.country,
                      zone=message.account.timezone, windows=sending_windows())
        message.due_at, message.expires_at = due, due + validity()
    if text is not None:
        body = final_text(text, message.kind)
        seg = segment(body)
        if message.send.max_segments and seg.segments > message.send.max_segments:
            raise ValidationFailed(code="too_many_segments",
                                   details={"segments": seg.segments,
                                            "max_segments": message.send.max_segments})
        if (seg.segments, seg.encoding) != (message.segments, message.encoding):
            _uncharge(message.account, [message], reason="message edited")
            message.charge_version += 1
            charge = usage_charge(
                account=message.account, product="sms", quantity=seg.segments,
                destination_country=message.country, cause_type="messaging.message",
                cause_id=str(message.id), idempotency_key=charge_key(message), occurred_at=now)
            message.price_micros = charge.amount_micros
        message.text, message.segments, message.encoding = body, seg.segments, seg.encoding
    message.save()
    MessageEvent.objects.create(message=message, status=message.status, at=now,
                                detail="edited")


@transaction.atomic
def message_edit(*, actor: Actor, message: Message, send_at: datetime | None = None,
                 text: str | None = None) -> Message:
    """New send time and/or text for a message still scheduled; a text that changes the
    segments is re-rated (all or nothing)."""
    actor.require(Perm.MESSAGING_SEND)
    service_require(account=message.account, kind=ServiceKind.MESSAGING)
    now = timezone.now()
    _check_send_at(send_at, now)
    _not_a_campaign(message.send)
    message = Message.objects.select_for_update().select_related("account", "send").get(
        pk=message.pk)
    if message.status != S.SCHEDULED:
        raise Conflict(_("Only a scheduled message can be edited."), code="not_editable",
                       details={"status": message.status})
    _apply_edit(message, send_at=send_at, text=text, now=now)
    return message


@transaction.atomic
def send_edit(*, actor: Actor, send: Send, send_at: datetime | None = None,
              text: str | None = None) -> SendOutcome:
    """The same edit for every message of a send still scheduled."""
    actor.require(Perm.MESSAGING_SEND)
    _not_a_campaign(send)
    service_require(account=send.account, kind=ServiceKind.MESSAGING)
    now = timezone.now()
    _check_send_at(send_at, now)
    waiting = list(Message.objects.select_for_update().select_related("account", "send")
                   .filter(send=send, status=S.SCHEDULED))
    if not waiting:
        raise Conflict(_("Nothing in this send is scheduled any more: it cannot be edited."),
                       code="not_editable")
    for message in waiting:
        _apply_edit(message, send_at=send_at, text=text, now=now)
    return _send_outcome(send)
