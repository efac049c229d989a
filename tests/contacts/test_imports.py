"""Imports (M-4): upload, mapping, preview, background run with progress, per-row errors,
duplicates merged or skipped, encodings and separators, XLSX, resume and cancel."""

import codecs
import csv
import io

import pytest

from chappe.accounts.actor import SYSTEM
from chappe.audit.models import AuditEntry
from chappe.common.errors import Conflict, ValidationFailed
from chappe.contacts.export import import_errors_response
from chappe.contacts.models import (
    Contact,
    ContactImport,
    ContactImportError,
    ContactImportFile,
    ListMembership,
)
from chappe.contacts.services import (
    contact_create,
    contact_import_cancel,
    contact_import_configure,
    contact_import_create,
    contact_import_preview,
    contact_import_run,
    contact_import_start,
    contact_imports_purge,
    contact_list_create,
    custom_field_create,
)
from chappe.contacts.services import imports as imports_module
from chappe.queue.models import Job
from tests.contacts.conftest import csv_bytes, xlsx_bytes

HEADER = ["Prénom", "Nom", "Mobile", "E-mail"]


def contacts(account) -> dict[str, Contact]:
    return {c.mobile: c for c in Contact.objects.filter(account=account)}


def test_upload_guesses_and_nothing_is_imported_before_start(actor):
    data = csv_bytes([HEADER, ["Zoé", "Lefèvre", "06 12 34 56 78", "zoe@example.com"]],
                     delimiter=";")
    imp = contact_import_create(actor=actor, account=actor.account, file_name="c.csv", data=data)
    assert (imp.status, imp.file_format, imp.encoding, imp.delimiter) == (
        "uploaded", "csv", "utf-8", ";")
    assert imp.has_header
    assert imp.headers == HEADER
    assert imp.mapping == ["first_name", "last_name", "mobile", "email"]
    assert not Contact.objects.exists()
    assert not Job.objects.filter(name="contacts.import_run").exists()
    [row] = contact_import_preview(contact_import=imp)
    assert (row.line, row.mobile, row.errors, row.duplicate) == (2, "+33612345678", {}, "")
    assert AuditEntry.objects.filter(action="contact_import.create").exists()


def test_utf8_with_bom_semicolons_and_crlf(actor, run_import):
    data = codecs.BOM_UTF8 + csv_bytes([HEADER, ["Zoé", "Lefèvre", "0612345678", ""]],
                                       delimiter=";")
    imp = run_import(data)
    assert imp.encoding == "utf-8-sig"
    contact = contacts(actor.account)["+33612345678"]
    assert (contact.first_name, contact.last_name) == ("Zoé", "Lefèvre")


def test_latin1_windows_1252_file_is_read_with_its_accents(actor, run_import):
    data = csv_bytes([HEADER, ["Zoé", "Œuvré", "0612345678", ""],
                      ["Jérôme", "Çà", "0698765432", ""]], delimiter=";", encoding="cp1252")
    imp = run_import(data)
    assert imp.encoding == "cp1252"
    names = {c.first_name + " " + c.last_name for c in Contact.objects.all()}
    assert names == {"Zoé Œuvré", "Jérôme Çà"}


def test_tab_separated(actor, run_import):
    imp = run_import(csv_bytes([HEADER, ["A", "B", "+32470123456", ""]], delimiter="\t"))
    assert imp.delimiter == "\t"
    assert "+32470123456" in contacts(actor.account)


