"""The newcomer's contact-center path in a real browser (Debian's Chromium through
Playwright), on the demo account `chappe up` creates: buy a number, build a welcome + menu
+ voicemail flow with text-to-speech prompts (listening to one), assign it, then find the
voicemail a caller left, listed and playable in the page.

Set CHAPPE_E2E_SCREENSHOTS=<dir> to keep screenshots of the pages."""

from datetime import timedelta

import pytest

from tests.browser import logged_in_page
from tests.conftest import require_tools
from tests.e2e.test_browser import _screenshot, browser, orm  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WAIT_FOR_METADATA = """async (audio) => {
  if (audio.readyState < 1) {
    await new Promise((done, fail) => {
      audio.addEventListener("loadedmetadata", done, {once: true});
      audio.addEventListener("error", () => fail(new Error("audio error")), {once: true});
      audio.load();
    });
  }
  return {readyState: audio.readyState, duration: audio.duration};
}"""


def leave_voicemail(account, number: str, seconds_of_speech: str):
    """What the voice engine stores when a caller reaches the voicemail step: the call
    record and the recording (here, speech rendered by the TTS engine)."""
    import shutil

    from django.conf import settings
    from django.utils import timezone

    from chappe.callcenter.models import CallRecord, NumberRental, Voicemail
    from chappe.voice.media.prompts import prompts_dir, tts_render, wav_pcm

    rental = NumberRental.objects.get(account=account, number__e164=number)
    now = timezone.now()
    call = CallRecord.objects.create(
        account=account, sip_call_id="browser-call", direction="inbound",
        from_number="+33612345678", to_number=number, rental=rental,
        flow_version=rental.flow.current, started_at=now - timedelta(seconds=20),
        answered_at=now - timedelta(seconds=19), ended_at=now, duration_seconds=19,
        disposition="voicemail", flow_path=["welcome", "menu", "voicemail"], digits="1")
    speech = tts_render(text=seconds_of_speech, language="fr",
                        cache_dir=prompts_dir(settings.DATA_DIR))
    relative = f"voice/voicemails/{account.pk}/{call.pk}.wav"
    target = settings.DATA_DIR / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(speech, target)
    duration_ms = len(wav_pcm(target)) * 1000 // 16000
    return Voicemail.objects.create(account=account, call=call, path=relative,
                                    duration_ms=duration_ms)


