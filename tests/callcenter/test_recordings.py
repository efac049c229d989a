"""Recorded conversations at rest: the stereo file the engine writes, filed with its call
record, kept six months, deleted by a recipient's erasure and never shown to another
account."""

import array
import wave
from datetime import UTC, datetime, timedelta

import pytest

from chappe.callcenter.models import CallRecord, CallRecording, Voicemail
from chappe.callcenter.recordings import (
    recording_get,
    recording_keep,
    recordings_expire,
    voicemails_expire,
)
from chappe.callcenter.retention import calls_erase_number
from chappe.common.errors import NotFound
from chappe.voice.recording import AGENT, CALLER, CallRecorder

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CALLER_NUMBER = "+33612345678"


def test_the_recorder_writes_both_sides_as_one_stereo_wav(tmp_path):
    recorder = CallRecorder(tmp_path)
    recorder.frame(CALLER, array.array("h", [1000] * 160).tobytes())
    recorder.frame(AGENT, array.array("h", [-7] * 160).tobytes())
    recorder.frame(CALLER, array.array("h", [2000] * 160).tobytes())  # the agent fell silent
    path = recorder.finish()
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        samples = array.array("h", wav.readframes(wav.getnframes()))
    assert list(samples[0::2]) == [1000] * 160 + [2000] * 160
    assert list(samples[1::2]) == [-7] * 160 + [0] * 160  # padded with silence
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".wav"]  # the sides are gone


def test_a_silent_call_leaves_no_file(tmp_path):
    assert CallRecorder(tmp_path).finish() is None
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def recorded(settings, tmp_path, account):
    """A call record of `account` from CALLER_NUMBER with its recording filed."""
    settings.DATA_DIR = tmp_path

    def make(at=T0, owner=None):
        owner = owner or account
        record = CallRecord.objects.create(account=owner, sip_call_id=f"c{at.timestamp()}",
                                           direction="inbound", from_number=CALLER_NUMBER,
                                           to_number="+33189000001", started_at=at)
        recorder = CallRecorder(tmp_path)
        recorder.frame(CALLER, b"\1\0" * 8000)
        recording = recording_keep(record=record, wav=recorder.finish(), data_dir=tmp_path)
        CallRecording.objects.filter(pk=recording.pk).update(created_at=at)
        return recording

    return make


def test_a_recording_is_filed_with_its_call_and_kept_six_months(recorded, tmp_path, db,
                                                               settings):
    RECORDING_DAYS = settings.CHAPPE_RECORDING_KEEP_DAYS
    assert RECORDING_DAYS == 183
    recording = recorded()
    assert recording.duration_ms == 1000
    path = tmp_path / recording.path
    assert path.exists()
    assert recordings_expire(now=T0 + timedelta(days=RECORDING_DAYS - 1)) == 0
    assert recordings_expire(now=T0 + timedelta(days=RECORDING_DAYS, seconds=1)) == 1
    assert not CallRecording.objects.exists()
    assert CallRecord.objects.filter(pk=recording.call_id).exists()  # the proof stays (C-10)


def test_a_callers_erasure_deletes_their_recorded_conversations(
        recorded, account, tmp_path, django_capture_on_commit_callbacks):
    recording = recorded()
    with django_capture_on_commit_callbacks(execute=True):
        report = calls_erase_number(account=account, number=CALLER_NUMBER)
    assert report["call_recordings"] == 1
    assert not CallRecording.objects.filter(pk=recording.pk).exists()
    assert not (tmp_path / recording.path).exists()


def test_another_account_never_reaches_a_recording(recorded, other_account, account):
    recording = recorded()
    with pytest.raises(NotFound):
        recording_get(account=other_account, call_id=recording.call_id)
    assert recording_get(account=account, call_id=recording.call_id) == recording


def test_voicemails_are_kept_by_their_own_setting(settings, tmp_path, account):
    """0 (the default): kept for the contract; N days: deleted after N days, their call
    records kept (C-10)."""
    settings.DATA_DIR = tmp_path
    record = CallRecord.objects.create(account=account, sip_call_id="vm-1",
                                       direction="inbound", from_number=CALLER_NUMBER,
                                       to_number="+33189000001", started_at=T0)
    (tmp_path / "vm.wav").write_bytes(b"RIFF")
    voicemail = Voicemail.objects.create(account=account, call=record, path="vm.wav")
    Voicemail.objects.filter(pk=voicemail.pk).update(created_at=T0)
    assert voicemails_expire(now=T0 + timedelta(days=3650)) == 0
    settings.CHAPPE_VOICEMAIL_KEEP_DAYS = 30
    assert voicemails_expire(now=T0 + timedelta(days=30)) == 0
    assert voicemails_expire(now=T0 + timedelta(days=30, seconds=1)) == 1
    assert not Voicemail.objects.exists()
    assert CallRecord.objects.filter(pk=record.pk).exists()
