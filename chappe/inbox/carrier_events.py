"""What a carrier reports — delivery and read receipts, inbound messages — applied to the
messages, the inbox and the RCS sessions, in the caller's transaction.

One function for both ways such reports arrive: polled by the gateway from a connector
(`runtime.gateway.gateway_poll`), or pushed to a webhook of ours by the carrier (the RBM
connector, decision 0056), so a receipt or a reply has one meaning whichever way it came.
"""

from django.utils import timezone

from chappe.carriers.base import PollResult
from chappe.carriers.rcs import READ
from chappe.inbox.services import inbound_after
from chappe.messaging.rcs.dispatch import rcs_receipts_read
from chappe.messaging.services.dispatch import receipts_apply
from chappe.messaging.services.replies import inbound_receive
from chappe.time2chat.services import t2c_number_owner


def carrier_events_apply(*, connector: str, events: PollResult) -> set[str]:
    """Apply `events` of connector `connector`; returns the carrier ids of the receipts
    that matched a message. MOs are deduplicated by carrier id (a repeat is harmless)."""
    matched = receipts_apply(connector=connector, receipts=events.receipts)
    if events.inbound:
        # MOs to a declared Time2Chat number belong to its account (M-14).
        stored = inbound_receive(connector=connector, inbound=events.inbound,
                                 number_owner=t2c_number_owner)
        inbound_after(inbound=events.inbound, replies=stored)
    if reads := [r.carrier_message_id for r in events.receipts if r.status == READ]:
        rcs_receipts_read(connector=connector, carrier_ids=reads, at=timezone.now())
    return matched
