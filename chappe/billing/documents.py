"""Invoice documents: PDF (for people), CSV and JSON (for machines), and the ledger CSV.

The PDF is laid out by fpdf2 (A4, a table whose heading repeats on every page, page
breaks handled by the library). Its text is Open Sans, from the `ttf-opensans` wheel (a
declared dependency, Apache 2.0, embedded as a subset): invoices carry client names and
addresses from all over the EU ("Łódź", "Dvořák", "Ștefan"), not only French accents and
the euro sign, and fpdf2's core Helvetica only knows Windows-1252. A font from PyPI needs
no system package (the Debian DejaVu files are not there in a slim container). If the font
cannot be loaded the PDF still comes out, in core Helvetica with Windows-1252 text (all of
French and €; other letters lose their accent or become "?"), and a warning is logged.

The CSV files are written by chappe.common.csv_export (formula-safe text cells, amounts as
numbers).
"""

import logging
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from fpdf import FPDF, FontFace

from chappe.billing.models import Invoice, LedgerEntry
from chappe.billing.money import from_micros
from chappe.common.csv_export import csv_text

logger = logging.getLogger(__name__)

INVOICE_CSV_HEADER = ["invoice", "issued_at", "due_at", "currency", "position", "product",
                      "description", "quantity", "unit_price", "amount"]
LEDGER_CSV_HEADER = ["id", "occurred_at", "book", "currency", "amount", "reason", "cause_type",
                     "cause_id", "memo"]


def _cents_value(micros: int) -> Decimal:
    return from_micros(micros).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _cents(micros: int) -> str:
    return f"{_cents_value(micros):f}"


def _unit_value(micros: int) -> Decimal:
    """Unit prices keep their sub-cent precision, trailing zeros trimmed to 2 places."""
    value = from_micros(micros).normalize()
    if -value.as_tuple().exponent < 2:  # type: ignore[operator]
        value = value.quantize(Decimal("0.01"))
    return value


def _unit(micros: int) -> str:
    return f"{_unit_value(micros):f}"


def invoice_json(invoice: Invoice) -> dict[str, Any]:
    return {
        "number": invoice.number,
        "kind": invoice.kind,
        "service": invoice.service_kind,
        "status": invoice.status,
        "currency": invoice.currency,
        "issued_at": invoice.issued_at.isoformat(),
        "due_at": invoice.due_at.isoformat(),
        "period_start": invoice.period_start.isoformat() if invoice.period_start else None,
        "period_end": invoice.period_end.isoformat() if invoice.period_end else None,
        "seller": invoice.seller,
        "bill_to": invoice.bill_to,
        "lines": [
            {"position": line.position, "product": line.product,
             "description": line.description, "quantity": line.quantity,
             "unit_price": _unit(line.unit_price_micros), "amount": _cents(line.amount_micros)}
            for line in invoice.lines.all()
        ],
        "subtotal": _cents(invoice.subtotal_micros),
        "vat_rate": str(invoice.vat_rate),
        "vat": _cents(invoice.vat_micros),
        "total": _cents(invoice.total_micros),
        "paid": _cents(invoice.paid_micros),
    }


def invoice_csv_rows(invoice: Invoice) -> Iterator[list[Any]]:
    """Rows of INVOICE_CSV_HEADER: the lines, then subtotal, VAT and total."""
    for line in invoice.lines.all():
        yield [invoice.number, invoice.issued_at, invoice.due_at, invoice.currency,
               line.position, line.product, line.description, line.quantity,
               _unit_value(line.unit_price_micros), _cents_value(line.amount_micros)]
    for label, micros in (("subtotal", invoice.subtotal_micros), ("vat", invoice.vat_micros),
                          ("total", invoice.total_micros)):
        yield [invoice.number, "", "", invoice.currency, "", label, "", "", "",
               _cents_value(micros)]


def invoice_csv(invoice: Invoice) -> str:
    return csv_text(INVOICE_CSV_HEADER, invoice_csv_rows(invoice))


def ledger_csv_rows(entries: Iterable[LedgerEntry]) -> Iterator[list[Any]]:
    """Rows of LEDGER_CSV_HEADER (amounts exact, 6 decimal places), read in chunks from a
    queryset."""
    for entry in entries.iterator() if hasattr(entries, "iterator") else entries:
        yield [entry.pk, entry.occurred_at, entry.book, entry.currency,
               from_micros(entry.amount_micros), entry.reason, entry.cause_type,
               entry.cause_id, entry.memo]


