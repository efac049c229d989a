"""The newcomer's path in a real browser (Debian's Chromium through Playwright): import a
CSV of contacts, build a personalised marketing campaign, check its preview and estimate,
launch it, and watch its progress (htmx polling) reach delivered on the built-in carrier
simulator, while a worker and a gateway loop run in the background.

Set CHAPPE_E2E_SCREENSHOTS=<dir> to keep screenshots of the pages."""

import threading
import time

import pytest

from tests.browser import logged_in_page
from tests.campaigns.conftest import ALWAYS_OPEN
from tests.contacts.conftest import csv_bytes
from tests.e2e.test_browser import PASSWORD, _screenshot, browser, orm  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _background(stop: threading.Event, *, gateway: bool) -> None:
    """The worker (jobs: the import, the launch, the pacing) and, with `gateway`, the
    gateway (dispatch to the simulator, receipts), as `chappe worker` and `chappe gateway`
    run them."""
    from django.db import connections

    from chappe.carriers.fleet import ConnectorFleet
    from chappe.carriers.selectors import routes_load
    from chappe.messaging.services.dispatch import dispatch_batch
    from chappe.queue.jobs import jobs_run_due
    from chappe.runtime.gateway import gateway_poll

    try:
        connectors, routes = ConnectorFleet(process="test").refresh(), routes_load()
        while not stop.is_set():
            busy = jobs_run_due(worker="browser-test")
            if gateway:
                busy += dispatch_batch(worker="browser-gateway", connectors=connectors,
                                       routes=routes)
                busy += gateway_poll(connectors)
            if not busy:
                time.sleep(0.2)
    finally:
        connections.close_all()


class Background:
    """Background work for one phase of the scenario. The test database is SQLite in
    memory with a shared cache, where a write lock makes other threads fail at once: the
    work runs only while the page merely polls, never while the test submits forms."""

    def __init__(self, *, gateway: bool) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=_background, args=(self.stop,),
                                       kwargs={"gateway": gateway}, daemon=True)
        self.thread.start()

    def end(self) -> None:
        self.stop.set()
        self.thread.join(15)


def test_import_then_a_personalised_campaign_delivered(
        live_server, transactional_db, buy_credits, make_account, make_user, settings,
        tmp_path, browser):  # noqa: F811 (the browser last: its event loop refuses the ORM)
    from playwright.sync_api import expect

    from chappe.carriers.services import simulator_ensure
    from chappe.messaging.models import Message

    settings.CHAPPE_SENDING_WINDOWS = ALWAYS_OPEN
    settings.CHAPPE_CAMPAIGN_TICK_SECONDS = 0.2
    settings.CHAPPE_CAMPAIGN_SAMPLE_SECONDS = 0.5
    account = orm(lambda: make_account("Boulangerie Lefèvre"))
    admin = orm(lambda: make_user(account, email="ines@lefevre.example"))
    orm(lambda: buy_credits(account, "100"))
    orm(lambda: simulator_ensure(config={"latency_ms": 0}))
    rows = [["Prénom", "Nom", "Téléphone portable", "Ville"]]
    rows += [[("Zoé", "Chloé", "Łukasz", "")[i % 4], "Lefèvre", f"06{10_000_000 + i:08d}",
              "Orléans"] for i in range(40)]
    upload = tmp_path / "clients.csv"
    upload.write_bytes(csv_bytes(rows, delimiter=";", encoding="utf-8"))

    background = None
    page = logged_in_page(browser, live_server.url, admin.email, PASSWORD, height=1000)
    try:

        # 1. Import the contacts.
        page.get_by_role("link", name="Contacts", exact=True).first.click()
        page.get_by_role("link", name="Import", exact=True).first.click()
        page.get_by_label("File").set_input_files(str(upload))
        page.get_by_role("button", name="Upload and check").click()
        expect(page.get_by_label("Téléphone portable")).to_have_value("mobile")
        page.get_by_role("button", name="Start the import").click()
        background = Background(gateway=False)
        expect(page.locator("#import-progress")).to_contain_text("Done", timeout=60_000)
        background.end()
        expect(page.locator('#import-progress [data-count="created"]')).to_have_text("40")

        # 2. Build a personalised marketing campaign to every contact.
        page.get_by_role("link", name="Campaigns", exact=True).click()
        page.get_by_role("link", name="New campaign").click()
        page.locator("#id_name").fill("Galette des rois")
        page.get_by_label("Sender").fill("Lefevre")
        page.locator("#id_text").fill(
            "Bonjour {first_name|cher client}, -20 % sur les galettes ce week-end !")
        page.get_by_label("All my contacts").check()
        page.get_by_role("button", name="Create and preview").click()
        preview = page.locator("#campaign-preview")
        expect(preview).to_contain_text("Bonjour cher client, -20 % sur les galettes")
        expect(preview).to_contain_text("Bonjour Chloé, -20 %")
        expect(preview).to_contain_text("STOP au 36034")
        estimate = page.locator("#campaign-estimate")
        expect(estimate).to_contain_text("UCS-2: 10")  # one name is enough: Łukasz
        expect(estimate).to_contain_text("Bonjour Łukasz, -20 %")
        expect(estimate.locator('[data-count="recipients"]')).to_have_text("40")
        expect(estimate.locator('[data-count="billable"]')).to_have_text("40")
        _screenshot(page, "campaign-preview")

        # 3. Launch it and watch it reach delivered.
        page.get_by_role("button", name="Launch the campaign").click()
        progress = page.locator("#campaign-progress")
        expect(progress).to_be_visible()
        background = Background(gateway=True)
        expect(progress).to_contain_text("Completed", timeout=90_000)
        expect(progress.locator('[data-count="delivered"]')).to_have_text("40")
        expect(progress.locator('[data-count="percent"]')).to_have_text("100 %")
        expect(progress.locator("#delivery-chart")).to_be_visible()
        assert progress.get_attribute("hx-trigger") is None  # polling stopped
        _screenshot(page, "campaign-delivered")
    finally:
        if background is not None:
            background.end()
        page.context.close()
    texts = orm(lambda: sorted(Message.objects.filter(account=account)
                               .values_list("text", flat=True)))
    assert len(texts) == 40
    assert texts[0].startswith("Bonjour Chloé, -20 % sur les galettes ce week-end !")
    assert all(t.endswith("STOP au 36034") for t in texts)