def test_bad_numbers_and_fields_are_reported_per_row(actor, run_import):
    custom_field_create(actor=actor, account=actor.account, key="points", label="Points",
                        type="number")
    rows = [[*HEADER, "Points"],
            ["Ok", "One", "0612345678", "ok@example.com", "12"],
            ["Bad", "Number", "12345", "", ""],
            ["Bad", "Mail", "0612345679", "nope", "x"],
            ["No", "Number", "", "", ""]]
    imp = run_import(csv_bytes(rows))
    assert (imp.status, imp.total_rows, imp.rows_done) == ("done", 4, 4)
    assert (imp.created_count, imp.error_count) == (1, 3)
    errors = list(ContactImportError.objects.order_by("row"))
    assert [(e.row, e.code) for e in errors] == [(3, "invalid_number"), (4, "invalid_email"),
                                                 (5, "required")]
    assert "Points" in errors[1].message
    assert "E-mail" in errors[1].message
    assert errors[1].number == "+33612345679"
    assert contacts(actor.account)["+33612345678"].custom == {"points": 12}

    response = import_errors_response(imp)
    body = b"".join(response.streaming_content).decode()
    report = list(csv.reader(io.StringIO(body)))
    assert report[0] == ["line", "error", *HEADER, "Points"]
    assert report[1][:2] == ["3", errors[0].message]
    assert report[1][2:] == ["Bad", "Number", "12345", "", ""]


def test_empty_rows_are_ignored(actor, run_import):
    data = csv_bytes([HEADER, ["", "", "", ""], ["A", "B", "0612345678", ""], [], [";;;"],
                      ["  ", "", " ", ""], ["C", "D", "0612345679", ""], []])
    imp = run_import(data)
    assert (imp.total_rows, imp.created_count, imp.error_count) == (3, 2, 1)
    # The only row in error is the one holding text (";;;" in one cell), not the blank ones.
    assert ContactImportError.objects.get().row == 5


def test_duplicates_merge(actor, run_import):
    contact_create(actor=actor, account=actor.account, mobile="+33612345678",
                   values={"first_name": "Old", "company": "Kept Inc"})
    rows = [["mobile", "first_name", "last_name", "email"],
            ["06 12 34 56 78", "New", "", ""],  # in the book: merged, empty cells keep values
            ["+33698765432", "Léa", "", ""],
            ["0698765432", "", "Martin", "lea@example.com"]]  # same number again in the file
    imp = run_import(csv_bytes(rows), duplicates="merge")
    assert (imp.created_count, imp.updated_count, imp.skipped_count) == (1, 2, 0)
    book = contacts(actor.account)
    assert len(book) == 2
    assert (book["+33612345678"].first_name, book["+33612345678"].company) == ("New", "Kept Inc")
    lea = book["+33698765432"]
    assert (lea.first_name, lea.last_name, lea.email) == ("Léa", "Martin", "lea@example.com")


def test_duplicates_skip(actor, run_import):
    contact_create(actor=actor, account=actor.account, mobile="+33612345678",
                   values={"first_name": "Old"})
    rows = [["mobile", "first_name"], ["0612345678", "New"], ["0698765432", "First"],
            ["+33698765432", "Second"]]
    imp = run_import(csv_bytes(rows), duplicates="skip")
    assert (imp.created_count, imp.updated_count, imp.skipped_count) == (1, 0, 2)
    book = contacts(actor.account)
    assert book["+33612345678"].first_name == "Old"
    assert book["+33698765432"].first_name == "First"


def test_duplicates_across_chunks(actor, run_import, monkeypatch):
    monkeypatch.setattr(imports_module, "CHUNK", 2)
    rows = [["mobile", "first_name", "city"], ["0612345678", "A", ""], ["0612345679", "B", ""],
            ["0612345678", "", "Paris"], ["0612345679", "B2", ""], ["0612345670", "C", ""]]
    imp = run_import(csv_bytes(rows))
    assert (imp.created_count, imp.updated_count, imp.rows_done) == (3, 2, 5)
    book = contacts(actor.account)
    assert (book["+33612345678"].first_name, book["+33612345678"].city) == ("A", "Paris")
    assert book["+33612345679"].first_name == "B2"


