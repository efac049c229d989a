"""The connector interface: what the gateway needs from a carrier link (ARCHITECTURE 5).

A connector type is a class registered by slug (`CHAPPE_CONNECTOR_TYPES`, see
`registry.py`); it declares its settings as a pydantic model (`Config`), is built from a
`Connector` row's name and validated config, receives batches of outbound messages,
answers per message, and reports delivery receipts and inbound messages through `poll()`.
The gateway that runs it starts it (live links such as SMPP binds open then) and stops
it; the admin's "Test connection" calls `test()` on an instance that was never started.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel


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


@dataclass(frozen=True)
class ConnectionCheck:
    """What a connection test found, in a sentence for the operator."""

    ok: bool
    detail: str


class ConnectorType(Protocol):
    # The settings a `Connector.config` of this type holds (unknown keys refused).
    Config: ClassVar[type[BaseModel]]
    # The type's name in the admin.
    label: ClassVar[str]

    def __init__(self, *, name: str, config: Any) -> None: ...

    @property
    def down(self) -> bool:
        """No usable link right now: routing fails over to another connector."""
        ...

    def start(self, *, process: str) -> None:
        """Open what the connector keeps live, in the gateway process named `process`."""
        ...

    def stop(self) -> None:
        """Close it (the gateway stops, or the connector's config changed)."""
        ...

    def test(self, *, timeout: float) -> ConnectionCheck:
        """Try the configured link once, within `timeout` seconds, without `start()`."""
        ...

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
