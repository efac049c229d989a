from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet

from chappe.accounts.models import Account
from chappe.accounts.selectors import account_ancestors
from chappe.common.lookup import filtered, get_or_404, is_uuid
from chappe.messaging.models import (
    Channel,
    Message,
    ProtectedSender,
    Reply,
    Send,
    SenderAuthorisation,
)
from chappe.messaging.senders import Protection


def message_list(
    *,
    account: Account,
    status: str | None = None,
    recipient: str | None = None,
    sender: str | None = None,
    reference: str | None = None,
    send_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: str = Channel.SMS,
) -> QuerySet[Message]:
    messages = Message.objects.filter(account=account, channel=channel).select_related("send")
    if send_id and not is_uuid(send_id):
        return messages.none()
    return filtered(messages, status=status, recipient=recipient, sender=sender,
                    send__reference=reference, send_id=send_id, created_at__gte=since,
                    created_at__lt=until).order_by("-created_at", "-id")


def message_get(*, account: Account, id: Any, channel: str = Channel.SMS) -> Message:
    return get_or_404(Message.objects.filter(account=account, channel=channel)
                      .select_related("send").prefetch_related("events"), id)


def send_get(*, account: Account, id: Any) -> Send:
    """An SMS send (or a campaign's, which the SMS endpoints refuse to change)."""
    return get_or_404(Send.objects.filter(account=account).exclude(channel=Channel.TTS), id)


def tts_send_get(*, account: Account, id: Any) -> Send:
    """A voice-message send with its messages (and their history)."""
    return get_or_404(Send.objects.filter(account=account, channel=Channel.TTS)
                      .prefetch_related("messages__events"), id)


def reply_list(*, account: Account, since: datetime | None = None) -> QuerySet[Reply]:
    return filtered(Reply.objects.filter(account=account), received_at__gte=since)


def messages_to_number(*, account: Account, number: str) -> QuerySet[Message]:
    """The account's messages to `number` (E.164), newest first, with their send and
    history (a recipient's data, P-12)."""
    return (Message.objects.filter(account=account, recipient=number)
            .select_related("send").prefetch_related("events").order_by("-created_at"))


def replies_from_number(*, account: Account, number: str) -> QuerySet[Reply]:
    """The replies `number` (E.164) sent the account, newest first (P-12)."""
    return Reply.objects.filter(account=account, from_number=number).order_by("-received_at")


def protected_senders() -> dict[str, Protection]:
    """The operator's protected names, by comparison key (for `senders.check_sender`)."""
    return {key: Protection(level)
            for key, level in ProtectedSender.objects.values_list("key", "level")}


def sender_authorisations(*, account: Account, on: date) -> frozenset[str]:
    """Sender names the account holds a valid authorisation for (its own or a parent's)."""
    holders = [account.pk, *(a.pk for a in account_ancestors(account=account))]
    return frozenset(SenderAuthorisation.objects.filter(account_id__in=holders).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=on)).values_list("name", flat=True))
