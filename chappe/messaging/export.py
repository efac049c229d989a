"""The message CSV export: one list of columns for GET /api/v1/sms/export and the web
history's export button (written by chappe.common.csv_export, which escapes the free
text a client typed — sender, reference — against spreadsheet formulas)."""

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from chappe.messaging.models import Message

MESSAGE_CSV_HEADER = ["id", "send_id", "created_at", "recipient", "country", "sender", "kind",
                      "status", "error_code", "segments", "encoding", "price", "currency",
                      "reference", "sent_at"]
MESSAGE_CSV_FILENAME = "sms.csv"
_MICROS = Decimal(1_000_000)


def message_csv_row(m: Message) -> list[Any]:
    """One message as a row of MESSAGE_CSV_HEADER (`m.send` should be select_related)."""
    return [m.id, m.send_id, m.created_at, m.recipient, m.country, m.sender, m.kind, m.status,
            m.error_code, m.segments, m.encoding, m.price_micros / _MICROS, m.currency,
            m.send.reference, m.sent_at]


def message_csv_rows(messages: Iterable[Message]) -> Iterator[list[Any]]:
    """Rows of every message, read from the database in chunks when given a queryset."""
    iterate = getattr(messages, "iterator", None)
    for m in iterate(chunk_size=2000) if iterate else messages:
        yield message_csv_row(m)
