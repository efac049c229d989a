"""The message lifecycle (M-3) as an explicit state machine (pure).

Every status has one comment; `TRANSITIONS` is the only source of which moves are legal,
and `check_transition` raises on any other, so a bug cannot silently resurrect a final
message (e.g. a late receipt turning `expired` into `delivered`).
"""

from enum import StrEnum


class MessageStatus(StrEnum):
    # Taken by the platform: durable, rated and billed (M-8); not yet due.
    ACCEPTED = "accepted"
    # Held by the content policy (M-11) until the operator releases or refuses it.
    HELD = "held_for_review"
    # Waiting for its send time (client schedule or marketing quiet hours, M-12).
    SCHEDULED = "scheduled"
    # Due: waiting in the dispatch queue for a gateway to hand it to a carrier.
    QUEUED = "queued"
    # Handed to the operator (counts as sent, M-3); waiting for a delivery receipt.
    SENT = "sent"
    # Final: the operator reported delivery to the handset.
    DELIVERED = "delivered"
    # Final: the operator reported it could not be delivered (with an error code).
    UNDELIVERED = "undelivered"
    # Final: no final status within the validity period (24 h by default, M-7).
    EXPIRED = "expired"
    # Final: refused by the carrier (or by the platform before submission).
    REJECTED = "rejected"
    # Final: canceled by the client before it left.
    CANCELED = "canceled"
    # Final: skipped because the number is on the account's red list (M-5).
    OPTED_OUT = "opted_out"


FINAL = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.EXPIRED,
        MessageStatus.REJECTED,
        MessageStatus.CANCELED,
        MessageStatus.OPTED_OUT,
    }
)

S = MessageStatus
TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    S.ACCEPTED: frozenset({S.SCHEDULED, S.QUEUED, S.CANCELED, S.OPTED_OUT, S.REJECTED,
                           S.HELD}),
    S.HELD: frozenset({S.SCHEDULED, S.QUEUED, S.REJECTED}),
    S.SCHEDULED: frozenset({S.QUEUED, S.CANCELED, S.EXPIRED}),
    S.QUEUED: frozenset({S.SENT, S.REJECTED, S.EXPIRED, S.SCHEDULED}),
    S.SENT: frozenset({S.DELIVERED, S.UNDELIVERED, S.EXPIRED, S.REJECTED}),
    **{status: frozenset() for status in FINAL},
}


class IllegalTransition(ValueError):
    pass


def check_transition(current: MessageStatus, new: MessageStatus) -> None:
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(f"a message cannot go from {current} to {new}")


def can_cancel(status: MessageStatus) -> bool:
    """Canceling (and editing) is possible only before the message leaves (M-1)."""
    return S.CANCELED in TRANSITIONS[status]
