"""The live wallboard driven by a real call (issue 16): a SIPp caller walks through the
IVR into a queue of the voice engine, the agent's SIPp phone answers, and an open
wallboard (Chromium through Playwright) shows the answer within a second of the engine
writing it; once the call is over the historical statistics count it."""

import re
import threading
from datetime import UTC, datetime

import pytest

from tests.browser import logged_in_page
from tests.e2e.test_browser import PASSWORD, browser, orm  # noqa: F401
from tests.ports import free_port
from tests.voice.sipp_tools import SIPP_TESTS, EngineThread, Phone, scenario, sipp
from tests.voice.test_queues_sipp import ivr_to, log_in, register

pytestmark = [pytest.mark.browser, *SIPP_TESTS]


def test_a_sipp_call_through_a_queue_shows_on_the_wallboard_within_a_second(
        live_server, transactional_db, settings, number_with, data_dir, admin_actor,
        make_agent, make_user, licences, capsys, browser):  # noqa: F811
    from playwright.sync_api import expect

    from chappe.accounts.roles import Role
    from chappe.agents import statistics
    from chappe.agents.models import QueueEvent
    from chappe.agents.services.setup import MemberDraft, queue_create
    from chappe.web.views import statistics as views

    settings.CHAPPE_WALLBOARD_STREAM_SECONDS = 15
    account = admin_actor.account

    def setup():
        licences(1)
        agent = make_agent()
        queue = queue_create(actor=admin_actor, account=account, fields={"name": "Support"},
                             members=[MemberDraft(agent.pk)])
        number_with(ivr_to(queue), account=account)
        log_in(agent)
        return agent, queue, make_user(account, role=Role.SUPERVISOR).email

    agent, queue, email = orm(setup)

    page = logged_in_page(browser, live_server.url, email, PASSWORD)
    page.goto(f"{live_server.url}/voice/wallboard/")
    expect(page.locator("#wallboard")).to_have_attribute("data-updated", re.compile(".+"))
    row = page.locator(f'tr[data-queue="{queue.pk}"]')
    expect(row.locator('[data-field="answered"]')).to_have_text("0")

    caller, phone = {}, None
    with EngineThread() as engine:
        try:
            port = free_port()
            orm(lambda: register(engine, agent, data_dir, port))
            phone = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp", "9",
                          cwd=data_dir, port=port)
            calling = threading.Thread(target=lambda: caller.update(result=sipp(
                engine.port, *scenario("queue_caller.xml", data_dir, key="1",
                                       wait_ms="300", talk_ms="3000"),
                "-key", "caller_rtp", "9", cwd=data_dir, timeout=30)))
            calling.start()
            agent_row = page.locator(f'tr[data-agent="{agent.pk}"]')
            expect(row.locator('[data-field="answered"]')).to_have_text("1", timeout=15000)
            shown = datetime.now(UTC)
            expect(agent_row.locator('[data-field="state"]')).to_have_text("On a call")
            calling.join(30)
            assert caller["result"].returncode == 0, caller["result"].stdout[-2000:]
            status, output = phone.finish()
            assert status == 0, output[-2000:]
        finally:
            if phone is not None:
                phone.stop()
    connected = orm(lambda: QueueEvent.objects.get(queue=queue, kind="connected").at)
    elapsed = (shown - connected).total_seconds()
    with capsys.disabled():
        print(f"\nwallboard (SIPp call): the answer showed {elapsed * 1000:.0f} ms after "
              f"the engine wrote it")
    assert elapsed < 1.0
    expect(page.locator(f'tr[data-agent="{agent.pk}"] [data-field="handled_today"]')) \
        .to_have_text("1", timeout=5000)

    # The historical figures of the day count the call.
    today = connected.astimezone(statistics.account_zone(account)).date()
    [total] = orm(lambda: statistics.report(account=account, subject="queues", first=today,
                                            last=today, ids=[queue.pk]))
    assert (total.figures.offered, total.figures.answered, total.figures.abandoned) == (
        1, 1, 0)
    assert total.figures.service_level == 1.0
    page.context.close()
    with views.STREAM_ENDED:
        assert views.STREAM_ENDED.wait_for(lambda: views.ACTIVE_STREAMS[0] == 0, timeout=30)
