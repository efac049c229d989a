"""The one CSV writer: formula-safe text cells, numbers left alone, streamed lines; and the
API exports that use it."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from django.http import HttpResponse, StreamingHttpResponse

from chappe.accounts.actor import SYSTEM
from chappe.common.csv_export import csv_cell, csv_response, csv_rows, csv_text
from chappe.messaging.models import Message
from chappe.messaging.services.accept import sms_send

HYPERLINK = '=HYPERLINK("http://evil.example","x")'


@pytest.mark.parametrize("text", [
    "=1+1", HYPERLINK, "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", "-", "+",
    "-1,5",
])
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("text", [
    "Hello", "ref-42", "a=b", " =1", "", "Société « Noël » €", "12", "1E5",
])
def test_ordinary_text_is_left_alone(text):
    assert csv_cell(text) == text


@pytest.mark.parametrize(("value", "written"), [
    (Decimal("-0.045"), "-0.045"),
    (Decimal("-0.090000"), "-0.090000"),
    (Decimal("1E-6"), "0.000001"),  # fixed point, never scientific
    (Decimal("1E+3"), "1000"),
    (-5, -5),
    (0.5, 0.5),
    ("-0.045", "-0.045"),  # a number written as text is still just a number
    ("+33600000001", "+33600000001"),  # an E.164 number stays one
    (None, ""),
    (True, "true"),
    (datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), "2025-01-02T03:04:05+00:00"),
    (date(2025, 1, 2), "2025-01-02"),
    (UUID(int=1), "00000000-0000-0000-0000-000000000001"),
])
def test_numbers_dates_and_empty_cells(value, written):
    assert csv_cell(value) == written


def test_any_other_object_is_escaped_as_its_text():
    class Lazy:
        def __str__(self) -> str:
            return "=1+1"

    assert csv_cell(Lazy()) == "'=1+1"


def test_rows_are_streamed_one_line_at_a_time_with_csv_quoting():
    lines = csv_rows(["a", "b"], iter([["x, y", Decimal("-1.50")], ['say "hi"', "=2"]]))
    assert next(lines) == "a,b\r\n"
    assert next(lines) == '"x, y",-1.50\r\n'
    assert next(lines) == '"say ""hi""",\'=2\r\n'
    assert list(lines) == []


def test_round_trip_through_a_csv_reader():
    text = csv_text(["name", "amount"], [["=evil", Decimal("-0.045")], ["line\nbreak", 3]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "amount"], ["'=evil", "-0.045"], ["line\nbreak", "3"]]


def test_responses_stream_or_not_with_a_safe_filename():
    streamed = csv_response("ledger.csv", ["a"], [[1]])
    assert isinstance(streamed, StreamingHttpResponse)
    assert streamed["Content-Type"] == "text/csv; charset=utf-8"
    assert streamed["Content-Disposition"] == 'attachment; filename="ledger.csv"'
    assert b"".join(streamed.streaming_content) == b"a\r\n1\r\n"

    whole = csv_response('facture "été".csv', ["a"], [["=1"]], stream=False)
    assert isinstance(whole, HttpResponse)
    assert not whole.streaming
    assert whole.content == b"a\r\n'=1\r\n"
    assert whole["Content-Disposition"].startswith("attachment; filename*=utf-8''")


# --- the API exports -----------------------------------------------------------------------


def test_api_sms_export_escapes_the_reference_and_the_sender(api, funded_account):
    outcome = sms_send(actor=SYSTEM.on(funded_account), account=funded_account,
                       recipients=["+33600000001"], text="Hello", sender="Chappe",
                       reference=HYPERLINK)
    message = outcome.recipients[0].message
    Message.objects.filter(pk=message.pk).update(sender='=HYPERLINK("x")')
    export = api.get("/api/v1/sms/export")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    [row] = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    assert row["reference"] == "'" + HYPERLINK
    assert row["sender"] == "'=HYPERLINK(\"x\")"
    assert row["recipient"] == "+33600000001"
    assert Decimal(row["price"]) == Decimal("0.045")


def test_api_ledger_and_invoice_csv_keep_negative_amounts_as_numbers(api, funded_account):
    sms_send(actor=SYSTEM.on(funded_account), account=funded_account,
             recipients=["+33600000001"], text="Hello", sender="Chappe")
    ledger = api.get("/api/v1/billing/ledger.csv", {"reason": "usage"})
    [usage] = csv.DictReader(io.StringIO(ledger.content.decode()))
    assert usage["amount"] == "-0.045000"
    invoice = funded_account.invoices.get()
    rows = list(csv.DictReader(io.StringIO(
        api.get(f"/api/v1/billing/invoices/{invoice.pk}/csv").content.decode())))
    assert [r["product"] for r in rows][-3:] == ["subtotal", "vat", "total"]
    assert rows[-1]["amount"] == "120.00"


@pytest.mark.parametrize(("text", "written"), [
    ("ok;=HYPERLINK(\"http://x\")", "ok;'=HYPERLINK(\"http://x\")"),
    ("a;@SUM(1);+cmd", "a;'@SUM(1);'+cmd"),
    ("=1;=2", "'=1;'=2"),
    ("price;-0.045;+33600000001", "price;-0.045;+33600000001"),  # numbers stay numbers
    ("a; =1", "a; =1"),  # a space first: a French spreadsheet reads text
])
def test_pieces_after_a_semicolon_are_neutralised_too(text, written):
    assert csv_cell(text) == written
