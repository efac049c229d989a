"""The inbox's reads: threads with their markers, and one thread's messages both ways."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone

from chappe.inbox.models import Conversation, ConversationChannel
from chappe.messaging.models import Message, Reply

# M-15: the client must answer RCS recipients within 72 hours.
RCS_ANSWER_WITHIN = timedelta(hours=72)
PAGE = 500


@dataclass
class Thread:
    conversation: Conversation
    answered_at: datetime | None

    @property
    def unanswered(self) -> bool:
        return self.answered_at is None or self.answered_at <= self.conversation.last_in_at

    def overdue(self, now: datetime) -> bool:
        """An RCS conversation left unanswered 72 hours."""
        return (self.conversation.channel == ConversationChannel.RCS and self.unanswered
                and self.conversation.last_in_at <= now - RCS_ANSWER_WITHIN)


def _answered(account: Any, conversations: list[Conversation]) -> dict[tuple, datetime]:
    """The latest MT to each correspondent from each address (any way it was sent)."""
    rows = (Message.objects.filter(account=account,
                                   recipient__in={c.correspondent for c in conversations},
                                   sender__in={c.address for c in conversations})
            .values("recipient", "sender").annotate(last=Max("created_at")))
    return {(r["recipient"], r["sender"]): r["last"] for r in rows}


def thread_list(*, account: Any, channel: str | None = None, unread: bool | None = None,
                unanswered: bool | None = None, overdue: bool | None = None,
                assigned_to: Any | None = None) -> list[Thread]:
    """The account's most recent conversations (at most 500), filtered."""
    now = timezone.now()
    queryset = Conversation.objects.filter(account=account).select_related("assigned_to")
    if channel:
        queryset = queryset.filter(channel=channel)
    if assigned_to is not None:
        queryset = queryset.filter(assigned_to_id=assigned_to)
    conversations = list(queryset[:PAGE])
    answered = _answered(account, conversations)
    threads = []
    for c in conversations:
        latest = max([t for t in (c.last_out_at, answered.get((c.correspondent, c.address)))
                      if t is not None], default=None)
        thread = Thread(conversation=c, answered_at=latest)
        if unread is not None and c.unread != unread:
            continue
        if unanswered is not None and thread.unanswered != unanswered:
            continue
        if overdue is not None and thread.overdue(now) != overdue:
            continue
        threads.append(thread)
    return threads


def thread_messages(*, conversation: Conversation, limit: int = 200) -> list[dict]:
    """The conversation's messages both ways, oldest first (the latest `limit`)."""
    out = Message.objects.filter(account_id=conversation.account_id,
                                 recipient=conversation.correspondent,
                                 sender=conversation.address).order_by("-created_at")[:limit]
    inbound = (Reply.objects.filter(account_id=conversation.account_id,
                                    from_number=conversation.correspondent)
               .select_related("message", "rcs_interaction").order_by("-received_at")[:limit])
    items = [{"direction": "out", "id": m.id, "at": m.created_at, "text": m.text,
              "channel": m.channel, "status": m.status, "postback_data": ""} for m in out]
    for r in inbound:
        if r.message is not None and r.message.sender != conversation.address:
            continue
        interaction = getattr(r, "rcs_interaction", None)
        items.append({"direction": "in", "id": r.id, "at": r.received_at, "text": r.text,
                      "channel": conversation.channel, "status": "received",
                      "postback_data": interaction.postback_data if interaction else ""})
    return sorted(items, key=lambda item: item["at"])[-limit:]


def thread_out(thread: Thread, now: datetime) -> dict:
    c = thread.conversation
    return {"id": c.id, "correspondent": c.correspondent, "address": c.address,
            "channel": c.channel, "last_in_at": c.last_in_at, "last_in_text": c.last_in_text,
            "answered_at": thread.answered_at, "unread": c.unread,
            "unanswered": thread.unanswered, "overdue": thread.overdue(now),
            "assigned_to": c.assigned_to.email if c.assigned_to else None}


def thread_get(*, conversation: Conversation) -> Thread:
    answered = _answered(conversation.account_id, [conversation]).get(
        (conversation.correspondent, conversation.address))
    latest = max([t for t in (conversation.last_out_at, answered) if t is not None],
                 default=None)
    return Thread(conversation=conversation, answered_at=latest)
