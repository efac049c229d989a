"""The RCS side of the gateway (M-15, decision 0049): claim due RCS messages, check each
recipient's capability with an RCS connector, send the rich content to the capable ones
and the client's SMS fallback to the others; later, send the fallback of messages still
not delivered after the client's delay.

**Fallback** (`_fall_back`) is a new SMS message accepted by the SMS core (`sms_send`:
red list, hours, credit check, billed as SMS) with the RCS message's reference and
callback, and the RCS message says so in its history (`fallback to SMS <id>`):

* not capable → the RCS message is `rejected` (`rcs_not_capable`) and its RCS charge
  given back: it never reached a carrier;
* not delivered within `fallback_after` → the RCS message was handed to the carrier and
  stays billed (M-15: every MT billed, delivered or not); it becomes `undelivered`
  (`rcs_fallback`), so a late receipt no longer moves it.

Without a fallback text, a not-capable message is only rejected (and refunded).
"""

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.carriers.rcs import RcsConnectorType, RcsOutbound
from chappe.common.errors import ChappeError
from chappe.common.leases import LEASE_RELEASED
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import Channel, Message, MessageEvent, Send
from chappe.messaging.rcs.models import RcsAgent
from chappe.messaging.rcs.send import MIN_FALLBACK_AFTER
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.dispatch import (
    dispatch_claim,
    dispatch_release,
    messaging_held_accounts,
)
from chappe.messaging.services.edit import messages_uncharge
from chappe.messaging.services.status import messages_transition

log = logging.getLogger("chappe.messaging.rcs")
S = MessageStatus
NOT_CAPABLE = "rcs_not_capable"
FELL_BACK = "rcs_fallback"


def fallback_sender(agent: RcsAgent) -> str:
    """The SMS sender of an agent's fallback: its brand name, in the letters and digits
    an alphanumeric sender takes (11 at most)."""
    return "".join(ch for ch in agent.brand_name if ch.isascii() and ch.isalnum())[:11] or "RCS"


def _fall_back(message: Message, send: Send, *, reason: str, now: datetime) -> None:
    """Send `send.fallback_text` to the message's recipient as an SMS and note it on the
    RCS message (in the caller's transaction; a refusal — no credit — is noted too)."""
    if not send.fallback_text:
        return
    try:
        with transaction.atomic():
            outcome = sms_send(
                actor=SYSTEM.on(message.account), account=message.account,
                recipients=[message.recipient], text=send.fallback_text,
                sender=fallback_sender(send.rcs_agent), callback_url=send.callback_url,
                reference=send.reference)
        result = outcome.recipients[0]
        detail = (f"fallback to SMS {result.message.id} ({reason})" if result.message
                  else f"fallback not sent: {result.status} ({reason})")
    except ChappeError as exc:
        detail = f"fallback not sent: {exc.code} ({reason})"
    MessageEvent.objects.create(message=message, status=message.status, at=now,
                                detail=detail[:200])


