"""Dispatch: claim due messages from the table, route them, hand them to connectors,
record the outcome; apply receipts; expire what outlived its validity (M-7).

Claiming takes a short lease (`chappe.common.leases`), so gateway copies never take the
same message. A gateway that dies after
submitting but before recording leaves the lease to expire; the message is then claimed
again and resubmitted with the same message id, which the connector must recognise (the
simulator does; SMPP links get their own answer in the SMPP issue).

Suspension (P-8) is checked again at send time, not only at acceptance: the SMS of an
account that is suspended — itself, a parent account, its messaging service or its
parent's — are not claimed. They stay queued, untouched, and leave as soon as the
suspension is lifted (or expire after their validity, M-7, like any message that could
not leave). Data is kept, nothing is refused that was already accepted and paid for.
"""

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chappe.accounts.models import Account, AccountStatus, Service, ServiceKind, ServiceStatus
from chappe.carriers.base import ConnectorType, Outbound, Receipt, SubmitResult
from chappe.carriers.routing import RouteRule, choose_connector
from chappe.common.bulk import among
from chappe.common.leases import LEASE_RELEASED, lease_claim, lease_extend, lease_free
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import Channel, Message
from chappe.messaging.services.status import messages_transition

S = MessageStatus
LEASE = timedelta(seconds=60)
RETRY_DELAY = timedelta(seconds=5)
RECEIPT_STATUS = {
    "delivered": S.DELIVERED,
    "undelivered": S.UNDELIVERED,
    "expired": S.EXPIRED,
    "rejected": S.REJECTED,
}


def messaging_held_accounts() -> set[Any]:
    """The accounts whose messages may not leave now (P-8): suspended, or with a
    suspended messaging service, and their sub-accounts (which work under the parent's
    contract, as `accounts.services.service_require` says)."""
    held = set(Account.objects.filter(status=AccountStatus.SUSPENDED)
               .values_list("pk", flat=True))
    held |= set(Service.objects.filter(kind=ServiceKind.MESSAGING,
                                       status=ServiceStatus.SUSPENDED)
                .values_list("account_id", flat=True))
    parents = held
    while parents:
        parents = set(Account.objects.filter(parent__in=parents)
                      .values_list("pk", flat=True)) - held
        held |= parents
    return held


def dispatch_claim(*, worker: str, limit: int = 500, now: datetime | None = None,
                   channel: str = Channel.SMS, held: Collection[Any] = (),
                   lease: timedelta = LEASE) -> list[Message]:
    """Lease up to `limit` due messages of `channel` to `worker` for `lease` (scheduled
    ones become queued), leaving those of the `held` accounts: SMS for a gateway, TTS for
    a voice engine (`tts.tts_calls_claim`)."""
    now = now or timezone.now()
    with transaction.atomic():
        due = (Message.objects.filter(status__in=(S.QUEUED, S.SCHEDULED), due_at__lte=now,
                                      channel=channel)
               .order_by("due_at"))
        if held:
            due = due.exclude(account_id__in=held)
        rows = lease_claim(due, limit=limit, now=now, lease=lease, holder=worker,
                           updates={"attempts": F("attempts") + 1})
        scheduled = [m.id for m in rows if m.status == S.SCHEDULED]
        messages_transition(scheduled, S.QUEUED, at=now)
        for message in rows:
            message.status = S.QUEUED
    return rows


def dispatch_route(*, claimed: list[Message], routes: list[RouteRule],
                   running: Collection[str], down: Collection[str] = (),
                   now: datetime) -> dict[str, list[Message]]:
    """Decide each claimed message: expired (M-7), rejected for want of a route, left
    waiting (its connectors are down for now: not a rejection), or handed to a running
    connector — the messages each connector is to submit, by name."""
    unavailable = set(down) | {r.connector for r in routes if r.connector not in running}
    expired = [m.id for m in claimed if m.expires_at <= now]
    messages_transition(expired, S.EXPIRED, at=now, detail="validity period over",
                        updates={i: dict(LEASE_RELEASED) for i in expired})
    by_connector: dict[str, list[Message]] = defaultdict(list)
    no_route: list = []
    waiting: list = []
    for message in claimed:
        if message.expires_at <= now:
            continue
        name = choose_connector(message.recipient, message.country, routes, unavailable)
        if name is None and down and choose_connector(
                message.recipient, message.country, routes, unavailable - set(down)):
            waiting.append(message.id)
        elif name is None:
            no_route.append(message.id)
        else:
            by_connector[name].append(message)
    messages_transition(no_route, S.REJECTED, at=now, error_code="no_route",
                        updates={i: dict(LEASE_RELEASED) for i in no_route})
    dispatch_release(ids=waiting, now=now)
    return dict(by_connector)


