"""Contact-center pages: numbers (catalogue, buy, assign, release, port-out), the call
flow editor (steps, errors by step, renames, JSON, versions, listen), recordings,
voicemails (playback, listened, delete, e-mail opt-in), the call history (filters,
detail, CSV), permissions and tenancy."""

import csv
import io
import json
import wave
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse

from chappe.accounts.actor import SYSTEM
from chappe.accounts.roles import Role
from chappe.agents.services.setup import queue_create
from chappe.billing.periods import local_date, month_end, zone
from chappe.callcenter.models import (
    AudioPrompt,
    CallFlow,
    CallRecord,
    NumberRental,
    NumberStatus,
    PhoneNumber,
    RentalStatus,
    Voicemail,
    VoicemailAlert,
)
from chappe.callcenter.services import (
    DEMO_FLOW,
    catalogue_number_add,
    flow_create,
    number_assign,
    number_buy,
)
from tests.web.support import client_for

HTMX = {"HX-Request": "true"}
PARIS = zone("Europe/Paris")


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def catalogue(db):
    return [catalogue_number_add(e164=e164, number_type=kind, monthly_price_micros=2_000_000)
            for e164, kind in [("+33189000030", "geographic"), ("+33800000030", "toll_free")]]


@pytest.fixture
def flow(account):
    return flow_create(actor=SYSTEM.on(account), account=account, name="Accueil",
                       definition=DEMO_FLOW)


@pytest.fixture
def rental(funded_account, catalogue, flow):
    actor = SYSTEM.on(funded_account)
    rental = number_buy(actor=actor, account=funded_account, number_id=catalogue[0].pk)
    return number_assign(actor=actor, account=funded_account, rental_id=rental.pk,
                         flow_id=flow.pk)


def write_wav(path: Path, seconds: float = 1.5) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x10\x00" * int(8000 * seconds))


def make_call(account, *, when=datetime(2026, 5, 4, 10, tzinfo=PARIS), **fields):
    data = {"sip_call_id": f"c-{when.timestamp()}-{fields.get('from_number', '')}",
            "direction": "inbound", "from_number": "+33600000001", "to_number": "+33189000030",
            "started_at": when, "answered_at": when, "ended_at": when + timedelta(seconds=42),
            "duration_seconds": 42, "disposition": "voicemail",
            "flow_path": ["welcome", "menu", "voicemail"], "digits": "1",
            "transitions": [{"at": when.isoformat(), "from": "ringing", "to": "answered",
                             "why": "200 OK"}]}
    data.update(fields)
    return CallRecord.objects.create(account=account, **data)


@pytest.fixture
def voicemail(account, data_dir):
    call = make_call(account)
    relative = f"voice/voicemails/{account.pk}/{call.pk}.wav"
    write_wav(data_dir / relative)
    return Voicemail.objects.create(account=account, call=call, path=relative,
                                    duration_ms=1500)


# --- access -----------------------------------------------------------------------------------

PAGES = ["web:numbers", "web:number_catalogue", "web:flows", "web:flow_new", "web:voicemails",
         "web:calls"]


@pytest.mark.parametrize("name", PAGES)
def test_pages_render_for_an_administrator_and_need_login(web, client, name):
    assert web.get(reverse(name)).status_code == 200
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_roles(account, make_user):
    agent = client_for(make_user(account, role=Role.AGENT))
    for name in ("web:numbers", "web:number_catalogue", "web:flows", "web:flow_new"):
        assert agent.get(reverse(name)).status_code == 403
    for name in ("web:voicemails", "web:calls"):
        assert agent.get(reverse(name)).status_code == 200
    home = agent.get(reverse("web:home")).content.decode()
    assert f'href="{reverse("web:calls")}"' in home  # the menu leads agents to the calls
    texter = client_for(make_user(account, role=Role.MESSAGING_USER))
    assert texter.get(reverse("web:calls")).status_code == 403
    assert "Contact center" not in texter.get(reverse("web:home")).content.decode()
    supervisor = client_for(make_user(account, role=Role.SUPERVISOR))
    assert supervisor.get(reverse("web:flows")).status_code == 200
    # The port-out export names the holder: administrators only.
    assert supervisor.get(reverse("web:number_port_out")).status_code == 403