def rcs_dispatch(*, worker: str, connectors: dict[str, RcsConnectorType], limit: int = 200,
                 now: datetime | None = None) -> int:
    """Claim due RCS messages and deal with each (module doc) through the first RCS
    connector by name. Returns how many were claimed."""
    if not connectors:
        return 0
    name = sorted(connectors)[0]
    connector = connectors[name]
    now = now or timezone.now()
    claimed = dispatch_claim(worker=worker, limit=limit, now=now, channel=Channel.RCS,
                             held=messaging_held_accounts())
    if not claimed:
        return 0
    sends = {s.pk: s for s in Send.objects.filter(
        pk__in={m.send_id for m in claimed}).select_related("rcs_agent")}
    live = [m for m in claimed if m.expires_at > now]
    with transaction.atomic():
        expired = [m.id for m in claimed if m.expires_at <= now]
        messages_transition(expired, S.EXPIRED, at=now, detail="validity period over",
                            updates={i: dict(LEASE_RELEASED) for i in expired})
    try:
        capable = connector.capabilities([m.recipient for m in live])
    except Exception:  # the lookup failed: try again shortly, never fail the messages
        log.exception("capability lookup on %s failed", name)
        dispatch_release(ids=[m.id for m in live], now=now)
        return len(claimed)
    unknown = [m.id for m in live if m.recipient not in capable]
    dispatch_release(ids=unknown, now=now)
    not_capable = [m for m in live if capable.get(m.recipient) is False]
    with transaction.atomic():
        rejected = messages_transition(
            [m.id for m in not_capable], S.REJECTED, at=now, error_code=NOT_CAPABLE,
            detail="not RCS-capable", updates={m.id: dict(LEASE_RELEASED) for m in not_capable})
        messages_uncharge(rejected, reason="not RCS-capable")
        for message in rejected:
            _fall_back(message, sends[message.send_id], reason="not RCS-capable", now=now)
    to_send = [m for m in live if capable.get(m.recipient)]
    if to_send:
        results = connector.submit_rich([
            RcsOutbound(message_id=str(m.id), recipient=m.recipient, agent=m.sender,
                        content=sends[m.send_id].rcs_content or {}) for m in to_send])
        _record(name, results, to_send, sends, now)
    return len(claimed)


def _record(name: str, results: list, messages: list[Message], sends: dict,
            now: datetime) -> None:
    by_id = {str(m.id): m for m in messages}
    with transaction.atomic():
        sent = {r.message_id: r for r in results if r.carrier_message_id}
        messages_transition(
            sent, S.SENT, at=now, detail=f"RCS by {name}",
            updates={i: {"connector": name, "carrier_message_id": r.carrier_message_id,
                         "sent_at": now, **LEASE_RELEASED} for i, r in sent.items()})
        dispatch_release(ids=[r.message_id for r in results if r.retry], now=now)
        refused = [r for r in results if not r.carrier_message_id and not r.retry]
        for code in {r.error_code for r in refused}:
            ids = [r.message_id for r in refused if r.error_code == code]
            done = messages_transition(ids, S.REJECTED, at=now, error_code=code,
                                       updates={i: {"connector": name, **LEASE_RELEASED}
                                                for i in ids})
            if code == NOT_CAPABLE:  # capability changed between lookup and submit
                messages_uncharge(done, reason="not RCS-capable")
                for message in done:
                    _fall_back(by_id[str(message.id)], sends[message.send_id],
                               reason="not RCS-capable", now=now)


def rcs_fallback_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send the fallback of RCS messages sent and still not delivered after their send's
    `fallback_after` seconds (module doc). Returns how many fell back."""
    now = now or timezone.now()
    # The earliest sent first: a page of candidates, each checked against its own delay.
    candidates = (Message.objects.filter(
        channel=Channel.RCS, status=S.SENT, send__fallback_after__isnull=False,
        sent_at__lte=now - timedelta(seconds=MIN_FALLBACK_AFTER))
        .order_by("sent_at").select_related("send", "send__rcs_agent", "account"))
    due = [m for m in candidates[:limit] if m.sent_at + timedelta(
        seconds=m.send.fallback_after) <= now]
    return _fall_back_late(due, now)


def _fall_back_late(due: Collection[Message], now: datetime) -> int:
    count = 0
    for message in due:
        with transaction.atomic():
            moved = messages_transition([message.id], S.UNDELIVERED, at=now,
                                        error_code=FELL_BACK, allowed_from=(S.SENT,),
                                        detail="not delivered within the fallback delay")
            if moved:
                _fall_back(moved[0], message.send, reason="not delivered in time", now=now)
                count += 1
    return count


def rcs_receipts_read(*, connector: str, carrier_ids: list[str], at: datetime) -> int:
    """Record read receipts in the messages' history (read is not a status)."""
    ids: list[Any] = list(Message.objects.filter(
        connector=connector, carrier_message_id__in=carrier_ids).values_list("id", flat=True))
    MessageEvent.objects.bulk_create(MessageEvent(message_id=i, status="read", at=at)
                                     for i in ids)
    return len(ids)
