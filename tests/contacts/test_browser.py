"""The import in a real browser (Debian's Chromium through Playwright): upload, check the
mapping and preview, start, and watch the progress bar (htmx polling) reach the end while
a worker imports in the background.

Set CHAPPE_E2E_SCREENSHOTS=<dir> to keep screenshots of the pages."""

import threading
import time

import pytest

from chappe.contacts.services import imports as imports_module
from tests.browser import logged_in_page
from tests.contacts.conftest import csv_bytes
from tests.e2e.test_browser import PASSWORD, _screenshot, browser, orm  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_import_with_a_live_progress_bar(live_server, transactional_db, browser,  # noqa: F811
                                         make_account, make_user, monkeypatch, tmp_path):
    from playwright.sync_api import expect

    from chappe.contacts.models import Contact
    from chappe.queue.jobs import jobs_run_due

    account = orm(lambda: make_account("Acme Carnet"))
    admin = orm(lambda: make_user(account, email="ines@acme.example"))
    rows = [["Prénom", "Nom", "Téléphone portable", "Ville"]]
    rows += [[f"Zoé {i}", "Lefèvre", f"06{10_000_000 + i:08d}", "Orléans"] for i in range(3000)]
    rows.append(["Bad", "Number", "12", ""])
    upload = tmp_path / "carnet.csv"
    upload.write_bytes(csv_bytes(rows, delimiter=";", encoding="cp1252"))
    # Small chunks and a slow worker, so that the bar is seen moving.
    monkeypatch.setattr(imports_module, "CHUNK", 300)
    real = imports_module._apply_chunk

    def slow_chunk(*args, **kwargs):
        time.sleep(0.15)
        return real(*args, **kwargs)

    monkeypatch.setattr(imports_module, "_apply_chunk", slow_chunk)

    page = logged_in_page(browser, live_server.url, admin.email, PASSWORD)

    page.get_by_role("link", name="Contacts", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Contacts")
    page.get_by_role("link", name="Import", exact=True).first.click()
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and check").click()

    expect(page.locator("#mapping-form")).to_be_visible()
    expect(page.get_by_label("Téléphone portable")).to_have_value("mobile")
    expect(page.get_by_label("Prénom")).to_have_value("first_name")
    expect(page.locator("#import-preview tbody tr")).to_have_count(20)
    _screenshot(page, "contacts-import-mapping")

    page.get_by_role("button", name="Start the import").click()
    progress = page.locator("#import-progress")
    expect(progress).to_contain_text("Queued")

    stop = threading.Event()

    def worker():
        from django.db import connections

        try:
            while not stop.is_set():
                if not jobs_run_due(worker="browser-test"):
                    time.sleep(0.2)
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        expect(progress).to_contain_text("Importing")
        _screenshot(page, "contacts-import-progress")
        expect(progress).to_contain_text("Done", timeout=60_000)
    finally:
        stop.set()
        thread.join(10)
    expect(progress).to_contain_text("100 %")
    expect(progress.locator('[data-count="created"]')).to_have_text("3000")
    expect(progress.get_by_role("link", name="Download the rows in error (CSV)")).to_be_visible()
    assert progress.get_attribute("hx-trigger") is None  # polling stopped
    _screenshot(page, "contacts-import-done")
    assert orm(lambda: Contact.objects.filter(account=account).count()) == 3000

    page.get_by_role("link", name="See the contacts").click()
    expect(page.locator("#contact-list tbody tr")).to_have_count(50)
    _screenshot(page, "contacts-list")

    # One of them asks to be put on the red list, then to be erased.
    page.get_by_role("link", name="Red list").click()
    page.get_by_text("Add a number").click()
    page.locator("#id_number").fill("06 10 00 00 07")
    page.get_by_label("Note").fill("asked by phone")
    page.get_by_role("button", name="Add to the red list").click()
    expect(page.locator("#red-list")).to_contain_text("+33610000007")
    page.get_by_role("link", name="Recipient rights").click()
    page.get_by_label("Phone number").fill("06 10 00 00 07")
    page.get_by_role("button", name="Show the data").click()
    expect(page.locator("#recipient-data")).to_contain_text("Zoé 7")
    _screenshot(page, "contacts-recipient")
    page.get_by_label("I understand that this cannot be undone").check()
    page.get_by_role("button", name="Erase", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("The number was erased")
    assert orm(lambda: Contact.objects.filter(account=account).count()) == 2999
    page.get_by_role("link", name="Red list").click()
    expect(page.locator("#red-list tbody tr")).to_have_count(1)
    expect(page.locator("#red-list")).to_contain_text("erased number")
    _screenshot(page, "contacts-red-list")
    page.context.close()