# --- a minimal PDF writer --------------------------------------------------------------


def _pdf_text(value: str) -> str:
    raw = value.encode("cp1252", errors="replace").decode("latin-1")
    return raw.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


class _Page:
    def __init__(self) -> None:
        self.ops: list[str] = []

    def text(self, x: float, y: float, value: str, *, size: int = 9, bold: bool = False,
             right: bool = False) -> None:
        if right:  # approximate right alignment for digits (Helvetica digits are 0.556 em)
            x -= len(value) * size * 0.556
        font = "F2" if bold else "F1"
        self.ops.append(f"BT /{font} {size} Tf {x:.1f} {y:.1f} Td ({_pdf_text(value)}) Tj ET")

    def rule(self, y: float) -> None:
        self.ops.append(f"0.5 w 40 {y:.1f} m 555 {y:.1f} l S")


def _pdf_bytes(pages: list[_Page]) -> bytes:
    objects: list[bytes] = []
    font = "<< /Type /Font /Subtype /Type1 /BaseFont /{} /Encoding /WinAnsiEncoding >>"
    first_page = 5
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(font.format("Helvetica").encode())
    objects.append(font.format("Helvetica-Bold").encode())
    for i, page in enumerate(pages):
        content = "\n".join(page.ops).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font "
            f"<< /F1 3 0 R /F2 4 0 R >> >> /Contents {first_page + 2 * i + 1} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def invoice_pdf(invoice: Invoice) -> bytes:
    lines = list(invoice.lines.all())
    chunks = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    pages = []
    seller, buyer = invoice.seller, invoice.bill_to
    for index, chunk in enumerate(chunks, start=1):
        page = _Page()
        page.text(40, 800, seller.get("name", ""), size=12, bold=True)
        y = 786
        for part in (seller.get("address") or "").splitlines()[:3]:
            page.text(40, y, part)
            y -= 11
        if seller.get("vat_number"):
            page.text(40, y, f"VAT {seller['vat_number']}")
        page.text(360, 800, f"INVOICE {invoice.number}", size=12, bold=True)
        page.text(360, 786, f"Issued {invoice.issued_at:%Y-%m-%d}   Due {invoice.due_at:%Y-%m-%d}")
        if invoice.period_start:
            page.text(360, 775, f"Period {invoice.period_start} to {invoice.period_end}")
        page.text(360, 764, f"Page {index}/{len(chunks)}   Status {invoice.status}")
        page.text(360, 740, "Bill to", bold=True)
        y = 728
        vat = buyer.get("vat_number")
        for part in (buyer.get("name"), buyer.get("address_line1"), buyer.get("address_line2"),
                     f"{buyer.get('postal_code', '')} {buyer.get('city', '')}".strip(),
                     buyer.get("country"), vat and f"VAT {vat}"):
            if part:
                page.text(360, y, str(part))
                y -= 11
        y = 640
        page.text(40, y, "Description", bold=True)
        page.text(380, y, "Qty", bold=True, right=True)
        page.text(470, y, "Unit price", bold=True, right=True)
        page.text(555, y, f"Amount ({invoice.currency})", bold=True, right=True)
        page.rule(y - 4)
        y -= 16
        for line in chunk:
            page.text(40, y, line.description[:62])
            page.text(380, y, line.quantity, right=True)
            page.text(470, y, _unit(line.unit_price_micros), right=True)
            page.text(555, y, _cents(line.amount_micros), right=True)
            y -= 14
        if index == len(chunks):
            page.rule(y + 4)
            y -= 10
            for label, micros, bold in (
                ("Subtotal", invoice.subtotal_micros, False),
                (f"VAT {Decimal(invoice.vat_rate) * 100:.2f} %", invoice.vat_micros, False),
                ("Total", invoice.total_micros, True),
            ):
                page.text(400, y, label, bold=bold)
                page.text(555, y, _cents(micros), bold=bold, right=True)
                y -= 14
            if invoice.vat_micros == 0 and invoice.kind != "penalty" and buyer.get("vat_number"):
                page.text(40, y - 10, "VAT reverse charge (art. 196 Directive 2006/112/EC).")
            page.text(40, 60, "Late payment: penalties per our terms + 40 EUR flat recovery fee.",
                      size=8)
        pages.append(page)
    return _pdf_bytes(pages)
