"""The connector interface: what the gateway needs from a carrier link (ARCHITECTURE 5).

A connector type is a class registered by dotted path in `Connector.type`; it is built
from the row's JSON `config`, receives batches of outbound messages, answers per message,
and reports delivery receipts and inbound messages through `poll()`. Connectors that keep
a live link (SMPP binds) may instead push receipts to the messaging services themselves.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Outbound:
    message_id: str
    recipient: str
    sender: str
    text: str
    encoding: str
    segments: int


@dataclass(frozen=True)
class SubmitResult:
    message_id: str
    # The carrier's id, used to match receipts; empty when refused.
    carrier_message_id: str = ""
    # "" on success; else the carrier's error code.
    error_code: str = ""
    # A temporary refusal (throttling, queue full): retry later, never fail the message.
    retry: bool = False


@dataclass(frozen=True)
class Receipt:
    carrier_message_id: str
    # "delivered", "undelivered", "expired" or "rejected".
    status: str
    error_code: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class Inbound:
    carrier_id: str
    from_number: str
    to: str
    text: str
    received_at: datetime


@dataclass
class PollResult:
    receipts: list[Receipt] = field(default_factory=list)
    inbound: list[Inbound] = field(default_factory=list)


class ConnectorType(Protocol):
    def __init__(self, name: str, config: dict[str, Any]) -> None: ...

    def submit(self, batch: list[Outbound]) -> list[SubmitResult]:
        """Hand messages to the carrier. Must be safe to call again with a message it
        may already have (after a crash): the same id must not be sent twice where the
        carrier link allows it (the simulator deduplicates by message id)."""
        ...

    def poll(self, now: datetime) -> PollResult:
        """Receipts and inbound messages that became available (not yet consumed)."""
        ...

    def ack(self, matched: set[str], polled: PollResult) -> None:
        """Called in the transaction that applied `polled`: consume the receipts whose
        carrier ids matched a message, and the inbound messages."""
        ...
