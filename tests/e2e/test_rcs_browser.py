"""RCS in a real browser: compose a carousel with its live phone preview, send it to
simulator numbers, and see the reply and the suggestion tap land in the inbox."""

import json

import pytest

from tests.e2e.test_browser import PASSWORD, browser, orm  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CAROUSEL = {"type": "carousel", "cards": [
    {"title": "Red shoes", "description": "39 EUR",
     "media": {"file_url": "https://example.com/red.png"},
     "suggestions": [{"type": "reply", "text": "I want them", "postback_data": "red"}]},
    {"title": "Blue shoes", "description": "45 EUR",
     "suggestions": [{"type": "reply", "text": "Not for me", "postback_data": "blue"}]}]}


def _setup(make_account, make_user, buy_credits):
    from chappe.accounts.actor import SYSTEM
    from chappe.carriers.services import rcs_simulator_ensure, simulator_ensure
    from chappe.messaging.rcs.agents import (
        rcs_agent_create,
        rcs_agent_review,
        rcs_agent_submit,
    )
    from tests.messaging.rcs.conftest import PROFILE, png

    account = make_account("Acme Rich")
    admin = make_user(account, email="rcs@acme.example")
    buy_credits(account, "100")
    simulator_ensure(config={"latency_ms": 0})
    rcs_simulator_ensure(config={"latency_ms": 0})
    agent = rcs_agent_create(actor=SYSTEM.on(account), account=account, logo=png(224, 224),
                             banner=png(1440, 448), **PROFILE)
    agent = rcs_agent_submit(actor=SYSTEM.on(account), agent=agent)
    rcs_agent_review(actor=SYSTEM, agent=agent, carrier="orange", approved=True)
    return admin


def _gateway_round():
    from chappe.carriers.fleet import ConnectorFleet
    from chappe.messaging.rcs.dispatch import rcs_dispatch
    from chappe.runtime.gateway import gateway_poll

    connectors = ConnectorFleet(process="e2e").refresh()
    rcs_dispatch(worker="e2e", connectors={
        n: c for n, c in connectors.items() if getattr(c, "carries_rcs", False)})
    gateway_poll(connectors)


def test_compose_a_carousel_send_it_and_see_the_reply_and_the_tap_in_the_inbox(
    live_server, transactional_db, make_account, make_user, buy_credits, browser  # noqa: F811
):
    from playwright.sync_api import expect

    admin = orm(lambda: _setup(make_account, make_user, buy_credits))
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("E-mail address").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("h1")).to_have_text("Acme Rich")

    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("link", name="Compose RCS").click()
    expect(page.locator("h1")).to_have_text("Compose RCS")
    preview = page.locator("#rcs-preview")
    page.get_by_role("button", name="Carousel", exact=True).click()
    expect(preview.locator(".rcs-card")).to_have_count(2)
    page.get_by_role("button", name="Add a card").click()
    expect(preview.locator(".rcs-card")).to_have_count(3)
    page.locator("#id_content").fill(json.dumps(CAROUSEL))
    expect(preview.locator(".rcs-card")).to_have_count(2)
    expect(preview.locator(".rcs-title").first).to_have_text("Red shoes")
    expect(preview.locator(".rcs-chip").first).to_have_text("I want them")
    page.get_by_label("Recipients").fill("+33600000204\n+33600000205")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("h1")).to_have_text("Send result")

    orm(_gateway_round)

    page.get_by_role("link", name="Inbox").click()
    threads = page.locator("#threads tbody tr")
    expect(threads).to_have_count(2)
    expect(page.locator("#threads")).to_contain_text("Yes please")
    page.get_by_role("link", name="+33600000205").click()
    expect(page.locator("#thread")).to_contain_text("Tapped: red")
    expect(page.locator("#thread")).to_contain_text("I want them")
