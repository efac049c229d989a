"""The agent's browser softphone end to end (issue 15): Debian's Chromium with fake media
devices logs in as an agent, starts the browser phone (WebRTC to the voice engine, the
signalling over the web app's WebSocket), and a SIPp caller walks the IVR into a queue
that rings it. The web app runs under uvicorn (the web role's ASGI application, so its
WebSocket too) in a thread of the test; the engine in another (tests.voice.sipp_tools),
its control port on loopback where the web app relays the browser."""

import contextlib
import re
import subprocess
import threading
from pathlib import Path

import pytest
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import User
from chappe.accounts.roles import Role
from chappe.agents.acd import State
from chappe.agents.crm import DatabaseCrm
from chappe.agents.models import Agent, CrmEndpoint, QueueEvent, WrapUpCode
from chappe.agents.services.setup import MemberDraft, queue_create
from chappe.callcenter.models import CallRecord, Trunk, Voicemail
from chappe.contacts.services import contact_create
from tests.agents.test_crm import CrmServer
from tests.browser import logged_in_page
from tests.conftest import require_tools
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, orm
from tests.ports import free_port, free_port_block
from tests.voice.sipp_tools import (
    SIPP,
    EngineThread,
    Phone,
    RtpSink,
    db_directory,
    wait_for_records,
)
from tests.voice.test_queues_sipp import ivr_to, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.tools("sipp", "espeak-ng", "sox", "chromium")]

SCENARIO = Path(__file__).parent / "sipp" / "browser_caller.xml"
CALLER = "+33600000001"
FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# The browser's inbound RTP packets (getStats), in the page.
INBOUND_PACKETS = """async () => {
  const pc = window.chappePhone && window.chappePhone.pc;
  if (!pc) return 0;
  let packets = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp") packets += r.packetsReceived;
  });
  return packets;
}"""