def test_xlsx_with_numbers_dates_and_a_list(actor, run_import):
    from datetime import datetime

    custom_field_create(actor=actor, account=actor.account, key="birthday", label="Birthday",
                        type="date")
    target = contact_list_create(actor=actor, account=actor.account, name="Salon 2026")
    data = xlsx_bytes([["Mobile", "First name", "birthday"],
                       [612345678, "Zoé", datetime(1990, 5, 17)],
                       [33698765432, "Léa", "17/05/1991"],
                       ["=HYPERLINK(\"x\")", "Evil", None]])
    imp = run_import(data, file_name="contacts.xlsx", target_list=target)
    assert (imp.file_format, imp.created_count, imp.error_count) == ("xlsx", 2, 1)
    book = contacts(actor.account)
    assert book["+33612345678"].custom == {"birthday": "1990-05-17"}
    assert book["+33698765432"].custom == {"birthday": "1991-05-17"}
    assert ListMembership.objects.filter(contact_list=target).count() == 2


def test_mapping_can_be_corrected_and_is_checked(actor, run_import):
    data = csv_bytes([["a", "b"], ["Zoé", "0612345678"]])
    imp = contact_import_create(actor=actor, account=actor.account, file_name="c.csv", data=data)
    assert imp.mapping == ["", "mobile"]  # found by its values
    for bad in (["", ""], ["mobile", "mobile"], ["nope", "mobile"], ["first_name"]):
        with pytest.raises(ValidationFailed) as caught:
            contact_import_configure(actor=actor, contact_import=imp, mapping=bad,
                                     has_header=True, duplicates="merge", target_list=None)
        assert "mapping" in caught.value.details
    contact_import_configure(actor=actor, contact_import=imp, mapping=["first_name", "mobile"],
                             has_header=True, duplicates="merge", target_list=None)
    imp.refresh_from_db()
    assert contact_import_preview(contact_import=imp)[0].values == {
        "first_name": "Zoé", "mobile": "0612345678"}


def test_a_file_without_header(actor, run_import):
    imp = run_import(csv_bytes([["Zoé", "0612345678"], ["Léa", "0698765432"]]),
                     mapping=["first_name", "mobile"])
    assert not imp.has_header
    assert imp.created_count == 2


def test_preview_flags_duplicates(actor):
    contact_create(actor=actor, account=actor.account, mobile="+33612345678")
    data = csv_bytes([["mobile"], ["0612345678"], ["0698765432"], ["+33698765432"], ["nope"]])
    imp = contact_import_create(actor=actor, account=actor.account, file_name="c.csv", data=data)
    preview = contact_import_preview(contact_import=imp)
    assert [r.duplicate for r in preview] == ["book", "", "file", ""]
    assert list(preview[3].errors) == ["mobile"]


@pytest.mark.parametrize(("data", "name"), [(b"", "a.csv"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
                                                             "a.xls"), (b"\n\n", "a.csv")])
def test_unreadable_uploads_are_refused(actor, data, name):
    with pytest.raises(ValidationFailed) as caught:
        contact_import_create(actor=actor, account=actor.account, file_name=name, data=data)
    assert "file" in caught.value.details
    assert not ContactImport.objects.exists()


def test_start_once_and_cancel(actor):
    data = csv_bytes([["mobile"], ["0612345678"]])
    imp = contact_import_create(actor=actor, account=actor.account, file_name="c.csv", data=data)
    contact_import_start(actor=actor, contact_import=imp)
    assert Job.objects.filter(name="contacts.import_run").count() == 1
    with pytest.raises(Conflict):
        contact_import_start(actor=actor, contact_import=imp)
    contact_import_cancel(actor=actor, contact_import=imp)
    contact_import_run(import_id=imp.pk)  # the worker comes too late: nothing happens
    imp.refresh_from_db()
    assert imp.status == "canceled"
    assert not Contact.objects.exists()
    assert not ContactImportFile.objects.exists()
    with pytest.raises(Conflict):
        contact_import_cancel(actor=actor, contact_import=imp)


