"""Voicemails (C-3): announced when recorded, listened to, deleted; e-mailed on request.

Why the announcement is written with the voicemail: the service that stores the voice
engine's calls (`services.call_records_store`, run by the engine's directory) calls
`voicemail_announce` in the transaction that inserts the row, so the e-mail job and the
`voicemail.new` webhook are written with it (outbox) and leave only after commit — never
lost, never sent for a voicemail that was rolled back.
"""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm, role_allows
from chappe.audit.services import audit_record
from chappe.callcenter.models import Voicemail, VoicemailAlert
from chappe.callcenter.notices import mail_send, user_recipient
from chappe.callcenter.selectors import data_file, voicemail_get
from chappe.common.errors import NotFound, ValidationFailed
from chappe.queue.jobs import job_enqueue
from chappe.webhooks.services import EventDraft, webhook_settings_for, webhooks_emit

logger = logging.getLogger(__name__)

# Bigger recordings are linked, not attached (8 kHz 16-bit mono: ~10 minutes).
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
EMAIL_JOB = "callcenter.voicemail_email"


def voicemail_payload(voicemail: Voicemail) -> dict[str, Any]:
    """What the `voicemail.new` webhook says (and the e-mail shows)."""
    call = voicemail.call
    return {
        "voicemail_id": str(voicemail.pk),
        "call_id": str(call.pk),
        "from": call.from_number,
        "to": call.to_number,
        "received_at": (call.ended_at or call.started_at).isoformat(),
        "duration_seconds": round(voicemail.duration_ms / 1000, 1),
        "audio_url": settings.PUBLIC_URL + f"/api/v1/voicemails/{voicemail.pk}/audio",
    }


def voicemail_announce(*, voicemail: Voicemail) -> None:
    """Queue the e-mail to the users who asked for it and the `voicemail.new` webhook to
    the account's default URL, in the caller's transaction."""
    job_enqueue(name=EMAIL_JOB, payload={"voicemail": str(voicemail.pk)},
                unique_key=f"voicemail-email:{voicemail.pk}")
    url = webhook_settings_for(account=voicemail.account).default_url
    webhooks_emit([EventDraft(account_id=voicemail.account_id, url=url, type="voicemail.new",
                              subject_id=str(voicemail.pk),
                              payload=voicemail_payload(voicemail))])


def _alert_users(account: Account) -> list:
    """Active users of the account who asked for e-mails and may still handle calls."""
    return [alert.user for alert in VoicemailAlert.objects.filter(
        account=account, user__account=account, user__is_active=True).select_related("user")
        if role_allows(alert.user.role, Perm.CALLS_HANDLE)]


def voicemail_email_send(*, voicemail_id: Any, now: datetime | None = None) -> int:
    """The job: e-mail the voicemail (WAV attached when small enough, always a link) to
    every user who asked for it; returns how many e-mails left. Runs at least once: the
    `emailed_at` mark keeps a retried job from mailing twice once it succeeded."""
    voicemail = (Voicemail.objects.select_related("call", "account")
                 .filter(pk=voicemail_id, emailed_at__isnull=True).first())
    if voicemail is None:
        return 0  # deleted meanwhile, or already e-mailed
    users = _alert_users(voicemail.account)
    attachments = []
    try:
        path = data_file(voicemail.path)
    except NotFound:
        logger.warning("voicemail %s: the recording %s is missing", voicemail.pk,
                       voicemail.path)
    else:
        if path.stat().st_size <= MAX_ATTACHMENT_BYTES:
            attachments.append((f"voicemail-{voicemail.call.from_number.lstrip('+')}.wav",
                                path.read_bytes(), "audio/wav"))
    context = {
        "voicemail": voicemail, "call": voicemail.call, "account": voicemail.account,
        "seconds": round(voicemail.duration_ms / 1000),
        "url": settings.PUBLIC_URL + reverse("web:call_detail", args=[voicemail.call_id]),
        "attached": bool(attachments),
    }
    sent = mail_send(account=voicemail.account, recipients=[user_recipient(u) for u in users],
                     template="voicemail", context=context, attachments=attachments)
    Voicemail.objects.filter(pk=voicemail.pk).update(emailed_at=now or timezone.now())
    return sent


@transaction.atomic
def voicemail_mark(*, actor: Actor, account: Account, voicemail_id: Any,
                   listened: bool = True) -> Voicemail:
    actor.require(Perm.CALLS_HANDLE)
    voicemail = voicemail_get(account=account, voicemail_id=voicemail_id)
    if voicemail.listened != listened:
        voicemail.listened = listened
        voicemail.save(update_fields=["listened"])
    return voicemail


def unlink_later(relative: str) -> None:
    """Remove a file under the data dir once the transaction that forgot it commits."""

    def unlink() -> None:
        try:
            data_file(relative).unlink(missing_ok=True)
        except (NotFound, OSError):
            logger.warning("could not remove %s", relative)

    transaction.on_commit(unlink)


@transaction.atomic
def voicemail_delete(*, actor: Actor, account: Account, voicemail_id: Any) -> None:
    """Delete the recording (row and WAV file); the call record stays (C-10)."""
    actor.require(Perm.CALLS_HANDLE)
    voicemail = voicemail_get(account=account, voicemail_id=voicemail_id)
    audit_record(actor=actor, account=account, action="callcenter.voicemail.delete",
                 target=voicemail, details={"call": str(voicemail.call_id)})
    unlink_later(voicemail.path)
    voicemail.delete()


def recorded_forget(*, rows) -> int:
    """Delete recorded audio — voicemails, call recordings: rows, then their files once
    the transaction commits — for the privacy purges and retention."""
    paths = list(rows.values_list("path", flat=True))
    deleted, _detail = rows.delete()
    for relative in paths:
        unlink_later(relative)
    return deleted


@transaction.atomic
def voicemail_alert_set(*, actor: Actor, account: Account, enabled: bool) -> bool:
    """The signed-in user asks for (or stops) an e-mail for each new voicemail."""
    actor.require(Perm.CALLS_HANDLE)
    if actor.user is None or actor.user.account_id != account.pk:
        raise ValidationFailed(_("Only a user of this account can ask for voicemail e-mails."))
    if enabled:
        VoicemailAlert.objects.get_or_create(user=actor.user, defaults={"account": account})
    else:
        VoicemailAlert.objects.filter(user=actor.user).delete()
    return enabled

