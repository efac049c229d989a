"""What a connector carrying RCS adds to the connector interface (`base.ConnectorType`,
decision 0049): a capability lookup before sending, a submit of rich content, and
inbound messages that may be a tap on a suggestion (its postback data).

Receipts and inbound messages come back through the same `poll()`/`ack()` as SMS; a
receipt may also say `read` (recorded in the message's history, not a status).
"""

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from chappe.carriers.base import ConnectorType, Inbound, SubmitResult

READ = "read"


@dataclass(frozen=True)
class RcsOutbound:
    message_id: str
    recipient: str
    # The agent's sender id (the carrier's agent, on a real RBM link).
    agent: str
    # The content as stored (`messaging.rcs.content`, JSON).
    content: dict[str, Any]


@dataclass(frozen=True)
class RcsInbound(Inbound):
    """An MO on an RCS conversation: a text, or a tap on a suggestion (`postback_data`
    set, `text` its label), or a shared location."""

    postback_data: str = ""


@runtime_checkable
class RcsConnectorType(ConnectorType, Protocol):
    carries_rcs: ClassVar[bool]

    def capabilities(self, recipients: list[str]) -> dict[str, bool]:
        """Whether each recipient's phone can receive RCS now (a number missing from the
        answer could not be checked: it is asked again later)."""
        ...

    def submit_rich(self, batch: list[RcsOutbound]) -> list[SubmitResult]:
        """Hand RCS messages to the carrier (same contract as `submit`)."""
        ...


def carries_rcs(connector: object) -> bool:
    return bool(getattr(connector, "carries_rcs", False))
