"""Messaging's part of a recipient's erasure (P-12, decision 0018), run by
`chappe.privacy.rights` in its transaction with the other apps' parts.

Messages to the number that have not left are canceled (their price credited back); a
message being handed to a carrier right now makes the erasure wait (409); one held for
the operator's review is rejected (credited back). Messages and replies stay as
anonymous records — number and text replaced — because their usage records are the
billing proof (C-10) and never held the number; archived messages too, in their files
(`archive.archive_erase_number`). The number is scrubbed
from the per-recipient reports of sends, and the text of a send to this number alone goes.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.common.erasure import ERASED, number_variants, scrub
from chappe.common.errors import Conflict
from chappe.messaging.archive import archive_erase_number
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import Message, Reply, Send
from chappe.messaging.rcs.models import RcsSession
from chappe.messaging.services.edit import message_cancel, messages_uncharge
from chappe.messaging.services.status import messages_transition

# The keys of messaging's webhook payloads whose values are personal whatever they say
# (`message.status`, `message.reply`): the webhooks' part of an erasure blanks them.
WEBHOOK_PERSONAL_KEYS = frozenset({"text", "from", "recipient"})


@dataclass
class MessagesErased:
    messages: int = 0
    canceled: int = 0
    replies: int = 0
    sends: int = 0
    # Messages already in the archive (M-13, `messaging.archive`).
    archived: int = 0
    # The erased messages, by id: the subjects of the webhook events about them.
    message_ids: list[Any] = field(default_factory=list)


def messages_erase_number(*, actor: Actor, account: Account, number: str) -> MessagesErased:
    """Erase `number` (E.164) from the account's messages, replies and sends (see the
    module doc), in the caller's transaction."""
    variants = number_variants(number)
    erased = MessagesErased()
    messages = Message.objects.select_for_update().filter(account=account, recipient=number)
    if messages.filter(status=MessageStatus.QUEUED).exists():
        raise Conflict(_("A message to this number is being sent right now; try again in a "
                         "minute."), code="message_in_flight")
    for message in messages.filter(status__in=[MessageStatus.ACCEPTED, MessageStatus.SCHEDULED]):
        message_cancel(actor=actor, message=message)
        erased.canceled += 1
    held = [m for m in messages if m.status == MessageStatus.HELD]  # never to leave now
    messages_uncharge(messages_transition(
        [m.pk for m in held], MessageStatus.REJECTED, at=timezone.now(),
        error_code="recipient_erased", allowed_from=(MessageStatus.HELD,)),
        reason="recipient erased")
    erased.canceled += len(held)
    erased.archived = archive_erase_number(account=account, number=number)
    erased.message_ids = list(messages.values_list("pk", flat=True))
    send_ids = set(messages.values_list("send_id", flat=True))
    erased.messages = Message.objects.filter(pk__in=erased.message_ids).update(
        recipient=ERASED, text=ERASED)
    erased.replies = Reply.objects.filter(account=account, from_number=number).update(
        from_number=ERASED, text=ERASED)
    # RCS sessions stay as the billing proof of what they cost, without the number.
    RcsSession.objects.filter(account=account, recipient=number).update(recipient=ERASED)

    # Sends: the per-recipient report; the text of a send to this number alone.
    sends = Send.objects.filter(Q(pk__in=send_ids) | Q(account=account, report__contains=number))
    for send in sends.select_for_update():
        rows = json.loads(send.report or "[]")
        send.report = json.dumps(scrub(rows, variants)) if rows else send.report
        if not send.messages.exclude(recipient=ERASED).exists():
            send.text = ERASED
        send.save(update_fields=["report", "text"])
        erased.sends += 1
    return erased


@transaction.atomic
def message_redact(*, actor: Actor, message: Message) -> Message:
    """Erase the text of a message that has left (Twilio's redaction and delete, issue
    17): the record stays, its usage the billing proof (P-13); the send's text goes too
    when the send had this one message. Audited."""
    actor.require(Perm.MESSAGING_SEND)
    if message.status in (MessageStatus.ACCEPTED, MessageStatus.SCHEDULED,
                          MessageStatus.QUEUED):
        raise Conflict(_("A message that has not left cannot be redacted; cancel it."))
    Message.objects.filter(pk=message.pk).update(text="")
    if not Message.objects.filter(send_id=message.send_id).exclude(pk=message.pk).exists():
        Send.objects.filter(pk=message.send_id).update(text="")
    audit_record(actor=actor, account=message.account, action="message.redact",
                 target=message, details={})
    message.text = ""
    return message
