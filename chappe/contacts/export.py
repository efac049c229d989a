"""Exports of the address book and the red list (CSV streamed through
`chappe.common.csv_export`, or XLSX).

XLSX: openpyxl writes a text cell starting with "=" as a formula, so such cells are
written with an explicit string type (a spreadsheet then shows the text and runs
nothing); other text, "+33…" numbers included, is written as inline strings anyway.
"""

import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone

from chappe.common.csv_export import csv_response
from chappe.contacts.fields import BUILTIN_FIELDS, FieldSpec
from chappe.contacts.models import Contact, ContactImport, OptOut
from chappe.contacts.services.imports import column_labels

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTACT_BASE_HEADER = ["id", *BUILTIN_FIELDS]
OPT_OUT_HEADER = ["number", "source", "responsible", "added_by", "note", "created_at"]


def contact_header(specs: Sequence[FieldSpec]) -> list[str]:
    return [*CONTACT_BASE_HEADER, *(spec.key for spec in specs), "lists", "created_at",
            "updated_at"]


def contact_rows(contacts: QuerySet[Contact], specs: Sequence[FieldSpec]) -> Iterator[list[Any]]:
    """One row per contact, read in chunks (an export of 100,000 contacts streams)."""
    for contact in contacts.prefetch_related("lists").iterator(chunk_size=2000):
        yield [str(contact.pk), *(getattr(contact, name) for name in BUILTIN_FIELDS),
               *(contact.custom.get(spec.key) for spec in specs),
               "; ".join(sorted(cl.name for cl in contact.lists.all())),
               contact.created_at, contact.updated_at]


def opt_out_rows(entries: QuerySet[OptOut]) -> Iterator[list[Any]]:
    for entry in entries.iterator(chunk_size=2000):
        yield [entry.number or "", entry.source, entry.responsible, entry.added_by, entry.note,
               entry.created_at]


def _xlsx_value(cell: Any, sheet: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell  # openpyxl takes ~0.1 s to import: XLSX only

    if isinstance(cell, datetime):
        return timezone.localtime(cell).replace(tzinfo=None) if timezone.is_aware(cell) else cell
    if isinstance(cell, str) and cell.startswith("="):
        text = WriteOnlyCell(sheet, value=cell)
        text.data_type = "s"
        return text
    if cell is None or isinstance(cell, str | int | float | date):
        return cell
    return str(cell)


def xlsx_response(filename: str, header: Sequence[str],
                  rows: Iterable[Sequence[Any]]) -> FileResponse:
    """A one-sheet workbook, built in a temporary file (spilled to disk past 8 MB)."""
    from openpyxl import Workbook  # openpyxl takes ~0.1 s to import: XLSX only

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(header))
    for row in rows:
        sheet.append([_xlsx_value(cell, sheet) for cell in row])
    buffer = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    workbook.save(buffer)
    buffer.seek(0)
    return FileResponse(buffer, as_attachment=True, filename=filename,
                        content_type=XLSX_CONTENT_TYPE)


def import_errors_response(imp: ContactImport) -> StreamingHttpResponse:
    """The rows of an import that were not imported: line, error, then the row's own
    columns, so the file can be corrected and imported again."""
    rows = ([error.row, error.message, *json.loads(error.values or "[]")]
            for error in imp.errors.all().iterator(chunk_size=2000))
    return csv_response("import-errors.csv", ["line", "error", *column_labels(imp)], rows)
