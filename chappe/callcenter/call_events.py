"""Call events as signed webhooks (C-11; decision 0042): `call.ringing`, `call.answered`,
`call.ended` (with the call record), `queue.entered`, `queue.abandoned`, `agent.state` —
written through the webhook outbox (chappe.webhooks: same signature, same at-least-once
delivery and 24 h of retries as message webhooks) to the account's default webhook URL,
in the transaction of the fact they announce. No URL set: nothing is written."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from chappe.callcenter.models import CallRecord
from chappe.webhooks.models import WebhookSettings
from chappe.webhooks.services import EventDraft, webhooks_emit

TYPES = ("call.ringing", "call.answered", "call.ended", "queue.entered", "queue.abandoned",
         "agent.state")


def _urls(account_ids: Iterable[Any]) -> dict[str, str]:
    return {str(a): url for a, url in WebhookSettings.objects.filter(
        account_id__in=set(account_ids)).exclude(default_url="")
        .values_list("account_id", "default_url")}


def call_event(*, account_id: Any, type: str, payload: dict[str, Any],
               subject_id: str = "") -> None:
    url = _urls([account_id]).get(str(account_id))
    if url:
        webhooks_emit([EventDraft(account_id=account_id, url=url, type=type,
                                  payload=payload, subject_id=subject_id)])


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def record_payload(record: CallRecord) -> dict[str, Any]:
    return {"id": str(record.pk), "call_id": record.sip_call_id,
            "parent_id": str(record.parent_id) if record.parent_id else None,
            "direction": record.direction, "from": record.from_number,
            "to": record.to_number, "started_at": _iso(record.started_at),
            "answered_at": _iso(record.answered_at), "ended_at": _iso(record.ended_at),
            "duration_seconds": record.duration_seconds, "disposition": record.disposition,
            "hangup_cause": record.hangup_cause,
            "queue_id": str(record.queue_id) if record.queue_id else None,
            "agent_id": str(record.agent_id) if record.agent_id else None,
            "queue_wait_seconds": record.queue_wait_seconds}


def calls_ended(records: Iterable[CallRecord]) -> None:
    """`call.ended` for each finished call (its legs are in their parent's event)."""
    records = list(records)
    urls = _urls(r.account_id for r in records)
    if not urls:
        return
    legs: dict[Any, list[dict]] = {}
    for r in records:
        if r.parent_id is not None:
            legs.setdefault(r.parent_id, []).append(record_payload(r))
    webhooks_emit([EventDraft(account_id=r.account_id, url=urls[str(r.account_id)],
                              type="call.ended", subject_id=str(r.pk),
                              payload={**record_payload(r), "legs": legs.get(r.pk, [])})
                   for r in records if r.parent_id is None and str(r.account_id) in urls])