# --- numbers ----------------------------------------------------------------------------------


def test_catalogue_shows_prices_and_buys_from_prepaid_credit(web, funded_account, catalogue):
    page = web.get(reverse("web:number_catalogue"), {"number_type": "toll_free"})
    html = page.content.decode()
    assert "+33800000030" in html
    assert "+33189000030" not in html
    assert "2.00\xa0EUR" in html  # the monthly price
    assert "Due now" in html  # no subscription: the rest of this month is paid now
    response = web.post(reverse("web:number_catalogue"), {"number_id": catalogue[1].pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:numbers")
    rental = NumberRental.objects.get(account=funded_account)
    assert (rental.number_id, rental.billing) == (catalogue[1].pk, "prepaid")
    numbers = web.get(reverse("web:numbers")).content.decode()
    assert "+33800000030" in numbers
    assert "is yours" in numbers
    # Paid through the last day of this month (the 1st of the next is when it renews).
    last_day = month_end(local_date(rental.started_at, PARIS))
    assert f"paid until {date_filter(last_day, 'SHORT_DATE_FORMAT')}" in numbers


def test_buying_without_credit_says_why_with_the_amounts(web, account, catalogue, price_list):
    response = web.post(reverse("web:number_catalogue"), {"number_id": catalogue[0].pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="buy-refusal"' in html
    assert "your usable credit is 0.00\xa0EUR" in html
    assert reverse("web:credit_buy") in html
    assert not NumberRental.objects.exists()
    assert PhoneNumber.objects.get(pk=catalogue[0].pk).status == NumberStatus.AVAILABLE


def test_assign_a_flow_with_htmx_and_without(web, rental, funded_account):
    other = flow_create(actor=SYSTEM.on(funded_account), account=funded_account,
                        name="Nuit", definition=DEMO_FLOW)
    url = reverse("web:number_assign", args=[rental.pk])
    row = web.post(url, {"flow_id": other.pk}, headers=HTMX)
    assert row.status_code == 200
    assert row.content.decode().lstrip().startswith(f'<tr id="number-{rental.pk}"')
    assert "Saved" in row.content.decode()
    rental.refresh_from_db()
    assert rental.flow_id == other.pk
    assert web.post(url, {"flow_id": ""}).status_code == 302
    rental.refresh_from_db()
    assert rental.flow_id is None


def test_release_asks_first(web, rental, catalogue):
    url = reverse("web:number_release", args=[rental.pk])
    assert "Release the number" in web.get(url).content.decode()
    rental.refresh_from_db()
    assert rental.status == RentalStatus.ACTIVE
    assert web.post(url).status_code == 302
    rental.refresh_from_db()
    assert rental.status == RentalStatus.RELEASED
    assert PhoneNumber.objects.get(pk=catalogue[0].pk).status == NumberStatus.AVAILABLE
    page = web.get(reverse("web:numbers")).content.decode()
    assert "Former numbers" in page


def test_port_out_export(web, rental, funded_account):
    response = web.get(reverse("web:number_port_out"))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "number"
    assert rows[1][0] == "+33189000030"
    assert rows[1][3] == funded_account.name


# --- the flow editor ----------------------------------------------------------------------------


BASE = {
    "name": "Standard", "start": "welcome", "steps": ["n0", "n1", "n2"],
    "n0-type": "play", "n0-name": "welcome", "n0-was": "welcome",
    "n0-prompt-source": "tts", "n0-prompt-text": "Bonjour", "n0-prompt-language": "fr",
    "n0-next": "menu",
    "n1-type": "menu", "n1-name": "menu", "n1-was": "menu",
    "n1-prompt-source": "tts", "n1-prompt-text": "Tapez 1", "n1-prompt-language": "fr",
    "n1-opt-1": "vm", "n1-timeout_seconds": "5", "n1-max_retries": "2", "n1-on_failure": "vm",
    "n1-invalid_prompt-source": "tts", "n1-invalid_prompt-text": "Choix invalide",
    "n1-invalid_prompt-language": "fr", "n1-timeout_prompt-source": "",
    "n2-type": "voicemail", "n2-name": "vm", "n2-was": "vm", "n2-greeting-source": "tts",
    "n2-greeting-text": "Laissez un message", "n2-greeting-language": "en", "n2-beep": "on",
    "n2-max_seconds": "90", "n2-next": "",
}


def test_create_a_flow_step_by_step(web, account):
    url = reverse("web:flow_new")
    page = web.get(url).content.decode()
    assert 'id="step-n0"' in page  # a first message step to fill in
    response = web.post(url, {**BASE, "action": "save"})
    assert response.status_code == 302
    flow = CallFlow.objects.get(account=account)
    assert response["Location"] == reverse("web:flow_edit", args=[flow.pk])
    definition = flow.current.definition
    assert definition["start"] == "welcome"
    assert definition["nodes"]["welcome"] == {
        "type": "play", "next": "menu", "prompt": {"text": "Bonjour", "language": "fr"}}
    menu = definition["nodes"]["menu"]
    assert (menu["options"], menu["timeout_seconds"], menu["max_retries"]) == ({"1": "vm"}, 5, 2)
    assert menu["invalid_prompt"]["text"] == "Choix invalide"
    assert "timeout_prompt" not in menu
    assert definition["nodes"]["vm"]["greeting"] == {"text": "Laissez un message",
                                                     "language": "en"}
    assert (definition["nodes"]["vm"]["beep"], definition["nodes"]["vm"]["max_seconds"]) == (
        True, 90)
    # The saved flow reads back into the same form, and saving it again adds no version.
    page = web.get(response["Location"]).content.decode()
    assert 'value="Laissez un message"' not in page  # a textarea, not an input
    assert "Laissez un message</textarea>" in page
    assert web.post(response["Location"], {**BASE, "action": "save"}).status_code == 302
    assert flow.versions.count() == 1
    assert "Flow saved (no change)." in web.get(response["Location"]).content.decode()


def test_add_and_remove_steps_without_saving(web, account):
    url = reverse("web:flow_new")
    added = web.post(url, {**BASE, "action": "add:transfer"}, headers=HTMX)
    html = added.content.decode()
    assert 'id="step-n3"' in html
    assert 'name="n3-number"' in html
    assert 'value="transfer"' in html  # its name, offered to the other steps' targets
    removed = web.post(url, {**BASE, "action": "remove:n1"})
    assert 'id="step-n1"' not in removed.content.decode()
    assert not CallFlow.objects.exists()


def test_errors_are_shown_next_to_their_step(web, account):
    url = reverse("web:flow_new")
    bad = {**BASE, "n1-opt-1": "", "n1-timeout_seconds": "500", "steps": [*BASE["steps"], "n3"],
           "n3-type": "transfer", "n3-name": "out", "n3-number": "0612", "n3-on_failure": "",
           "n3-timeout_seconds": "30", "n0-prompt-text": "", "action": "save"}
    response = web.post(url, bad)
    assert response.status_code == 200
    html = response.content.decode()
    assert not CallFlow.objects.exists()
    assert "The flow was not saved" in html

    def step_html(key):
        start = html.index(f'id="step-{key}"')
        return html[start:html.index("</fieldset>\n", html.index(f"{key}-name", start))]

    assert "Write the text to read, or choose a recording." in step_html("n0") \
        or "This field is required." in step_html("n0")
    assert "This number is too large." in html[html.index('id="step-n1"'):]
    assert "Enter the number in international form" in html[html.index('id="step-n3"'):]


def test_renaming_a_step_renames_what_points_to_it(web, account):
    url = reverse("web:flow_new")
    renamed = {**BASE, "n2-name": "messagerie", "action": "refresh"}
    html = web.post(url, renamed, headers=HTMX).content.decode()
    assert '<option value="messagerie" selected>' in html
    assert 'value="vm"' not in html
    saved = web.post(url, {**BASE, "n2-name": "messagerie", "action": "save"})
    assert saved.status_code == 302
    definition = CallFlow.objects.get().current.definition
    assert definition["nodes"]["menu"]["options"] == {"1": "messagerie"}
    assert definition["nodes"]["menu"]["on_failure"] == "messagerie"


def test_save_with_htmx_redirects_the_page(web, account):
    response = web.post(reverse("web:flow_new"), {**BASE, "action": "save"},
                           headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("web:flow_edit",
                                              args=[CallFlow.objects.get().pk])


def test_opening_hours_step(web, account):
    form = {**BASE, "steps": ["n4", *BASE["steps"]], "start": "hours",
            "n4-type": "hours", "n4-name": "hours", "n4-was": "hours",
            "n4-timezone": "Europe/Paris", "n4-day-mon": "09:00-12:00, 14:00-18:00",
            "n4-day-sat": "", "n4-holidays": "2026-12-25, 2027-01-01", "n4-open": "welcome",
            "n4-closed": "vm", "action": "save"}
    assert web.post(reverse("web:flow_new"), form).status_code == 302
    hours = CallFlow.objects.get().current.definition["nodes"]["hours"]
    assert hours["weekly"] == {"mon": [["09:00", "12:00"], ["14:00", "18:00"]]}
    assert hours["holidays"] == ["2026-12-25", "2027-01-01"]
    page = web.get(reverse("web:flow_edit", args=[CallFlow.objects.get().pk])).content.decode()
    assert 'value="09:00-12:00, 14:00-18:00"' in page
    bad = {**form, "n4-day-mon": "9h-18h", "n4-timezone": "Mars/Olympus"}
    html = web.post(reverse("web:flow_edit", args=[CallFlow.objects.get().pk]),
                       bad).content.decode()
    step = html[html.index('id="step-n4"'):]
    assert "Unknown time zone." in step
    assert "is not HH:MM" in step


def test_json_view_versions_and_restore(web, account, flow):
    url = reverse("web:flow_edit", args=[flow.pk])
    page = web.get(url).content.decode()
    assert 'id="definition-json"' in page
    assert "&quot;start&quot;: &quot;welcome&quot;" in page
    changed = {**DEMO_FLOW, "start": "menu"}
    response = web.post(url, {"name": "Accueil", "action": "json",
                              "definition_json": json.dumps(changed)})
    assert response.status_code == 302
    assert flow.versions.count() == 2
    broken = web.post(url, {"name": "Accueil", "action": "json", "definition_json": "{nope"})
    assert "This is not valid JSON" in broken.content.decode()
    invalid = web.post(url, {"name": "Accueil", "action": "json",
                             "definition_json": json.dumps({**DEMO_FLOW, "start": "x"})})
    assert "Choose an existing step." in invalid.content.decode()
    page = web.get(url).content.decode()
    assert "2 versions" in page
    restored = web.post(url, {**BASE, "name": "Accueil", "action": "restore:1"})
    assert restored.status_code == 302
    flow.refresh_from_db()
    assert flow.current.version == 3
    assert flow.current.definition == flow.versions.get(version=1).definition


def test_delete_an_unused_flow_and_recording(web, account, flow, data_dir,
                                             django_capture_on_commit_callbacks):
    write_wav(data_dir / "voice/uploads/old.wav")
    prompt = AudioPrompt.objects.create(account=account, name="Old",
                                        path="voice/uploads/old.wav")
    url = reverse("web:flow_delete", args=[flow.pk])
    assert "Delete the flow" in web.get(url).content.decode()  # asks first
    assert web.post(url).status_code == 302
    assert not CallFlow.objects.filter(pk=flow.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(reverse("web:audio_prompt_delete", args=[prompt.pk]))
    assert response.status_code == 302
    assert not AudioPrompt.objects.filter(pk=prompt.pk).exists()
    assert not (data_dir / "voice/uploads/old.wav").exists()
    page = web.get(reverse("web:flows")).content.decode()
    assert "The recording “Old” was deleted." in page


def test_delete_a_flow_in_use_is_refused(web, rental, flow):
    response = web.post(reverse("web:flow_delete", args=[flow.pk]))
    assert response.status_code == 302
    assert "A number still uses this flow." in web.get(reverse("web:flows")).content.decode()
    assert CallFlow.objects.filter(pk=flow.pk).exists()


@pytest.mark.tools("espeak-ng", "sox")
def test_listen_renders_the_prompt(web, data_dir):
    response = web.get(reverse("web:prompt_listen"), {"text": "Bonjour", "language": "fr"})
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    body = b"".join(response.streaming_content)
    with wave.open(io.BytesIO(body)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        assert wav.getnframes() > 2000
    assert web.get(reverse("web:prompt_listen"), {"language": "fr"}).status_code == 400


@pytest.mark.tools("sox")
def test_recordings_upload_play_use_and_delete(web, account, data_dir):
    import subprocess

    source = data_dir / "hello.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(source), "synth", "1", "sine",
                    "440"], check=True)
    with source.open("rb") as handle:
        response = web.post(reverse("web:audio_prompt_upload"), {"name": "Jingle",
                                                                  "file": handle})
    assert response.status_code == 302
    prompt = AudioPrompt.objects.get(account=account)
    audio = web.get(reverse("web:audio_prompt_audio", args=[prompt.pk]))
    with wave.open(io.BytesIO(b"".join(audio.streaming_content))) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
    page = web.get(reverse("web:flow_new")).content.decode()
    assert f'<option value="{prompt.pk}">Jingle</option>' in page
    form = {**BASE, "n0-prompt-source": "audio", "n0-prompt-audio": str(prompt.pk),
            "action": "save"}
    assert web.post(reverse("web:flow_new"), form).status_code == 302
    played = CallFlow.objects.get().current.definition["nodes"]["welcome"]["prompt"]
    assert (played["audio_id"], "text" in played) == (str(prompt.pk), False)
    web.post(reverse("web:audio_prompt_delete", args=[prompt.pk]))
    assert AudioPrompt.objects.filter(pk=prompt.pk).exists()  # a flow plays it
    garbage = data_dir / "x.wav"
    garbage.write_bytes(b"not audio" * 50)
    with garbage.open("rb") as handle:
        refused = web.post(reverse("web:audio_prompt_upload"), {"name": "Bad", "file": handle})
    assert "Not an audio file we can read." in refused.content.decode()


# --- voicemails ---------------------------------------------------------------------------------


def test_voicemails_play_in_the_page(web, voicemail):
    html = web.get(reverse("web:voicemails")).content.decode()
    audio_url = reverse("web:voicemail_audio", args=[voicemail.pk])
    assert f'<audio controls preload="metadata" src="{audio_url}"' in html
    assert "+33600000001" in html
    assert "1.5\xa0s" in html
    response = web.get(audio_url)
    assert response["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(b"".join(response.streaming_content))) as wav:
        assert wav.getnframes() == 12000


def test_mark_listened_and_filter_the_new_ones(web, voicemail):
    url = reverse("web:voicemail_listened", args=[voicemail.pk])
    row = web.post(url, {"listened": "1"}, headers=HTMX).content.decode()
    assert "Mark as new" in row
    voicemail.refresh_from_db()
    assert voicemail.listened
    assert "No new voicemail." in web.get(reverse("web:voicemails"), {"unheard": "1"}) \
        .content.decode()
    web.post(url, {"listened": "0"})
    voicemail.refresh_from_db()
    assert not voicemail.listened


def test_delete_a_voicemail_removes_the_recording_keeps_the_call(
        web, voicemail, data_dir, django_capture_on_commit_callbacks):
    path = data_dir / voicemail.path
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(reverse("web:voicemail_delete", args=[voicemail.pk]),
                            headers=HTMX)
    assert response.status_code == 200
    assert response.content == b""
    assert not Voicemail.objects.filter(pk=voicemail.pk).exists()
    assert not path.exists()
    assert CallRecord.objects.filter(pk=voicemail.call_id).exists()


def test_voicemail_email_opt_in(web, admin, voicemail):
    assert "E-mail me each new voicemail" in web.get(reverse("web:voicemails")).content.decode()
    web.post(reverse("web:voicemail_alert"), {"enabled": "1"})
    assert VoicemailAlert.objects.filter(user=admin).exists()
    assert "Stop the e-mails" in web.get(reverse("web:voicemails")).content.decode()
    web.post(reverse("web:voicemail_alert"), {"enabled": "0"})
    assert not VoicemailAlert.objects.filter(user=admin).exists()


# --- call history ---------------------------------------------------------------------------------


def test_call_history_filters(web, account):
    make_call(account, from_number="+33600000001")
    make_call(account, when=datetime(2026, 5, 6, 10, tzinfo=PARIS), direction="outbound",
              from_number="+33189000030", to_number="+33612345678", disposition="answered")
    url = reverse("web:calls")

    def listed(**query):
        html = web.get(url, query).content.decode()
        return html.count('<tr id="call-')

    assert listed() == 2
    assert listed(direction="outbound") == 1
    assert listed(disposition="voicemail") == 1
    assert listed(number="06 12 34 56 78") == 1  # written nationally, found
    assert listed(since="2026-05-05") == 1
    assert listed(until="2026-05-04") == 1
    assert listed(since="2026-05-07") == 0


def test_call_detail_shows_legs_path_and_transitions(web, account, voicemail):
    call = voicemail.call
    leg = make_call(account, direction="outbound", parent=call, to_number="+33612345678",
                    disposition="answered", sip_call_id="leg-1")
    html = web.get(reverse("web:call_detail", args=[call.pk])).content.decode()
    assert "<code>welcome</code> → <code>menu</code> → <code>voicemail</code>" in html
    assert 'id="call-legs"' in html
    assert "+33612345678" in html
    assert "200 OK" in html  # a transition
    assert reverse("web:voicemail_audio", args=[voicemail.pk]) in html
    leg_html = web.get(reverse("web:call_detail", args=[leg.pk])).content.decode()
    assert reverse("web:call_detail", args=[call.pk]) in leg_html


def test_call_export_is_filtered_and_formula_safe(web, account):
    make_call(account, from_number="=HYPERLINK(\"x\")")
    make_call(account, when=datetime(2026, 5, 6, 10, tzinfo=PARIS), direction="outbound",
              sip_call_id="o-1")
    response = web.get(reverse("web:call_export"), {"direction": "inbound"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "direction", "from", "to"]
    assert len(rows) == 2
    assert rows[1][2] == "'=HYPERLINK(\"x\")"


def test_french(web, voicemail):
    html = web.get(reverse("web:voicemails"), headers={"Accept-Language": "fr"}) \
        .content.decode()
    assert "Messages vocaux" in html
    assert "Centre de contacts" in html


# --- tenancy ------------------------------------------------------------------------------------


def test_another_accounts_objects_answer_404(web, other_account, data_dir, buy_credits,
                                             catalogue):
    buy_credits(other_account, "10")
    actor = SYSTEM.on(other_account)
    flow = flow_create(actor=actor, account=other_account, name="Theirs", definition=DEMO_FLOW)
    rental = number_buy(actor=actor, account=other_account, number_id=catalogue[1].pk)
    call = make_call(other_account)
    relative = f"voice/voicemails/{other_account.pk}/{call.pk}.wav"
    write_wav(data_dir / relative)
    voicemail = Voicemail.objects.create(account=other_account, call=call, path=relative)
    prompt = AudioPrompt.objects.create(account=other_account, name="Theirs",
                                        path=relative)
    urls = [
        ("get", reverse("web:flow_edit", args=[flow.pk])),
        ("post", reverse("web:flow_edit", args=[flow.pk])),
        ("post", reverse("web:flow_delete", args=[flow.pk])),
        ("post", reverse("web:number_assign", args=[rental.pk])),
        ("post", reverse("web:number_release", args=[rental.pk])),
        ("get", reverse("web:audio_prompt_audio", args=[prompt.pk])),
        ("post", reverse("web:audio_prompt_delete", args=[prompt.pk])),
        ("get", reverse("web:voicemail_audio", args=[voicemail.pk])),
        ("post", reverse("web:voicemail_listened", args=[voicemail.pk])),
        ("post", reverse("web:voicemail_delete", args=[voicemail.pk])),
        ("get", reverse("web:call_detail", args=[call.pk])),
    ]
    for method, url in urls:
        assert getattr(web, method)(url).status_code == 404, url
    # Nor can one of our numbers be given their flow.
    assert CallFlow.objects.filter(pk=flow.pk).exists()
    assert Voicemail.objects.filter(pk=voicemail.pk, listened=False).exists()
    assert NumberRental.objects.get(pk=rental.pk).status == RentalStatus.ACTIVE
    for name in ("web:flows", "web:numbers", "web:voicemails", "web:calls"):
        html = web.get(reverse(name)).content.decode()
        assert "Theirs" not in html
        assert str(call.pk) not in html
        assert "+33800000030" not in html


def test_a_number_cannot_be_given_another_accounts_flow(web, rental, other_account):
    theirs = flow_create(actor=SYSTEM.on(other_account), account=other_account, name="Theirs",
                         definition=DEMO_FLOW)
    response = web.post(reverse("web:number_assign", args=[rental.pk]), {"flow_id": theirs.pk})
    assert response.status_code == 404
    rental.refresh_from_db()
    assert rental.flow_id != theirs.pk


def test_a_supervisor_manages_flows_but_cannot_buy_or_release_numbers(account, make_user,
                                                                       api_for):
    """C-7: supervisors get agents, statistics and call flows — not billed numbers."""
    supervisor = client_for(make_user(account, role=Role.SUPERVISOR))
    page = supervisor.get(reverse("web:numbers"))
    assert page.status_code == 200
    assert reverse("web:number_catalogue") not in page.content.decode()
    assert supervisor.get(reverse("web:number_catalogue")).status_code == 403
    api = api_for(account, Role.SUPERVISOR)
    assert api.post("/api/v1/numbers", {"number_id": 1}).status_code == 403
    assert api.get("/api/v1/numbers").status_code == 200


def test_a_queue_step_sends_callers_to_one_of_the_accounts_queues(web, account):
    queue = queue_create(actor=SYSTEM.on(account), account=account, fields={"name": "Support"})
    form = {**BASE, "steps": [*BASE["steps"], "n5"], "n1-opt-2": "support",
            "n5-type": "queue", "n5-name": "support", "n5-was": "support",
            "n5-queue_id": str(queue.pk), "n5-next": "vm", "action": "save"}
    assert web.post(reverse("web:flow_new"), form).status_code == 302
    flow = CallFlow.objects.get()
    assert flow.current.definition["nodes"]["support"] == {
        "type": "queue", "queue_id": str(queue.pk), "next": "vm"}
    page = web.get(reverse("web:flow_edit", args=[flow.pk])).content.decode()
    assert f'<option value="{queue.pk}" selected>Support</option>' in page
