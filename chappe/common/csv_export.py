"""The one CSV writer behind every export (ledger, invoices, messages).

Rows go through `csv.writer` (RFC 4180 quoting, CRLF line ends) one at a time, so an
export of a million messages streams without being held in memory.

Formula injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (or a
tab or carriage return in front of one) as a formula, so a client could put
`=HYPERLINK(...)` in a reference and have it run on whoever opens the file. Such text
cells get a leading apostrophe, which spreadsheets read as "this is text" (OWASP "CSV
injection"). Only text is escaped, never numbers:

* pass amounts as `int` or `Decimal` (a Decimal is written in fixed point, never `1E-6`);
* a text cell that is only a signed number (`-0.045`, `+33600000001`) is left alone too:
  it cannot call anything, and an E.164 number must stay an E.164 number;
* `None` is an empty cell, dates and datetimes are ISO 8601.

A spreadsheet in a French (or other `;`-separated) locale splits an unquoted line on `;`,
so `ok;=HYPERLINK(...)` inside one of our cells would become a cell of its own starting
with `=`: every piece after a `;` gets the same apostrophe as a cell's start would.
"""

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal, overload
from uuid import UUID

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

CONTENT_TYPE = "text/csv; charset=utf-8"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
# A piece after a `;` that a `;`-separated spreadsheet would run (not a plain number).
_FORMULA_AFTER_SEMICOLON = re.compile(
    r";(?=[=+\-@\t\r])(?![+-]?[0-9]+(?:\.[0-9]+)?(?:;|$))")


def csv_cell(value: Any) -> str | int | float:
    """One cell as written: numbers as they are, text made safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    text = _FORMULA_AFTER_SEMICOLON.sub(";'", str(value))
    if text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


class _Line:
    """A file object for `csv.writer` that hands each written line back."""

    def write(self, value: str) -> str:
        return value


def csv_rows(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header line then one line per row (CSV text, CRLF-terminated), lazily."""
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole file as one string (for small files: one invoice)."""
    return "".join(csv_rows(header, rows))


@overload
def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                 stream: Literal[True] = ...) -> StreamingHttpResponse: ...


@overload
def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                 stream: Literal[False]) -> HttpResponse: ...


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                 stream: bool = True) -> HttpResponse | StreamingHttpResponse:
    """A CSV download. Streamed by default; `stream=False` builds the body up front (a small
    file, or a caller that must answer with a plain `HttpResponse`)."""
    lines = csv_rows(header, rows)
    response: HttpResponse | StreamingHttpResponse
    if stream:
        response = StreamingHttpResponse(lines, content_type=CONTENT_TYPE)
    else:
        response = HttpResponse("".join(lines), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