def test_buy_a_number_build_a_flow_and_play_a_voicemail(
        live_server, transactional_db, browser, settings, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    from chappe.callcenter.models import CallFlow, NumberRental
    from chappe.runtime.demo import demo_setup
    require_tools("espeak-ng", "sox")
    settings.DATA_DIR = tmp_path
    demo = orm(demo_setup)
    account_name = "Demo Company"

    page = logged_in_page(browser, live_server.url, demo.client_email, demo.client_password,
                          height=1000)
    expect(page.locator("h1")).to_have_text(account_name)

    # Buy a number: the demo already has one; the catalogue shows what else is on offer.
    page.get_by_role("link", name="Contact center").click()
    expect(page.locator("h1")).to_have_text("Numbers")
    expect(page.locator("#number-list")).to_contain_text(demo.phone_number)
    page.get_by_role("link", name="Buy a number").click()
    expect(page.locator("h1")).to_have_text("Buy a number")
    row = page.locator("#catalogue tbody tr").first
    wanted = row.locator("td").first.inner_text().strip()
    expect(row).to_contain_text("1.00\u00a0EUR")
    row.get_by_role("button", name=f"Buy {wanted}").click()
    expect(page.locator("h1")).to_have_text("Numbers")
    expect(page.get_by_text(f"The number {wanted} is yours")).to_be_visible()
    _screenshot(page, "voice-numbers-bought")

    # Build a flow: welcome message → menu (1: voicemail) → voicemail, with TTS prompts.
    page.locator(".tabs").get_by_role("link", name="Call flows").click()
    page.get_by_role("link", name="New call flow").click()
    expect(page.locator("h1")).to_have_text("New call flow")
    page.locator("#flow-name").fill("Support")
    welcome = page.locator("#step-n0")
    welcome.get_by_label("Text", exact=True).fill("Bienvenue chez Demo Company.")
    page.get_by_role("button", name="+ Menu (press a key)").click()
    menu = page.locator("#step-n1")
    expect(menu).to_be_visible()
    menu.locator("#n1-prompt-text").fill("Pour laisser un message, tapez 1.")
    page.get_by_role("button", name="+ Voicemail").click()
    voicemail_step = page.locator("#step-n2")
    expect(voicemail_step).to_be_visible()
    voicemail_step.get_by_label("Text", exact=True).fill("Laissez votre message après le bip.")
    # The steps' names are offered as targets once added.
    welcome.get_by_label("Then").select_option("menu")
    menu.get_by_label("Key 1", exact=True).select_option("voicemail")
    menu.get_by_label("When the tries are used up").select_option("voicemail")
    # Listen to the welcome message as callers will hear it.
    welcome.get_by_role("button", name="Listen").click()
    player = page.locator("#listen-player")
    heard = player.evaluate(WAIT_FOR_METADATA)
    assert heard["readyState"] >= 1
    assert 0.5 < heard["duration"] < 10
    _screenshot(page, "voice-flow-editor")
    page.get_by_role("button", name="Create the flow").click()
    expect(page.get_by_text("Flow saved: version 1.")).to_be_visible()
    flow = orm(lambda: CallFlow.objects.get(name="Support"))
    definition = orm(lambda: flow.current.definition)
    assert definition["start"] == "welcome"
    assert definition["nodes"]["welcome"]["next"] == "menu"
    assert definition["nodes"]["menu"]["options"] == {"1": "voicemail"}
    assert definition["nodes"]["voicemail"]["greeting"]["text"] == (
        "Laissez votre message après le bip.")

    # Assign it to the new number (htmx: the select saves on change).
    page.locator(".tabs").get_by_role("link", name="Numbers").click()
    rental = orm(lambda: NumberRental.objects.get(number__e164=wanted))
    number_row = page.locator(f"#number-{rental.pk}")
    number_row.get_by_label(f"Call flow of {wanted}").select_option(label="Support")
    expect(number_row).to_contain_text("Saved")
    assert orm(lambda: NumberRental.objects.get(pk=rental.pk).flow_id) == flow.pk

    # A caller leaves a voicemail; it is listed and plays in the page.
    voicemail = orm(lambda: leave_voicemail(
        rental.account, wanted, "Bonjour, ici Zoé, rappelez-moi au zéro six douze."))
    page.locator(".tabs").get_by_role("link", name="Voicemails").click()
    expect(page.locator("h1")).to_have_text("Voicemails")
    vm_row = page.locator(f"#voicemail-{voicemail.pk}")
    expect(vm_row).to_contain_text("+33612345678")
    expect(vm_row).to_contain_text("new")
    audio = vm_row.locator("audio")
    loaded = audio.evaluate(WAIT_FOR_METADATA)
    assert loaded["readyState"] >= 1
    assert abs(loaded["duration"] - voicemail.duration_ms / 1000) < 0.05
    played = audio.evaluate("""async (audio) => {
      audio.muted = true;
      await audio.play();
      await new Promise((done) => setTimeout(done, 300));
      return audio.currentTime;
    }""")
    assert played > 0
    _screenshot(page, "voice-voicemails")
    vm_row.get_by_role("button", name="Mark as listened").click()
    expect(vm_row.get_by_role("button", name="Mark as new")).to_be_visible()

    # The call's details: its path through the flow that answered it.
    vm_row.get_by_role("link", name="+33612345678").click()
    expect(page.locator("#flow-path")).to_have_text("welcome → menu → voicemail")
    expect(page.locator("#call-details")).to_contain_text("Support v1")
    page.context.close()


def test_a_real_call_leaves_a_voicemail_that_plays_in_the_page(
        live_server, transactional_db, browser, settings, tmp_path):  # noqa: F811
    """The issue's “done when”: the demo number, answered by a welcome + menu + voicemail
    flow, is called by SIPp (a real SIP/RTP peer): it keys 1 and talks ~7 s; the voicemail
    is then listed and plays in the page for its real length."""
    from pathlib import Path

    from playwright.sync_api import expect

    from chappe.accounts.actor import SYSTEM
    from chappe.callcenter.models import NumberRental, Voicemail
    from chappe.callcenter.services import flow_create, number_assign
    from chappe.runtime.demo import demo_setup
    from tests.voice.sipp_tools import EngineThread, sipp, wait_for_records

    require_tools("sipp", "espeak-ng", "sox")
    settings.DATA_DIR = tmp_path
    demo = orm(demo_setup)
    flow = {"start": "welcome", "nodes": {
        "welcome": {"type": "play", "next": "menu",
                    "prompt": {"text": "Bienvenue chez Demo Company.", "language": "fr"}},
        "menu": {"type": "menu", "options": {"1": "voicemail"}, "timeout_seconds": 8,
                 "max_retries": 1, "on_failure": "voicemail",
                 "prompt": {"text": "Pour laisser un message, tapez 1.", "language": "fr"}},
        "voicemail": {"type": "voicemail", "max_seconds": 30,
                      "greeting": {"text": "Laissez votre message après le bip.",
                                   "language": "fr"}}}}

    def assign():
        rental = NumberRental.objects.get(number__e164=demo.phone_number)
        actor = SYSTEM.on(rental.account)
        support = flow_create(actor=actor, account=rental.account, name="Support",
                              definition=flow)
        number_assign(actor=actor, account=rental.account, rental_id=rental.pk,
                      flow_id=support.pk)
        return rental.account

    account = orm(assign)
    scenario = Path(__file__).parent / "sipp" / "welcome_menu_voicemail.xml"
    with EngineThread() as engine:
        result = sipp(engine.port, "-sf", str(scenario), cwd=tmp_path, timeout=40,
                      number=demo.phone_number)
        assert result.returncode == 0, result.stderr[-2000:]
        [record] = orm(lambda: wait_for_records(account, timeout=10))
    assert record.disposition == "voicemail"
    assert record.flow_path == ["welcome", "menu", "voicemail"]
    assert record.digits == "1"
    voicemail = orm(lambda: Voicemail.objects.get(call=record))
    assert 5_000 < voicemail.duration_ms < 9_000  # the ~7 s SIPp talked

    page = logged_in_page(browser, live_server.url, demo.client_email, demo.client_password)
    page.goto(f"{live_server.url}/voice/voicemails/")
    row = page.locator(f"#voicemail-{voicemail.pk}")
    expect(row).to_contain_text(demo.phone_number)
    loaded = row.locator("audio").evaluate(WAIT_FOR_METADATA)
    assert loaded["readyState"] >= 1
    assert abs(loaded["duration"] - voicemail.duration_ms / 1000) < 0.05
    _screenshot(page, "voice-real-call-voicemail")
    page.context.close()