def test_a_run_resumes_after_the_last_committed_chunk(actor, monkeypatch):
    monkeypatch.setattr(imports_module, "CHUNK", 2)
    rows = [["mobile", "first_name"], *[[f"06123456{i:02d}", f"n{i}"] for i in range(7)]]
    imp = contact_import_create(actor=actor, account=actor.account, file_name="c.csv",
                                data=csv_bytes(rows))
    contact_import_start(actor=actor, contact_import=imp)
    calls = {"n": 0}
    real = imports_module._apply_chunk

    def crash_on_third_chunk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the worker is killed: not an ordinary failure
        return real(*args, **kwargs)

    monkeypatch.setattr(imports_module, "_apply_chunk", crash_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        contact_import_run(import_id=imp.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.rows_done, Contact.objects.count()) == ("running", 4, 4)
    monkeypatch.setattr(imports_module, "_apply_chunk", real)
    contact_import_run(import_id=imp.pk)  # the job claimed again after its lease
    imp.refresh_from_db()
    assert (imp.status, imp.rows_done, imp.created_count, Contact.objects.count()) == (
        "done", 7, 7, 7)


def test_an_unexpected_error_fails_the_import_and_keeps_what_was_imported(actor, monkeypatch):
    monkeypatch.setattr(imports_module, "CHUNK", 1)
    imp = contact_import_create(actor=actor, account=actor.account, file_name="c.csv",
                                data=csv_bytes([["mobile"], ["0612345678"], ["0612345679"]]))
    contact_import_start(actor=actor, contact_import=imp)
    real = imports_module._apply_chunk
    state = {"n": 0}

    def boom(*args, **kwargs):
        state["n"] += 1
        if state["n"] == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(imports_module, "_apply_chunk", boom)
    contact_import_run(import_id=imp.pk)
    imp.refresh_from_db()
    assert imp.status == "failed"
    assert imp.failure
    assert Contact.objects.count() == 1
    assert not ContactImportFile.objects.exists()


def test_imports_of_another_account_do_not_see_this_book(actor, run_import, other_account):
    contact_create(actor=SYSTEM.on(other_account), account=other_account, mobile="+33612345678",
                   values={"first_name": "Other"})
    imp = run_import(csv_bytes([["mobile", "first_name"], ["0612345678", "Mine"]]),
                     duplicates="skip")
    assert (imp.created_count, imp.skipped_count) == (1, 0)
    assert Contact.objects.get(account=other_account).first_name == "Other"


def test_purge_drops_old_uploads_and_error_reports(actor, run_import):
    from datetime import timedelta

    from django.utils import timezone

    done = run_import(csv_bytes([["mobile"], ["nope"]]))
    waiting = contact_import_create(actor=actor, account=actor.account, file_name="c.csv",
                                    data=csv_bytes([["mobile"], ["0612345678"]]))
    assert ContactImportError.objects.filter(contact_import=done).count() == 1
    later = timezone.now() + timedelta(days=31)
    assert contact_imports_purge(now=later) == {"expired": 1, "files": 1, "error_rows": 1}
    waiting.refresh_from_db()
    assert waiting.status == "canceled"
    assert not ContactImportFile.objects.exists()


def test_the_header_is_the_first_non_blank_row(actor, run_import):
    imp = run_import(csv_bytes([[], ["", ""], ["Nom", "Mobile"], ["Zoé", "0612345678"]]))
    assert imp.headers == ["Nom", "Mobile"]
    assert (imp.created_count, imp.error_count) == (1, 0)
    assert imp.sample == []  # the first rows kept for the preview go with the file


def test_xlsx_row_count():
    from chappe.contacts.tabular import xlsx_row_count

    assert xlsx_row_count(xlsx_bytes([["mobile"], [612345678], [612345679]])) == 3
    assert xlsx_row_count(b"PK\x03\x04 not a workbook") == 0
