"""The live wallboard in a real browser (Debian's Chromium through Playwright): a caller
entering a queue — written to the queue log as the voice engine writes it — shows on an
open wallboard within a second, pushed over server-sent events (decision 0042)."""

import re
import time

import pytest

from tests.browser import logged_in_page
from tests.e2e.test_browser import PASSWORD, _screenshot, browser, orm  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_caller_entering_a_queue_shows_within_a_second(
        live_server, transactional_db, browser, settings, make_account, make_user,  # noqa: F811
        capsys):
    from playwright.sync_api import expect

    from chappe.accounts.roles import Role
    from chappe.agents.models import Queue
    from chappe.agents.services.states import queue_caller_event
    from chappe.web.views import statistics as views

    # The stream ends soon after the test (before its database goes away).
    settings.CHAPPE_WALLBOARD_STREAM_SECONDS = 10

    def setup():
        account = make_account("Wallboard")
        queue = Queue.objects.create(account=account, name="Support")
        return account, queue, make_user(account, role=Role.SUPERVISOR).email

    account, queue, email = orm(setup)
    page = logged_in_page(browser, live_server.url, email, PASSWORD)
    page.goto(f"{live_server.url}/voice/wallboard/")
    board = page.locator("#wallboard")
    expect(board).to_have_attribute("data-updated", re.compile(".+"))  # first snapshot
    waiting = page.locator(f'tr[data-queue="{queue.pk}"] [data-field="waiting"]')
    expect(waiting).to_have_text("0")

    started = time.monotonic()
    orm(lambda: queue_caller_event(account=account, queue=queue, kind="entered",
                                   call_id="browser-caller", details={"position": 1}))
    expect(waiting).to_have_text("1", timeout=1000)
    elapsed = time.monotonic() - started
    expect(page.locator(f'tr[data-queue="{queue.pk}"] [data-field="offered"]')) \
        .to_have_text("1")
    _screenshot(page, "wallboard")
    with capsys.disabled():
        print(f"\nwallboard: the caller showed {elapsed * 1000:.0f} ms after the event")
    assert elapsed < 1.0
    page.context.close()
    with views.STREAM_ENDED:
        assert views.STREAM_ENDED.wait_for(lambda: views.ACTIVE_STREAMS[0] == 0, timeout=20)
