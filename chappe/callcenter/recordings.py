"""Recorded conversations (a queue that records its calls): kept with their call record,
played and deleted from the web app and the API, and deleted for good after
`CHAPPE_RECORDING_KEEP_DAYS` (183 by default: the six months the CNIL gives as the
longest a call recording may be kept for training and quality, in its guidance on
recording calls at work); erasures and the termination purge delete them sooner
(chappe/callcenter/retention.py). Voicemails follow their own setting."""

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.callcenter.models import CallRecord, CallRecording, Voicemail
from chappe.callcenter.selectors import call_get
from chappe.callcenter.voicemails import recorded_forget
from chappe.common.errors import NotFound
from chappe.voice.media.prompts import SAMPLE_RATE


def recording_keep(*, record: CallRecord, wav: Path, data_dir: Path) -> CallRecording:
    """File the engine's stereo WAV `wav` under the data dir, for `record`."""
    relative = f"voice/recordings/{record.account_id}/{record.pk}.wav"
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(wav, target)
    frames = max(target.stat().st_size - 44, 0) // 4  # 16-bit stereo after the header
    return CallRecording.objects.create(account_id=record.account_id, call=record,
                                        path=relative,
                                        duration_ms=frames * 1000 // SAMPLE_RATE)


def recording_get(*, account: Account, call_id: Any) -> CallRecording:
    recording = CallRecording.objects.filter(
        account=account, call=call_get(account=account, call_id=call_id)).first()
    if recording is None:
        raise NotFound()
    return recording


@transaction.atomic
def recording_delete(*, actor: Actor, account: Account, call_id: Any) -> None:
    """Delete a call's recording (row and file); the call record stays (C-10)."""
    actor.require(Perm.CALLS_HANDLE)
    recording = recording_get(account=account, call_id=call_id)
    recorded_forget(rows=CallRecording.objects.filter(pk=recording.pk))
    audit_record(actor=actor, account=account, action="callcenter.recording.delete",
                 target=recording.call)


@transaction.atomic
def recordings_expire(*, now=None) -> int:
    """Delete the recordings older than the operator's `CHAPPE_RECORDING_KEEP_DAYS` (a
    periodic job)."""
    before = (now or timezone.now()) - timedelta(days=settings.CHAPPE_RECORDING_KEEP_DAYS)
    return recorded_forget(rows=CallRecording.objects.filter(created_at__lt=before))


@transaction.atomic
def voicemails_expire(*, now=None) -> int:
    """Delete the voicemails older than the operator's `CHAPPE_VOICEMAIL_KEEP_DAYS` (0, the
    default: kept for the contract, deleted by erasures and the termination purge); their
    call records stay, the proof between the parties (C-10). A periodic job."""
    days = settings.CHAPPE_VOICEMAIL_KEEP_DAYS
    if days <= 0:
        return 0
    before = (now or timezone.now()) - timedelta(days=days)
    return recorded_forget(rows=Voicemail.objects.filter(created_at__lt=before))
