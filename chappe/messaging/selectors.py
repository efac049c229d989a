from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from chappe.accounts.models import Account
from chappe.common.lookup import get_or_404, is_uuid
from chappe.messaging.models import Message, Reply, Send


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
) -> QuerySet[Message]:
    messages = Message.objects.filter(account=account).select_related("send")
    if status:
        messages = messages.filter(status=status)
    if recipient:
        messages = messages.filter(recipient=recipient)
    if sender:
        messages = messages.filter(sender=sender)
    if reference:
        messages = messages.filter(send__reference=reference)
    if send_id:
        if not is_uuid(send_id):
            return messages.none()
        messages = messages.filter(send_id=send_id)
    if since:
        messages = messages.filter(created_at__gte=since)
    if until:
        messages = messages.filter(created_at__lt=until)
    return messages.order_by("-created_at", "-id")


def message_get(*, account: Account, id: Any) -> Message:
    return get_or_404(Message.objects.filter(account=account).select_related("send")
                      .prefetch_related("events"), id)


def send_get(*, account: Account, id: Any) -> Send:
    return get_or_404(Send.objects.filter(account=account), id)


def reply_list(*, account: Account, since: datetime | None = None) -> QuerySet[Reply]:
    replies = Reply.objects.filter(account=account)
    if since:
        replies = replies.filter(received_at__gte=since)
    return replies