class WebServer:
    """The web role's ASGI application (config.asgi) under uvicorn, in a thread."""

    def __init__(self) -> None:
        import uvicorn

        from config.asgi import application

        static = ASGIStaticFilesHandler(application)

        async def app(scope, receive, send):
            if scope["type"] == "http" and scope["path"].startswith("/static/"):
                return await static(scope, receive, send)
            return await application(scope, receive, send)

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    lifespan="off", log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            self.thread.join(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def media_browser():
    require_tools("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=[*CHROMIUM_ARGS, *FAKE_MEDIA])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def contact_center(number_with, data_dir, admin_actor, make_agent, licences, settings):
    """An account whose number's IVR leads to a queue of one agent, logged in; the
    caller is in the address book; the engine and the web app serving."""
    account = admin_actor.account
    licences(1)
    agent = make_agent()
    queue = queue_create(actor=admin_actor, account=account, fields={"name": "Support"},
                         members=[MemberDraft(agent.pk)])
    number_with(ivr_to(queue), account=account)
    contact_create(actor=admin_actor, account=account, mobile=CALLER,
                   values={"first_name": "Ada", "last_name": "Lovelace"})
    for name in ("Sale", "Complaint"):
        WrapUpCode.objects.create(account=account, name=name)
    log_in(agent)
    directory = db_directory()
    directory.crm = DatabaseCrm()  # as the voice role: asked when the account has a CRM
    with EngineThread(control=("127.0.0.1", 0), directory=directory) as engine:
        settings.CHAPPE_VOICE_CONTROL_PORT = engine.engine.control[1]
        with WebServer() as web:
            yield account, agent, engine, web


def caller(engine, cwd, rtp: RtpSink) -> subprocess.Popen:
    """SIPp calling the number (browser_caller.xml), in the background."""
    return subprocess.Popen(
        [SIPP, f"127.0.0.1:{engine.port}", "-i", "127.0.0.1", "-p", str(free_port()),
         "-mp", str(free_port_block()), "-m", "1", "-t", "u1", "-s", "33189000077",
         "-timeout", "60", "-timeout_error", "-nostdin", "-trace_err",
         "-sf", str(SCENARIO), "-key", "caller_rtp", str(rtp.port)],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def browser_call(engine, agent):
    """The browser leg of the agent's call in the engine (None: no call)."""
    sessions = engine.engine.browsers.of_agent(str(agent.pk))
    return sessions[0].call if sessions and sessions[0].call else None


def agent_page(browser, web, agent):
    page = logged_in_page(browser, web.url, agent.user.email, PASSWORD)
    page.goto(f"{web.url}/voice/agents/me/")
    page.get_by_role("button", name="Use this browser as my phone").click()
    from playwright.sync_api import expect

    expect(page.locator("#softphone-status")).to_contain_text("Browser phone ready")
    return page


@contextlib.contextmanager
def answered(page, engine, agent, data_dir):
    """A SIPp caller rings the browser, which shows who calls and answers: yields the
    SIPp process and the caller's RTP sink, both ended when the block is left."""
    caller_rtp = RtpSink()
    sipp = caller(engine, data_dir, caller_rtp)
    try:
        answer(page, engine, agent, caller_shown=CALLER, contact="Ada Lovelace")
        yield sipp, caller_rtp
    finally:
        if sipp.poll() is None:
            sipp.kill()
        caller_rtp.close()


def answer(page, engine, agent, *, caller_shown: str, contact: str | None = None):
    """The agent's browser rings with `caller_shown` (and the address book's `contact`)
    and answers: the browser's leg of the call in the engine."""
    from playwright.sync_api import expect

    expect(page.locator("#softphone-panel-title")).to_have_text("Incoming call",
                                                                timeout=20_000)
    expect(page.locator("#softphone-caller")).to_contain_text(caller_shown)
    if contact is not None:
        expect(page.locator("#softphone-contact")).to_have_text(contact)
    page.get_by_role("button", name="Answer").click()
    expect(page.locator("#softphone-panel-title")).to_have_text("On call")
    assert engine.wait_until(lambda: browser_call(engine, agent) is not None)
    return browser_call(engine, agent)


def state_of(agent) -> str:
    return orm(lambda: Agent.objects.get(pk=agent.pk).state)


def caller_done(sipp) -> None:
    """The SIPp caller's scenario ended as written (it got its BYE)."""
    output, _ = sipp.communicate(timeout=30)
    assert sipp.returncode == 0, output[-3000:]


def transferred_legs(account, first, second) -> list:
    """The two agent legs of a call `first` transferred to `second`."""
    _inbound, *legs = orm(lambda: wait_for_records(account, 3))
    assert [(leg.to_number, leg.hangup_cause) for leg in legs] == [
        (f"agent:{first.pk}", "transferred"), (f"agent:{second.pk}", "agent_hangup")]
    return legs


def test_a_queue_call_rings_the_browser_which_talks_holds_keys_and_hangs_up(
        contact_center, media_browser, data_dir):
    from playwright.sync_api import expect

    account, agent, engine, web = contact_center
    page = agent_page(media_browser, web, agent)
    with answered(page, engine, agent, data_dir) as (sipp, caller_rtp):
        # Audio both ways: the browser receives RTP (its packet count grows), and the
        # engine relays the browser's microphone to the caller (PCMA at the caller's port).
        first = page.evaluate(INBOUND_PACKETS)
        page.wait_for_function(f"async () => ({INBOUND_PACKETS})().then(n => n > {first} + 50)")
        call = browser_call(engine, agent)
        assert engine.wait_until(lambda: call.leg.frames_in > 50 and call.leg.frames_out > 50)
        sent_to_caller = len(caller_rtp.payloads(8))
        assert engine.wait_until(lambda: len(caller_rtp.payloads(8)) > sent_to_caller + 50)

        # Hold: the caller hears music on hold, nothing from the browser; resume.
        page.get_by_role("button", name="Hold").click()
        expect(page.get_by_role("button", name="Resume")).to_be_visible()
        assert call.leg.held
        held_at = call.leg.frames_in
        assert engine.wait_until(lambda: len(caller_rtp.payloads(8)) > sent_to_caller + 150)
        assert call.leg.frames_in == held_at
        page.get_by_role("button", name="Resume").click()
        expect(page.get_by_role("button", name="Hold")).to_be_visible()
        assert engine.wait_until(lambda: call.leg.frames_in > held_at + 20)

        # The keypad: RFC 4733 telephone-events to the caller.
        page.locator("#softphone-oncall [data-key='5']").click()
        page.locator("#softphone-oncall [data-key='#']").click()
        assert engine.wait_until(lambda: {5, 11} <= caller_rtp.events())
        assert call.leg.digits_in == "5#"

        page.get_by_role("button", name="Hang up").click()
        expect(page.locator("#softphone-status")).to_contain_text("Call ended")
        caller_done(sipp)
    inbound, leg = orm(lambda: wait_for_records(account, 2))
    assert (inbound.disposition, inbound.agent_id) == ("answered", agent.pk)
    assert leg.to_number == f"agent:{agent.pk}"
    assert (leg.disposition, leg.hangup_cause) == ("answered", "agent_hangup")

    # The wrap-up form: a disposition code of the account's list and a note, saved on
    # the call's record.
    wrap_up = page.locator("#softphone-wrap-up")
    expect(wrap_up).to_be_visible()
    expect(page.locator("#softphone-countdown")).to_contain_text(
        re.compile(r"Wrap-up: calls come again in \d+ s\.|Wrap-up time is over"))
    wrap_up.get_by_label("Disposition").select_option(label="Sale")
    wrap_up.get_by_label("Note").fill("Wants the yearly plan.")
    wrap_up.get_by_role("button", name="Save the wrap-up").click()
    expect(page.locator("#softphone-status")).to_contain_text("Wrap-up saved.")
    expect(wrap_up).to_be_hidden()
    inbound = orm(lambda: CallRecord.objects.get(pk=inbound.pk))
    assert (inbound.wrap_up_code, inbound.wrap_up_note) == ("Sale", "Wants the yearly plan.")
    agent_state = orm(lambda: Agent.objects.get(pk=agent.pk).state)
    assert agent_state == State.WRAP_UP
    # The agent's own history lists it. Reloading the page (as the state buttons do)
    # starts the phone again at once: the agent is not taken for gone.
    page.reload()
    expect(page.locator("#my-calls")).to_contain_text("Wants the yearly plan.")
    expect(page.locator("#my-calls")).to_contain_text("Sale")
    expect(page.locator("#softphone-status")).to_contain_text("Browser phone ready")
    assert engine.wait_until(lambda: any(s.connected.is_set() for s in
                                         engine.engine.browsers.of_agent(str(agent.pk))))
    assert orm(lambda: Agent.objects.get(pk=agent.pk).state) == State.WRAP_UP
    assert not orm(lambda: QueueEvent.objects.filter(agent=agent, kind="pause").exists())


def test_closing_the_tab_mid_call_ends_the_call_and_frees_the_agent(
        contact_center, media_browser, data_dir):
    account, agent, engine, web = contact_center
    page = agent_page(media_browser, web, agent)
    with answered(page, engine, agent, data_dir) as (sipp, _caller_rtp):
        page.context.close()
        caller_done(sipp)  # the caller got BYE
    assert engine.wait_until(lambda: not engine.engine.browsers.of_agent(str(agent.pk)))
    assert not engine.engine.registrar.registrations.contacts_of_agent(str(agent.pk))

    def paused():
        return Agent.objects.get(pk=agent.pk).state == State.PAUSED

    assert engine.wait_until(lambda: orm(paused))
    pause = orm(lambda: QueueEvent.objects.filter(agent=agent, kind="pause").last())
    assert pause.details["cause"] == "phone_lost"
    [_inbound, leg] = orm(lambda: wait_for_records(account, 2))
    assert leg.hangup_cause == "agent_hangup"


def test_a_refused_microphone_says_so(contact_center):
    require_tools("chromium")
    from playwright.sync_api import expect, sync_playwright

    _account, agent, _engine, web = contact_center
    with sync_playwright() as playwright:
        # Fake devices, but no automatic consent: headless Chromium refuses the prompt.
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"])
        try:
            page = logged_in_page(browser, web.url, agent.user.email, PASSWORD)
            page.goto(f"{web.url}/voice/agents/me/")
            page.get_by_role("button", name="Use this browser as my phone").click()
            expect(page.locator("#softphone-status")).to_contain_text(
                "The browser refused the microphone")
            expect(page.get_by_role("button", name="Use this browser as my phone")) \
                .to_be_visible()
        finally:
            browser.close()



@pytest.fixture
def two_queues(number_with, data_dir, admin_actor, make_agent, licences, settings):
    """Agent A answers the queue Support (the number's IVR leads there), agent B the
    queue Sales; both logged in; the engine and the web app serving."""
    account = admin_actor.account
    licences(2)
    first, second = make_agent(), make_agent()
    support = queue_create(actor=admin_actor, account=account, fields={"name": "Support"},
                           members=[MemberDraft(first.pk)])
    queue_create(actor=admin_actor, account=account, fields={"name": "Sales"},
                 members=[MemberDraft(second.pk)])
    number_with(ivr_to(support), account=account)
    contact_create(actor=admin_actor, account=account, mobile=CALLER,
                   values={"first_name": "Ada", "last_name": "Lovelace"})
    log_in(first)
    log_in(second)
    with EngineThread(control=("127.0.0.1", 0)) as engine:
        settings.CHAPPE_VOICE_CONTROL_PORT = engine.engine.control[1]
        with WebServer() as web:
            yield account, first, second, engine, web


def test_a_blind_transfer_to_a_queue_rings_its_agent_in_another_browser(
        two_queues, media_browser, data_dir):
    from playwright.sync_api import expect

    account, first, second, engine, web = two_queues
    page_a = agent_page(media_browser, web, first)
    page_b = agent_page(media_browser, web, second)
    with answered(page_a, engine, first, data_dir) as (sipp, caller_rtp):
        page_a.get_by_label("Transfer to (extension, queue or number)").fill("sales")
        page_a.get_by_role("button", name="Transfer", exact=True).click()
        expect(page_a.locator("#softphone-status")).to_contain_text("Call ended")
        taken = answer(page_b, engine, second, caller_shown=CALLER)
        expect(page_b.locator("#softphone-contact")).to_have_text("Ada Lovelace")
        # The caller and the second agent hear each other.
        heard = len(caller_rtp.payloads(8))
        assert engine.wait_until(lambda: taken.leg.frames_out > 50 and taken.leg.frames_in > 50)
        assert engine.wait_until(lambda: len(caller_rtp.payloads(8)) > heard + 50)
        page_b.get_by_role("button", name="Hang up").click()
        caller_done(sipp)
    transferred_legs(account, first, second)
    transferred = orm(lambda: QueueEvent.objects.get(kind="transferred"))
    assert (transferred.details["target"], transferred.details["to"]) == ("queue", "Sales")


def test_an_attended_transfer_from_one_browser_agent_to_another(
        two_queues, media_browser, data_dir):
    from playwright.sync_api import expect

    account, first, second, engine, web = two_queues
    page_a = agent_page(media_browser, web, first)
    page_b = agent_page(media_browser, web, second)
    with answered(page_a, engine, first, data_dir) as (sipp, caller_rtp):
        held = browser_call(engine, first)
        page_a.get_by_label("Transfer to (extension, queue or number)").fill(second.extension)
        page_a.get_by_role("button", name="Consult first").click()
        # B's browser rings with A's extension; the caller waits on hold meanwhile.
        consulted = answer(page_b, engine, second, caller_shown=first.extension)
        expect(page_a.locator("#softphone-status")).to_contain_text(
            f"Talking to {second.extension}")
        assert held.leg.held
        # B talks to A: on a call, offered no queue call meanwhile.
        assert engine.wait_until(lambda: state_of(second) == State.ON_CALL)
        # A and B talk: each one's microphone reaches the other.
        session_a = engine.engine.browsers.of_agent(str(first.pk))[0]
        assert engine.wait_until(lambda: session_a.consult.leg.frames_in > 50
                                 and consulted.leg.frames_in > 50)
        page_a.get_by_role("button", name="Complete the transfer").click()
        expect(page_a.locator("#softphone-status")).to_contain_text("Call ended")
        # B's screen now shows the caller, from the address book.
        expect(page_b.locator("#softphone-contact")).to_have_text("Ada Lovelace")
        expect(page_b.locator("#softphone-caller")).to_contain_text(CALLER)
        # The caller is now B's: B hears the caller and the caller B.
        out_before, heard = consulted.leg.frames_out, len(caller_rtp.payloads(8))
        assert engine.wait_until(lambda: consulted.leg.frames_out > out_before + 50)
        assert engine.wait_until(lambda: len(caller_rtp.payloads(8)) > heard + 50)
        page_b.get_by_role("button", name="Hang up").click()
        caller_done(sipp)
    legs = transferred_legs(account, first, second)
    assert legs[1].sip_call_id == consulted.call_id  # the consultation's call, kept
    # B took the caller as a queue call (offered, connected), then wraps it up.
    assert orm(lambda: QueueEvent.objects.filter(agent=second, kind="connected").count()) == 1
    assert state_of(second) == State.WRAP_UP
    transferred = orm(lambda: QueueEvent.objects.get(kind="transferred"))
    assert (transferred.details["target"], transferred.details["to"]) == (
        "agent", second.extension)


def test_click_to_call_from_a_contact_reaches_the_number_with_the_account_number_shown(
        contact_center, media_browser, data_dir):
    from playwright.sync_api import expect

    account, agent, engine, web = contact_center
    callee_rtp = RtpSink(echo=True)  # the called party says back what it hears
    callee = Phone("-sf", str(Path(__file__).parent / "sipp" / "caller_id_callee.xml"),
                   "-key", "callee_rtp", str(callee_rtp.port), cwd=data_dir)
    orm(lambda: Trunk.objects.create(name="carrier", host="127.0.0.1", port=callee.port,
                                     number_prefixes=["+33"]))
    orm(lambda: contact_create(actor=SYSTEM.on(account), account=account,
                               mobile="+33612345678",
                               values={"first_name": "Grace", "last_name": "Hopper"}))
    # The contacts pages are the administrators' and messaging users' (C-7): this agent
    # is also the account's administrator.
    orm(lambda: User.objects.filter(pk=agent.user_id).update(role=Role.ADMINISTRATOR))
    try:
        page = logged_in_page(media_browser, web.url, agent.user.email, PASSWORD)
        page.goto(f"{web.url}/contacts/")
        page.get_by_role("link", name="+33612345678").click()
        # The workspace opens, starts the browser phone and dials.
        expect(page.locator("#softphone-panel-title")).to_have_text("Outgoing call",
                                                                    timeout=20_000)
        assert engine.wait_until(lambda: browser_call(engine, agent) is not None)
        call = browser_call(engine, agent)
        # Both ways: the browser's microphone reaches the called party, which echoes it.
        assert engine.wait_until(lambda: len(callee_rtp.payloads(8)) > 50)
        assert engine.wait_until(lambda: call.leg.frames_out > 50 and call.leg.frames_in > 50)
        # On a call of their own, the agent is busy: no queue offers them a call (their
        # browser would refuse it, counted as rung out); the live badge says so.
        assert state_of(agent) == State.ON_CALL
        expect(page.locator("#my-state-badge")).to_have_text("On a call")
        page.get_by_role("button", name="Hang up").click()
        expect(page.locator("#softphone-status")).to_contain_text("Call ended")
        expect(page.locator("#my-state-badge")).to_have_text("Available")
        status, output = callee.finish()
        assert status == 0, output[-3000:]  # the right From and number, then our BYE
        [record] = orm(lambda: wait_for_records(account, 1))
        # The outbound call is wrapped up too, on its own record.
        wrap_up = page.locator("#softphone-wrap-up")
        expect(wrap_up).to_be_visible()
        wrap_up.get_by_label("Disposition").select_option(label="Sale")
        wrap_up.get_by_label("Note").fill("Ordered two.")
        wrap_up.get_by_role("button", name="Save the wrap-up").click()
        expect(page.locator("#softphone-status")).to_contain_text("Wrap-up saved.")
    finally:
        callee.stop()
        callee_rtp.close()
    assert (record.direction, record.from_number, record.to_number) == (
        "outbound", "+33189000077", "+33612345678")
    assert (record.disposition, record.agent_id) == ("answered", agent.pk)
    assert record.flow_path == ["agent_dial"]
    record = orm(lambda: CallRecord.objects.get(pk=record.pk))
    assert (record.wrap_up_code, record.wrap_up_note) == ("Sale", "Ordered two.")


def test_a_second_tab_takes_the_phone_over_and_the_first_says_so(contact_center, media_browser):
    from playwright.sync_api import expect

    _account, agent, engine, web = contact_center
    first = agent_page(media_browser, web, agent)
    [before] = engine.engine.browsers.of_agent(str(agent.pk))
    second = agent_page(media_browser, web, agent)
    expect(first.locator("#softphone-status")).to_contain_text(
        "The browser phone is now open in another tab or window")
    expect(first.get_by_role("button", name="Use this browser as my phone")).to_be_visible()

    def taken_over():
        sessions = engine.engine.browsers.of_agent(str(agent.pk))
        return (len(sessions) == 1 and sessions[0] is not before
                and sessions[0].connected.is_set())

    assert engine.wait_until(taken_over)
    expect(second.locator("#softphone-status")).to_contain_text("Browser phone ready")
    assert orm(lambda: Agent.objects.get(pk=agent.pk).state) == State.AVAILABLE


def test_the_account_s_crm_names_the_caller_in_the_incoming_panel(
        contact_center, media_browser, data_dir, settings):
    from playwright.sync_api import expect

    account, agent, engine, web = contact_center
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"  # the test's CRM is on loopback
    crm = CrmServer(b'{"caller_info": {"full_name": "Ada <b>Lovelace</b>",'
                    b' "caller_profile_url": "https://crm.example/c/42"}}')
    orm(lambda: CrmEndpoint.objects.create(account=account, url=crm.url))
    page = agent_page(media_browser, web, agent)
    try:
        with answered(page, engine, agent, data_dir) as (sipp, _caller_rtp):
            # The CRM's name, as text (its markup shown, never run), linked to its profile.
            name = page.locator("#softphone-crm")
            expect(name).to_have_text("Ada <b>Lovelace</b>")
            expect(name).to_have_attribute("href", "https://crm.example/c/42")
            assert page.locator("#softphone-caller b").count() == 0
            page.get_by_role("button", name="Hang up").click()
            caller_done(sipp)
    finally:
        crm.close()
    assert len(crm.requests) == 1


def test_a_lost_network_mid_call_says_so_and_the_engine_pauses_the_agent(
        contact_center, media_browser, data_dir):
    from playwright.sync_api import expect

    _account, agent, engine, web = contact_center
    page = agent_page(media_browser, web, agent)
    expect(page.locator("#my-state-badge")).to_have_text("Available")
    with answered(page, engine, agent, data_dir) as (sipp, _caller_rtp):
        # The live badge follows the engine: ringing, then on a call, with its time.
        expect(page.locator("#my-state-badge")).to_have_text("On a call")
        expect(page.locator("#my-state-clock")).to_have_text(re.compile(r"^for \d+:\d\d$"))
        page.context.set_offline(True)
        expect(page.locator("#softphone-status")).to_contain_text("Network lost")
        expect(page.locator("#softphone-oncall")).to_be_hidden()
        caller_done(sipp)  # the engine ended the call: the caller got BYE
    # Within seconds, the engine has no browser for the agent and pauses them: no call
    # is offered to a dead browser.
    assert engine.wait_until(lambda: not engine.engine.browsers.of_agent(str(agent.pk)))
    assert engine.wait_until(lambda: state_of(agent) == State.PAUSED)
    pause = orm(lambda: QueueEvent.objects.filter(agent=agent, kind="pause").last())
    assert pause.details["cause"] == "phone_lost"
    # The network back, the phone reconnects by itself and the badge shows the pause.
    page.context.set_offline(False)
    expect(page.locator("#softphone-status")).to_contain_text("Browser phone ready",
                                                              timeout=30_000)
    expect(page.locator("#my-state-badge")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Available")).to_be_visible()


def test_click_to_call_from_the_history_and_voicemail_pages_on_a_phone_sized_screen(
        contact_center, media_browser):
    from playwright.sync_api import expect

    account, agent, engine, web = contact_center
    orm(lambda: User.objects.filter(pk=agent.user_id).update(role=Role.ADMINISTRATOR))

    def recorded():
        started = "2026-03-02T10:00:00+00:00"
        earlier = CallRecord.objects.create(
            account=account, sip_call_id="in-1", direction="inbound", started_at=started,
            from_number="+33612345678", to_number="+33189000077", disposition="answered")
        left = CallRecord.objects.create(
            account=account, sip_call_id="in-2", direction="inbound", started_at=started,
            from_number="+33698765432", to_number="+33189000077", disposition="voicemail")
        Voicemail.objects.create(account=account, call=left, path="voicemail/in-2.wav")
        return earlier

    orm(recorded)
    page = logged_in_page(media_browser, web.url, agent.user.email, PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})

    def dialled(number):
        return orm(lambda: CallRecord.objects.filter(
            account=account, direction="outbound", to_number=number).exists())

    page.goto(f"{web.url}/voice/calls/")
    page.get_by_role("link", name="+33612345678").click()
    # The workspace starts the phone and dials (no trunk here: the call fails, recorded).
    assert engine.wait_until(lambda: dialled("+33612345678"))
    expect(page.locator("#softphone-dial")).to_be_visible()
    # The workspace fits a phone's screen: nothing wider than it, its controls reachable.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for control in (page.locator("#softphone-dial").get_by_role("button", name="Call"),
                    page.locator("#my-state-form").get_by_role("button", name="Pause")):
        box = control.bounding_box()
        assert (box["x"] >= 0, box["x"] + box["width"] <= 390) == (True, True)
    page.goto(f"{web.url}/voice/voicemails/")
    page.get_by_role("link", name="Call back").click()
    assert engine.wait_until(lambda: dialled("+33698765432"))
