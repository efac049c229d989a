"""Exports of the address book and the red list (CSV streamed through
`chappe.common.csv_export`, or XLSX), and a recipient's data as JSON (P-12).

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

from chappe.accounts.models import Account
from chappe.common.csv_export import csv_response
from chappe.contacts.fields import BUILTIN_FIELDS, FieldSpec
from chappe.contacts.models import Contact, ContactImport, OptOut
from chappe.contacts.selectors import RecipientData
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
    from openpyxl.cell import WriteOnlyCell

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
    from openpyxl import Workbook

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


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def recipient_document(*, account: Account, data: RecipientData) -> dict[str, Any]:
    """Everything held about one number, as a JSON document (P-12 access and portability)."""
    contacts = [{
        "id": str(c.pk), **{name: getattr(c, name) for name in BUILTIN_FIELDS},
        "custom": c.custom, "lists": sorted(cl.name for cl in c.lists.all()),
        "created_at": _iso(c.created_at), "updated_at": _iso(c.updated_at),
    } for c in data.contacts]
    return {
        "number": data.number,
        "account": {"id": str(account.pk), "name": account.name},
        "generated_at": timezone.now().isoformat(),
        "contacts": contacts,
        "other_phone_of_contacts": [str(c.pk) for c in data.phone_of],
        "red_list": [{
            "number": e.number or None, "erased": e.erased, "source": e.source,
            "responsible": e.responsible, "note": e.note, "created_at": _iso(e.created_at),
        } for e in data.opt_outs],
        "messages": [{
            "id": str(m.pk), "created_at": _iso(m.created_at), "kind": m.kind,
            "sender": m.sender, "text": m.text, "status": m.status, "country": m.country,
            "operator": m.operator, "segments": m.segments, "sent_at": _iso(m.sent_at),
            "reference": m.send.reference,
            "history": [{"status": e.status, "at": _iso(e.at), "error_code": e.error_code}
                        for e in m.history()],
        } for m in data.messages],
        "replies": [{
            "id": str(r.pk), "received_at": _iso(r.received_at), "to": r.to, "text": r.text,
            "is_stop": r.is_stop,
        } for r in data.replies],
        "import_errors": [{
            "import_id": str(e.contact_import_id), "file": e.contact_import.file_name,
            "row": e.row, "message": e.message,
        } for e in data.import_errors],
    }


def import_errors_response(imp: ContactImport) -> StreamingHttpResponse:
    """The rows of an import that were not imported: line, error, then the row's own
    columns, so the file can be corrected and imported again."""
    rows = ([error.row, error.message, *json.loads(error.values or "[]")]
            for error in imp.errors.all().iterator(chunk_size=2000))
    return csv_response("import-errors.csv", ["line", "error", *column_labels(imp)], rows)
