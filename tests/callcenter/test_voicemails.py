"""A recorded voicemail is announced: e-mailed (WAV attached, or linked when large) to the
users who asked for it, through the job queue, once; and sent as a signed
`voicemail.new` webhook to the account's URL. Plus the voicemail API writes."""

import wave
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.db import transaction

from chappe.accounts.roles import Role
from chappe.billing.periods import zone
from chappe.callcenter import voicemails as voicemails_module
from chappe.callcenter.models import CallRecord, Voicemail, VoicemailAlert
from chappe.callcenter.services import call_records_store
from chappe.queue.jobs import jobs_run_due
from chappe.queue.models import Job
from chappe.webhooks.models import WebhookEvent, WebhookStatus
from chappe.webhooks.services import webhook_settings_for
from tests.webhooks.test_delivery import receiver_for  # noqa: F401

PARIS = zone("Europe/Paris")
WHEN = datetime(2026, 5, 4, 10, 30, tzinfo=PARIS)


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.PUBLIC_URL = "https://chappe.example"
    return tmp_path


def record_voicemail(account, data_dir: Path, seconds: float = 2.0) -> Voicemail:
    """What the voice engine does at the end of a call that reached voicemail: the
    recording written, then the call and its voicemail stored by the service."""
    call = CallRecord(
        account=account, sip_call_id=f"vm-{seconds}", direction="inbound",
        from_number="+33600000001", to_number="+33189000040", started_at=WHEN,
        answered_at=WHEN, ended_at=WHEN + timedelta(seconds=20), duration_seconds=20,
        disposition="voicemail", flow_path=["welcome", "vm"])
    relative = f"voice/voicemails/{account.pk}/{call.pk}.wav"
    (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(data_dir / relative), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x20\x00" * int(8000 * seconds))
    voicemail = Voicemail(account=account, call=call, path=relative,
                          duration_ms=int(seconds * 1000))
    call_records_store(records=[call], voicemails=[voicemail])
    return voicemail


def test_opted_in_users_get_an_email_with_the_recording(account, make_user, data_dir):
    wanted = make_user(account, email="ines@acme.example", role=Role.AGENT, language="fr")
    make_user(account, email="quiet@acme.example")  # did not opt in
    gone = make_user(account, email="gone@acme.example", role=Role.SUPERVISOR)
    texter = make_user(account, email="sms@acme.example", role=Role.MESSAGING_USER)
    for user in (wanted, gone, texter):
        VoicemailAlert.objects.create(account=account, user=user)
    gone.is_active = False
    gone.save()
    voicemail = record_voicemail(account, data_dir)
    assert Job.objects.filter(name="callcenter.voicemail_email").count() == 1
    jobs_run_due(worker="test")
    [message] = mail.outbox
    assert message.to == ["ines@acme.example"]  # active, opted in, allowed to handle calls
    assert message.subject == "Nouveau message vocal de +33600000001 sur +33189000040"
    assert "+33600000001" in message.body
    assert "+33189000040" in message.body
    assert "4 mai 2026 10:30" in message.body  # the account's time zone, French
    assert "2 secondes" in message.body
    assert f"https://chappe.example/voice/calls/{voicemail.call_id}/" in message.body
    [(name, content, mimetype)] = message.attachments
    assert (name, mimetype) == ("voicemail-33600000001.wav", "audio/wav")
    assert content == (data_dir / voicemail.path).read_bytes()
    voicemail.refresh_from_db()
    assert voicemail.emailed_at is not None
    # At least once, but mailed once: a retry after success sends nothing.
    assert voicemails_module.voicemail_email_send(voicemail_id=voicemail.pk) == 0
    assert len(mail.outbox) == 1


def test_a_long_recording_is_linked_not_attached(account, make_user, data_dir, monkeypatch):
    user = make_user(account, email="ada@acme.example")
    VoicemailAlert.objects.create(account=account, user=user)
    monkeypatch.setattr(voicemails_module, "MAX_ATTACHMENT_BYTES", 1000)
    voicemail = record_voicemail(account, data_dir)
    assert voicemails_module.voicemail_email_send(voicemail_id=voicemail.pk) == 1
    [message] = mail.outbox
    assert message.attachments == []
    assert "attached" not in message.body
    assert f"/voice/calls/{voicemail.call_id}/" in message.body


def test_nobody_opted_in_sends_nothing_but_marks_it_done(account, data_dir):
    voicemail = record_voicemail(account, data_dir)
    jobs_run_due(worker="test")
    assert mail.outbox == []
    voicemail.refresh_from_db()
    assert voicemail.emailed_at is not None


def test_a_rolled_back_voicemail_announces_nothing(account, data_dir):
    def engine_fails_after_storing_it():
        with transaction.atomic():
            record_voicemail(account, data_dir)
            raise RuntimeError("the engine's transaction failed")

    with pytest.raises(RuntimeError):
        engine_fails_after_storing_it()
    assert not Job.objects.filter(name="callcenter.voicemail_email").exists()
    assert not WebhookEvent.objects.exists()


def test_voicemail_new_webhook_reaches_the_accounts_url(account, data_dir,
                                                        receiver_for):  # noqa: F811
    receiver = receiver_for()
    settings = webhook_settings_for(account=account)
    settings.default_url = receiver.url
    settings.save()
    voicemail = record_voicemail(account, data_dir)
    [event] = WebhookEvent.objects.filter(account=account, type="voicemail.new")
    assert event.subject_id == str(voicemail.pk)
    jobs_run_due(worker="test")
    event.refresh_from_db()
    assert event.status == WebhookStatus.DELIVERED
    data = receiver.accepted[str(event.id)]["data"]
    assert data == {
        "voicemail_id": str(voicemail.pk), "call_id": str(voicemail.call_id),
        "from": "+33600000001", "to": "+33189000040",
        "received_at": (WHEN + timedelta(seconds=20)).isoformat(),
        "duration_seconds": 2.0,
        "audio_url": f"https://chappe.example/api/v1/voicemails/{voicemail.pk}/audio"}
    assert receiver.requests[0]["valid"]


def test_no_webhook_without_a_url(account, data_dir):
    record_voicemail(account, data_dir)
    assert not WebhookEvent.objects.exists()


def test_voicemail_api_marks_and_deletes(api, account, data_dir,
                                         django_capture_on_commit_callbacks):
    voicemail = record_voicemail(account, data_dir)
    response = api.patch(f"/api/v1/voicemails/{voicemail.pk}", {"listened": True})
    assert response.status_code == 200
    assert response.json()["listened"] is True
    path = data_dir / voicemail.path
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/voicemails/{voicemail.pk}").status_code == 204
    assert not path.exists()
    assert CallRecord.objects.filter(pk=voicemail.call_id).exists()
    assert api.get(f"/api/v1/voicemails/{voicemail.pk}/audio").status_code == 404
