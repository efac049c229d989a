"""The web app in a real browser: Debian's Chromium, headless, driven by Playwright.

Set CHAPPE_E2E_SCREENSHOTS=<dir> to keep screenshots of the pages the scenario visits.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from tests.conftest import require_tools

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery-9"
APOS = "\u2019"  # French typographic apostrophe, as in the catalog

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def browser():
    require_tools("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def orm[T](work: Callable[[], T]) -> T:
    """Run database work outside Playwright's event loop, in a thread that closes its
    connection afterwards. (Inside the loop Django refuses sync ORM calls, and forcing
    them would open a context-local connection that outlives the test database.)"""

    def run() -> T:
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _screenshot(page, name: str) -> None:
    if folder := os.environ.get("CHAPPE_E2E_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_log_in_switch_to_french_create_and_revoke_an_api_key(
    live_server, transactional_db, browser, make_account, make_user
):
    from playwright.sync_api import expect

    from chappe.accounts.models import ApiKey
    from chappe.audit.models import AuditEntry

    account = orm(lambda: make_account("Acme Browser"))
    admin = orm(lambda: make_user(account, email="ada@acme.example"))

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)

    # Log in.
    page.goto(f"{live_server.url}/login/")
    expect(page.locator("h1")).to_have_text("Log in")
    page.get_by_label("E-mail address").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Acme Browser")

    # Switch to French with the layout's switcher (submits on change).
    with page.expect_navigation():
        page.select_option("#language-select", "fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("button", name="Déconnexion")).to_be_visible()
    expect(page.get_by_text("Services souscrits")).to_be_visible()

    # Create an API key.
    page.get_by_role("link", name=f"Clés d{APOS}API").click()
    expect(page.locator("h1")).to_have_text(f"Clés d{APOS}API")
    page.get_by_text(f"Nouvelle clé d{APOS}API").click()
    page.get_by_label("Nom").fill("Intégration CRM")
    page.get_by_label("Rôle").select_option("messaging_user")
    page.get_by_role("button", name="Créer la clé").click()

    expect(page.get_by_text(f"elle n{APOS}est affichée qu{APOS}une seule fois")).to_be_visible()
    secret = page.locator("#new-api-key").input_value()
    key = orm(lambda: ApiKey.objects.get(account=account))
    assert secret.startswith(key.prefix + "_")
    row = page.locator(f"#key-{key.pk}")
    expect(row).to_contain_text(key.prefix)
    expect(row).to_contain_text("Intégration CRM")
    expect(row).to_contain_text("Utilisateur de la messagerie")
    _screenshot(page, "api-keys-created")

    # Revoke it with htmx: a confirmation dialog, then only the row changes.
    page.evaluate("window.__sameDocument = true")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("link", name="Révoquer").click()
    expect(row).to_contain_text("Révoquée")
    assert page.evaluate("window.__sameDocument") is True  # no page load
    _screenshot(page, "api-keys-revoked")

    orm(key.refresh_from_db)
    assert key.revoked_at is not None
    actions: set[Any] = orm(lambda: set(
        AuditEntry.objects.filter(account=account).values_list("action", flat=True)
    ))
    assert {"api_key.create", "api_key.revoke"} <= actions

    # The secret is never shown again.
    page.reload()
    expect(page.locator(f"#key-{key.pk}")).to_contain_text(key.prefix)
    assert secret not in page.content()
    context.close()


def test_send_an_sms_with_the_live_counter(
    live_server, transactional_db, make_account, make_user, buy_credits, browser
):
    """The counter follows the typing (server-side segmentation through htmx), then the
    send answers with the per-recipient result."""
    from playwright.sync_api import expect

    from chappe.messaging.models import Message

    account = orm(lambda: make_account("Acme Texto"))
    admin = orm(lambda: make_user(account, email="sam@acme.example"))
    orm(lambda: buy_credits(account, "100"))

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("E-mail address").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Acme Texto")

    page.get_by_role("link", name="Send SMS").click()
    expect(page.locator("h1")).to_have_text("Send SMS")
    page.get_by_label("Recipients").fill("+33600000001\n06 00 00 00 02\n06 00 00 00 01\n12")
    page.get_by_label("Sender").fill("Acme")
    segments = page.locator("#counter-segments")
    expect(page.locator("#counter-recipients")).to_contain_text("2 valid")
    expect(page.locator("#counter-recipients")).to_contain_text("1 invalid")
    expect(page.locator("#counter-recipients")).to_contain_text("1 duplicate")

    text = page.locator("#id_text")
    text.fill("a" * 150)
    expect(segments).to_have_attribute("data-segments", "1")
    text.press_sequentially("b" * 10)  # 160 characters: still one SMS
    expect(page.locator("#counter-characters")).to_have_text("160")
    expect(segments).to_have_attribute("data-segments", "1")
    expect(page.locator("#counter-remaining")).to_have_text("0")
    expect(page.locator("#counter-price")).to_have_text("0.09\u00a0EUR")
    text.press_sequentially("c")  # 161: two SMS
    expect(segments).to_have_attribute("data-segments", "2")
    expect(page.locator("#counter-encoding")).to_have_text("GSM-7")
    expect(page.locator("#counter-remaining")).to_have_text("145")
    expect(page.locator("#counter-price")).to_have_text("0.18\u00a0EUR")
    _screenshot(page, "sms-send")

    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("h1")).to_have_text("Send result")
    rows = page.locator("#send-recipients tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Queued")
    expect(rows.nth(2)).to_contain_text("Duplicate")
    expect(rows.nth(3)).to_contain_text("Invalid number")
    expect(page.locator("#result-total")).to_have_text("0.18\u00a0EUR")
    _screenshot(page, "sms-result")

    messages = orm(lambda: list(Message.objects.filter(account=account)
                                .values_list("recipient", "segments")))
    assert sorted(messages) == [("+33600000001", 2), ("+33600000002", 2)]

    # The billing page shows what is left.
    page.get_by_role("link", name="Billing").click()
    expect(page.locator("#usable-EUR")).to_have_text("99.82\u00a0EUR")
    _screenshot(page, "billing")
    context.close()
