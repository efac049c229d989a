"""Status changes: checked against the lifecycle, recorded in the history, announced by
webhook — all in the caller's transaction.

A change the lifecycle forbids (a receipt for a message that already expired, a repeated
receipt) leaves the message as it is, but is not dropped silently: it is logged with the
message and counted by (from, to) for /metrics (`chappe_message_illegal_transitions_total`,
`carriers.services.transitions_refused_count`). A caller's own narrowing (`allowed_from`:
"cancel only what has not left") is a choice, not an illegal move, and is not counted."""

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction

from chappe.carriers.services import transitions_refused_count
from chappe.common.bulk import among, bulk_insert, bulk_set
from chappe.messaging.lifecycle import IllegalTransition, MessageStatus, check_transition
from chappe.messaging.models import Message, MessageEvent
from chappe.webhooks.selectors import webhook_urls
from chappe.webhooks.services import EventDraft, webhooks_emit

log = logging.getLogger("chappe.messaging")


def message_webhook_payload(message: Message) -> dict[str, Any]:
    return {
        "message_id": str(message.id),
        "send_id": str(message.send_id),
        "recipient": message.recipient,
        "status": message.status,
        "error_code": message.error_code,
        "reference": message.send.reference,
        "at": message.status_changed_at.isoformat(),
    }


def messages_transition(
    ids: Iterable[Any],
    new: MessageStatus,
    *,
    at: datetime,
    error_code: str = "",
    detail: str = "",
    updates: dict[Any, dict[str, Any]] | None = None,
    allowed_from: Iterable[MessageStatus] | None = None,
) -> list[Message]:
    """Move the given messages to `new` where the lifecycle allows it; others are left
    alone (a duplicate receipt, a message canceled meanwhile). Rows are locked first, so
    concurrent changers serialize. `updates` sets more fields per message id. Moves the
    lifecycle forbids are logged and counted (module doc)."""
    ids = list(ids)
    if not ids:
        return []
    updates = {str(key): value for key, value in (updates or {}).items()}
    allowed = set(allowed_from) if allowed_from is not None else None
    with transaction.atomic():
        # The send is fetched apart (prefetch): joined, SQLite's planner walks the send's
        # messages instead of the primary-key index, seconds per batch on a large send.
        rows = list(among(Message.objects.select_for_update().prefetch_related("send"),
                          "pk", ids))
        changed: list[Message] = []
        per_field: dict[str, dict[Any, Any]] = {}
        refused: Counter[tuple[str, str]] = Counter()
        for message in rows:
            current = MessageStatus(message.status)
            if allowed is not None and current not in allowed:
                continue
            try:
                check_transition(current, new)
            except IllegalTransition as exc:
                log.warning("message %s (account %s) left %s: %s", message.id,
                            message.account_id, current, exc)
                refused[(current.value, new.value)] += 1
                continue
            message.status = new
            message.status_changed_at = at
            message.error_code = error_code
            for field, value in updates.get(str(message.id), {}).items():
                setattr(message, field, value)
                per_field.setdefault(field, {})[message.id] = value
            changed.append(message)
        if refused:
            transitions_refused_count(refused=refused, at=at)
        if not changed:
            return []
        ids = [m.id for m in changed]
        # One UPDATE per call where it can be (each one writes a new version of every
        # row): the status and every field given one value for all, plus at most one
        # field whose value differs per message (the carrier's id) in the same statement.
        same = {"status": new, "status_changed_at": at, "error_code": error_code}
        differing: dict[str, dict[Any, Any]] = {}
        for field, values in per_field.items():
            distinct = set(values.values())
            if len(distinct) == 1 and len(values) == len(ids):
                same[field] = distinct.pop()
            else:
                differing[field] = values
        first = next((f for f, values in differing.items() if len(values) == len(ids)), None)
        if first is None:
            among(Message.objects.all(), "pk", ids).update(**same)
        else:
            bulk_set(Message, first, differing.pop(first), also=same)
        for field, values in differing.items():
            bulk_set(Message, field, values)
        bulk_insert(MessageEvent, ("message_id", "status", "at", "error_code", "detail"),
                    ((m.id, new.value, at, error_code, detail) for m in changed))
        urls = webhook_urls(targets=[(m.account_id, m.send.callback_url) for m in changed])
        # A send made through a compatibility API calls its own callback in that API's
        # form (issue 17); without one, the account's default webhook as for any send.
        webhooks_emit(EventDraft(account_id=m.account_id, url=url, type="message.status",
                                 payload=message_webhook_payload(m), subject_id=str(m.id),
                                 format=m.send.callback_format if m.send.callback_url else "")
                      for m, url in zip(changed, urls, strict=True))
    return changed
