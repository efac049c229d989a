"""Invoice documents: PDF (for people), CSV and JSON (for machines), and the ledger CSV.

The PDF is laid out by fpdf2: A4, seller and invoice blocks on every page, a table of
lines whose heading repeats after each page break, totals, the legal mentions.

Font: Open Sans, from the `ttf-opensans` wheel (a declared dependency; Apache 2.0; only the
glyphs used are embedded). fpdf2's core Helvetica only knows Windows-1252, which covers
French and "€" but not the names and addresses of clients elsewhere in the EU ("Łódź",
"Dvořák", "Ștefan"), and an invoice must print those right. A font that ships inside a
PyPI package installs with `pip` everywhere; the DejaVu files of Debian's fonts-dejavu-core
would be a hand-installed system dependency, and the PyPI packages that carry DejaVu are
large libraries (matplotlib). ttf-opensans is a small data-only wheel with one release
(2020): a font file does not need updates. If the font cannot be loaded anyway, the PDF
still comes out, in core Helvetica with Windows-1252 text (all of French and "€"; other
letters lose their accent or become "?"), and a warning is logged.

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


# --- PDF ---------------------------------------------------------------------------------

FONT_PACKAGE = "ttf_opensans"
FONT_FILES = {"": "OpenSans-Regular.ttf", "B": "OpenSans-Bold.ttf"}
FAMILY = "opensans"
CORE_FAMILY, CORE_ENCODING = "helvetica", "windows-1252"
# Characters clients and our own labels use that neither font has ("FR→US" voice lines).
_SUBSTITUTES = str.maketrans({"\u2192": "->"})

MARGIN = 14  # mm on A4 (210 x 297)
RIGHT_COLUMN = 120  # x of the invoice and bill-to blocks
LINE = 4.2  # height of a 9 pt line
COL_WIDTHS = (100, 18, 28, 36)  # description, quantity, unit price, amount: 182 mm


def _font_files() -> dict[str, Path] | None:
    """Open Sans regular and bold from the ttf-opensans wheel; None if not installed."""
    try:
        folder = resources.files(FONT_PACKAGE) / "ttf"
    except ModuleNotFoundError:
        return None
    files = {style: Path(str(folder / name)) for style, name in FONT_FILES.items()}
    return files if all(path.is_file() for path in files.values()) else None


def _printable(text: str, has: Callable[[str], bool]) -> str:
    """`text` with every character the font lacks replaced: by its base letter when it has
    one (NFKD: "ș" → "s"), else by "?"."""
    text = text.translate(_SUBSTITUTES)
    if all(has(char) for char in text):
        return text
    out = []
    for char in text:
        if has(char):
            out.append(char)
            continue
        base = "".join(part for part in unicodedata.normalize("NFKD", char)
                       if not unicodedata.combining(part) and has(part))
        out.append(base or "?")
    return "".join(out)


class _InvoicePdf(FPDF):
    """One invoice: seller and invoice blocks at the top of every page, the legal mention
    at the bottom of every page."""

    def __init__(self, invoice: Invoice) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.invoice = invoice
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=20)
        files = _font_files()
        if files:
            for style, path in files.items():
                self.add_font(FAMILY, style, path)
            self.family = FAMILY
            cmap = self.fonts[FAMILY].cmap
            self.has: Callable[[str], bool] = lambda char: ord(char) in cmap
        else:
            logger.warning("Font package %s not found: invoice %s drawn in core Helvetica "
                           "(Windows-1252 text only).", FONT_PACKAGE, invoice.number)
            self.family = CORE_FAMILY
            self.core_fonts_encoding = CORE_ENCODING
            self.has = _in_windows_1252

    def clean(self, text: object) -> str:
        return _printable(str(text), self.has)

    def style(self, size: float = 9, *, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def line_at(self, x: float, text: object, *, size: float = 9, bold: bool = False,
                width: float = 0) -> None:
        """One line of text at `x` on the current line, then down one line."""
        self.style(size, bold=bold)
        self.set_x(x)
        self.cell(width or self.w - MARGIN - x, size * 0.47, self.clean(text),
                  new_x="LMARGIN", new_y="NEXT")

    def header(self) -> None:
        invoice, seller = self.invoice, self.invoice.seller
        self.set_y(MARGIN)
        self.line_at(MARGIN, seller.get("name", ""), size=12, bold=True,
                     width=RIGHT_COLUMN - MARGIN - 4)
        for part in (seller.get("address") or "").splitlines()[:4]:
            self.line_at(MARGIN, part, width=RIGHT_COLUMN - MARGIN - 4)
        if seller.get("vat_number"):
            self.line_at(MARGIN, f"VAT {seller['vat_number']}")
        if seller.get("siret"):
            self.line_at(MARGIN, f"SIRET {seller['siret']}")
        left_end = self.get_y()

        self.set_y(MARGIN)
        self.line_at(RIGHT_COLUMN, f"INVOICE {invoice.number}", size=12, bold=True)
        self.line_at(RIGHT_COLUMN,
                     f"Issued {invoice.issued_at:%Y-%m-%d}   Due {invoice.due_at:%Y-%m-%d}")
        if invoice.period_start:
            self.line_at(RIGHT_COLUMN,
                         f"Period {invoice.period_start} to {invoice.period_end}")
        self.line_at(RIGHT_COLUMN,
                     f"Page {self.page_no()}/{{nb}}   Status {invoice.status}")
        self.set_y(max(left_end, self.get_y()) + 6)

    def footer(self) -> None:
        self.set_y(-14)
        self.line_at(MARGIN, "Late payment: penalties per our terms + 40 EUR flat recovery "
                     "fee.", size=8)

    def bill_to(self) -> None:
        buyer = self.invoice.bill_to
        vat, siret = buyer.get("vat_number"), buyer.get("siret")
        self.line_at(RIGHT_COLUMN, "Bill to", bold=True)
        for part in (buyer.get("name"), buyer.get("address_line1"), buyer.get("address_line2"),
                     f"{buyer.get('postal_code', '')} {buyer.get('city', '')}".strip(),
                     buyer.get("country"), vat and f"VAT {vat}", siret and f"SIRET {siret}"):
            if part:
                self.line_at(RIGHT_COLUMN, part)
        self.ln(8)

    def lines_table(self) -> None:
        invoice = self.invoice
        self.style()
        with self.table(
            col_widths=COL_WIDTHS, text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
            borders_layout="SINGLE_TOP_LINE", line_height=LINE + 0.8,
            headings_style=FontFace(emphasis="BOLD", fill_color=(232, 232, 232)),
            cell_fill_color=(246, 246, 246), cell_fill_mode="ROWS", repeat_headings=1,
        ) as table:
            table.row([self.clean(text) for text in (
                "Description", "Qty", "Unit price", f"Amount ({invoice.currency})")])
            for line in invoice.lines.all():
                table.row([self.clean(line.description), self.clean(line.quantity),
                           _unit(line.unit_price_micros), _cents(line.amount_micros)])

    def totals(self) -> None:
        invoice = self.invoice
        reverse_charge = (invoice.vat_micros == 0 and invoice.kind != "penalty"
                          and invoice.bill_to.get("vat_number"))
        if self.will_page_break(3 * (LINE + 1) + 12 + (8 if reverse_charge else 0)):
            self.add_page()
        self.ln(2)
        label_x, label_w = 130, 30
        value_w = self.w - MARGIN - label_x - label_w
        self.line(label_x, self.get_y(), self.w - MARGIN, self.get_y())
        self.ln(2)
        for label, micros, bold in (
            ("Subtotal", invoice.subtotal_micros, False),
            (f"VAT {Decimal(invoice.vat_rate) * 100:.2f} %", invoice.vat_micros, False),
            (f"Total ({invoice.currency})", invoice.total_micros, True),
        ):
            self.style(10 if bold else 9, bold=bold)
            self.set_x(label_x)
            self.cell(label_w, LINE + 1, self.clean(label))
            self.cell(value_w, LINE + 1, _cents(micros), align="R",
                      new_x="LMARGIN", new_y="NEXT")
        if reverse_charge:
            self.ln(6)
            self.line_at(MARGIN, "VAT reverse charge (art. 196 Directive 2006/112/EC).")


def _in_windows_1252(char: str) -> bool:
    try:
        char.encode(CORE_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as an A4 PDF (one or more pages; byte-identical for the same invoice)."""
    pdf = _InvoicePdf(invoice)
    total = _cents(invoice.total_micros)
    # Plain-ASCII metadata: what a document manager lists, and grep-able in the raw file.
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_subject(f"Invoice {invoice.number}, total {total} {invoice.currency}, "
                    f"due {invoice.due_at:%Y-%m-%d}")
    pdf.set_author(pdf.clean(invoice.seller.get("name", "")))
    pdf.set_creator("Chappe")
    pdf.set_creation_date(invoice.issued_at)
    pdf.set_lang("en")  # /Lang for screen readers (makes it PDF 1.4)
    pdf.add_page()
    pdf.bill_to()
    pdf.lines_table()
    pdf.totals()
    return bytes(pdf.output())
