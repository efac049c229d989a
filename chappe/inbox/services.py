"""The inbox's writes: MOs land in their conversation (after messaging stored them and
RCS/Time2Chat billed them), the client reads, assigns and answers in the same channel."""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, User
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.carriers.base import Inbound
from chappe.common.errors import NotFound, ValidationFailed
from chappe.common.lookup import get_or_404
from chappe.inbox.models import Conversation, ConversationChannel
from chappe.messaging.models import Channel, Reply
from chappe.messaging.rcs.models import RcsAgent
from chappe.messaging.rcs.send import rcs_send
from chappe.messaging.rcs.sessions import rcs_interactions_record
from chappe.messaging.services.accept import SendOutcome, sms_send
from chappe.time2chat.models import Declaration
from chappe.time2chat.services import t2c_mo_record, t2c_send


def _channel(reply: Reply) -> tuple[str, str]:
    """(channel, our address) of an MO."""
    if reply.message is not None and reply.message.channel == Channel.RCS:
        return ConversationChannel.RCS, reply.message.sender
    declared = Declaration.objects.filter(account_id=reply.account_id, ended_at__isnull=True,
                                          number__endswith=reply.to[-9:]).first()
    if declared is not None:
        return ConversationChannel.T2C, declared.number
    return ConversationChannel.SMS, reply.message.sender if reply.message else reply.to


def conversations_receive(*, replies: list[Reply]) -> None:
    """Put stored MOs in their conversations (unread again)."""
    for reply in replies:
        channel, address = _channel(reply)
        conversation, created = Conversation.objects.select_for_update().get_or_create(
            account_id=reply.account_id, correspondent=reply.from_number, address=address,
            defaults={"channel": channel, "last_in_at": reply.received_at,
                      "last_in_text": reply.text})
        if not created and reply.received_at >= conversation.last_in_at:
            conversation.last_in_at, conversation.last_in_text = reply.received_at, reply.text
            conversation.channel = channel
            conversation.save(update_fields=["last_in_at", "last_in_text", "channel"])


def inbound_after(*, inbound: list[Inbound], replies: list[Reply]) -> None:
    """What follows the storing of MOs (`replies.inbound_receive`), in its transaction:
    RCS interactions and Time2Chat sessions billed, conversations updated."""
    if not replies:
        return
    rcs_interactions_record(inbound=inbound, replies=replies)
    t2c_mo_record(replies=replies)
    conversations_receive(replies=replies)


def conversation_get(*, account: Any, id: Any) -> Conversation:
    return get_or_404(Conversation.objects.filter(account=account), id)


def conversation_read(*, actor: Actor, conversation: Conversation) -> Conversation:
    actor.require(Perm.MESSAGING_VIEW)
    conversation.read_at = timezone.now()
    conversation.save(update_fields=["read_at"])
    return conversation


@transaction.atomic
def conversation_assign(*, actor: Actor, conversation: Conversation,
                        user_id: Any | None) -> Conversation:
    """Give the conversation to one of the account's users (None: to nobody)."""
    actor.require(Perm.MESSAGING_SEND)
    user = None
    if user_id is not None:
        user = User.objects.filter(account_id=conversation.account_id, pk=user_id).first()
        if user is None:
            raise ValidationFailed(details={"user_id": [_("No such user in this account.")]})
    conversation.assigned_to = user
    conversation.save(update_fields=["assigned_to"])
    audit_record(actor=actor, account=conversation.account, action="inbox.assign",
                 target=conversation, details={"user": user.email if user else None})
    return conversation


def conversation_reply(*, actor: Actor, conversation: Conversation, text: str = "",
                       content: dict | None = None) -> SendOutcome:
    """Answer in the conversation's channel: an SMS from the sender written to, an SMS
    from the Time2Chat number, or an RCS message (a text, or `content`) from the agent."""
    account = conversation.account
    if not text.strip() and content is None:
        raise ValidationFailed(details={"text": [_("The message text is empty.")]})
    with transaction.atomic():
        if conversation.channel == ConversationChannel.RCS:
            agent = RcsAgent.objects.filter(account=account, sender=conversation.address).first()
            if agent is None:
                raise NotFound(_("This conversation's RCS agent no longer exists."))
            outcome = rcs_send(actor=actor, account=account,
                               recipients=[conversation.correspondent], agent_id=agent.pk,
                               content=content or {"type": "text", "text": text})
        elif conversation.channel == ConversationChannel.T2C:
            outcome = t2c_send(actor=actor, account=account, number=conversation.address,
                               recipient=conversation.correspondent, text=text)
        else:
            outcome = sms_send(actor=actor, account=account,
                               recipients=[conversation.correspondent], text=text,
                               sender=conversation.address, allow_reply=True)
        now = timezone.now()
        Conversation.objects.filter(pk=conversation.pk).update(last_out_at=now, read_at=now)
        conversation.last_out_at = conversation.read_at = now
    return outcome


def conversations_erase_number(*, account: Account, number: str) -> int:
    """Erase a correspondent (E.164) from the inbox (P-12): their threads go — what was
    said is in messaging's replies and messages, erased there. How many."""
    deleted, _by_model = Conversation.objects.filter(
        account=account, correspondent=number).delete()
    return deleted
