"""The invoice PDF (fpdf2): French text and the euro sign, long invoices over several pages
with the table heading repeated, the fallback to core Helvetica without the font package."""

import logging
import re
import zlib
from datetime import UTC, date, datetime

import pytest

from chappe.billing import documents
from chappe.billing.documents import invoice_pdf
from chappe.billing.models import BillingSettings, Invoice, InvoiceKind
from chappe.billing.services.invoices import LineDraft, invoice_issue

LINES = 65


def page_count(pdf: bytes) -> int:
    """Page objects in the file (fpdf2 writes them uncompressed; pypdf is not installed)."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))


def content_streams(pdf: bytes) -> bytes:
    """Every Flate stream of the file, inflated (page contents, among others)."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(out)


@pytest.fixture
def long_invoice(make_account, price_list) -> Invoice:
    billing = BillingSettings.load()
    billing.seller_name = "Télécoms Chappe SAS"
    billing.seller_address = "12 rue de l'Église\n75011 Paris\nFrance"
    billing.seller_vat_number = "FR40123456789"
    billing.seller_siret = "12345678900012"
    billing.save()
    account = make_account("Société Générale d'Électricité", address_line1="3 place Saint-Pierre",
                           postal_code="25000", city="Besançon", vat_number="FR99887766554")
    lines = [LineDraft(f"SMS France — campagne « Noël » n° {i}, à 0,045 € l'unité",
                       str(10 * i), 45_000, 450_000 * i, "sms") for i in range(1, LINES)]
    lines.append(LineDraft("Minutes vocales FR→US mobile", "600 s", 30_000, 300_000,
                           "voice_minute"))
    return invoice_issue(account=account, kind=InvoiceKind.MONTHLY, service_kind="messaging",
                         currency="EUR", lines=lines,
                         issued_at=datetime(2025, 12, 1, 8, tzinfo=UTC),
                         due_at=datetime(2025, 12, 31, 8, tzinfo=UTC),
                         period=(date(2025, 11, 1), date(2025, 11, 30)))


def test_a_long_french_invoice_spans_pages_in_the_unicode_font(long_invoice, caplog):
    caplog.set_level(logging.WARNING)
    pdf = invoice_pdf(long_invoice)
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert long_invoice.lines.count() == LINES
    assert page_count(pdf) >= 2
    assert b"+OpenSans" in pdf  # embedded, subset
    assert b"+OpenSansBold" in pdf
    assert f"(Invoice {long_invoice.number})".encode() in pdf  # the /Title
    assert not [r for r in caplog.records if "missing" in r.getMessage()]  # "→" was replaced
    assert invoice_pdf(long_invoice) == pdf  # same invoice, same bytes


def test_without_the_font_package_it_falls_back_to_core_helvetica(long_invoice, monkeypatch,
                                                                  caplog):
    monkeypatch.setattr(documents, "_font_files", lambda: None)
    pdf = invoice_pdf(long_invoice)
    assert b"/Helvetica" in pdf
    assert b"OpenSans" not in pdf
    text = content_streams(pdf)
    assert "Télécoms Chappe SAS".encode("cp1252") in text
    assert "« Noël »".encode("cp1252") in text
    assert "€".encode("cp1252") in text
    assert b"FR->US" in text
    pages = page_count(pdf)
    assert pages >= 2
    assert text.count(b"(Description)") == pages  # the table heading, repeated
    assert text.count(f"(INVOICE {long_invoice.number})".encode()) == pages
    assert "core Helvetica" in caplog.text


def test_characters_a_font_lacks_lose_their_accent_or_become_a_question_mark():
    def latin1(char: str) -> bool:
        return ord(char) < 256

    assert documents._printable("Ștefan, Łódź FR→US é €", latin1) == "Stefan, ?ódz FR->US é ?"
    assert documents._printable("Noël", latin1) == "Noël"