def dispatch_claim_routed(*, worker: str, limit: int, routes: list[RouteRule],
                          running: Collection[str], down: Collection[str] = (),
                          now: datetime, lease: timedelta = LEASE,
                          ) -> tuple[int, dict[str, list[Message]]]:
    """Claim a batch of due SMS for `worker` (leaving the held accounts' ones, P-8) and
    route it (`dispatch_route`): how many were claimed, and the messages each running
    connector is to submit."""
    claimed = dispatch_claim(worker=worker, limit=limit, now=now, lease=lease,
                             held=messaging_held_accounts())
    if not claimed:
        return 0, {}
    return len(claimed), dispatch_route(claimed=claimed, routes=routes, running=running,
                                        down=down, now=now)


def dispatch_submit(*, name: str, connector: ConnectorType, messages: list[Message],
                    worker: str) -> None:
    """Hand `messages` to the connector `name` and record what it answered."""
    results = connector.submit([
        Outbound(message_id=str(m.id), recipient=m.recipient, sender=m.sender, text=m.text,
                 encoding=m.encoding, segments=m.segments) for m in messages])
    _record_submission(name, results, worker=worker)


def dispatch_release(*, ids: Collection[Any], now: datetime | None = None,
                     delay: timedelta = RETRY_DELAY) -> None:
    """Give claimed messages back to the queue, due again after `delay` (throttled,
    connector down or saturated, a submit that failed): never a failure of the message."""
    if ids:
        among(Message.objects.filter(status=S.QUEUED), "pk", ids).update(
            due_at=(now or timezone.now()) + delay, **LEASE_RELEASED)


def dispatch_extend(*, worker: str, ids: Collection[Any], lease: timedelta = LEASE) -> int:
    """Heartbeat: the messages `ids`, claimed but not yet recorded (waiting for or in a
    connector's submit), stay leased to `worker`, so no other gateway takes and resends
    them however long the carrier takes. Rows recorded meanwhile are released and no
    longer `worker`'s: they are left alone."""
    return lease_extend(Message, ids, until=timezone.now() + lease, holder=worker)


def dispatch_batch(
    *,
    worker: str,
    connectors: dict[str, ConnectorType],
    routes: list[RouteRule],
    down: set[str] | None = None,
    limit: int = 500,
) -> int:
    """Claim one batch and send it, connector after connector, in the caller's thread
    (the gateway role runs one dispatcher per connector instead: `runtime.gateway`).
    Returns how many messages were claimed."""
    claimed, routed = dispatch_claim_routed(worker=worker, limit=limit, routes=routes,
                                            running=connectors, down=down or (),
                                            now=timezone.now())
    for name, messages in routed.items():
        dispatch_submit(name=name, connector=connectors[name], messages=messages,
                        worker=worker)
    return claimed


def _record_submission(connector: str, results: list[SubmitResult], *, worker: str) -> None:
    now = timezone.now()
    sent = {r.message_id: r for r in results if r.carrier_message_id}
    refused = [r for r in results if not r.carrier_message_id and not r.retry]
    retry = [r.message_id for r in results if r.retry]
    with transaction.atomic():
        messages_transition(
            sent, S.SENT, at=now, detail=f"by {worker.rsplit(':', 1)[-1]}",
            updates={mid: {"connector": connector, "carrier_message_id": r.carrier_message_id,
                           "sent_at": now, **LEASE_RELEASED} for mid, r in sent.items()})
        for code in {r.error_code for r in refused}:
            ids = [r.message_id for r in refused if r.error_code == code]
            messages_transition(
                ids, S.REJECTED, at=now, error_code=code,
                updates={i: {"connector": connector, **LEASE_RELEASED} for i in ids})
        # Throttled or queue full: back off and try again, never fail the message.
        dispatch_release(ids=retry, now=now)


def receipts_apply(*, connector: str, receipts: list[Receipt]) -> set[str]:
    """Apply delivery receipts; returns the carrier ids that matched a message."""
    by_carrier_id = dict(Message.objects.filter(
        connector=connector, carrier_message_id__in=[r.carrier_message_id for r in receipts],
    ).values_list("carrier_message_id", "id"))
    groups: dict[tuple, list] = defaultdict(list)
    for receipt in receipts:
        status = RECEIPT_STATUS.get(receipt.status)
        if status is not None and receipt.carrier_message_id in by_carrier_id:
            groups[(status, receipt.error_code)].append(by_carrier_id[receipt.carrier_message_id])
    now = timezone.now()
    for (status, code), ids in groups.items():
        # No `allowed_from`: a receipt for a message that is no longer `sent` (expired,
        # already delivered) is an illegal transition, counted and logged.
        messages_transition(ids, status, at=now, error_code=code)
    return set(by_carrier_id)


def messages_expire(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Mark as expired what has no final status past its validity (M-7). Messages leased
    to a gateway right now are left to it (it expires them itself before sending)."""
    now = now or timezone.now()
    ids = list(Message.objects.filter(
        status__in=(S.SCHEDULED, S.QUEUED, S.SENT), expires_at__lte=now,
    ).filter(lease_free(now))
        .values_list("id", flat=True)[:limit])
    return len(messages_transition(ids, S.EXPIRED, at=now, detail="validity period over"))
