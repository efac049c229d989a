"""TTS voice messages (M-1): submit, claim due calls (the engine), record outcomes —
billed per answered call through the money engine, reported by webhook like SMS."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.billing.rating import Product
from chappe.billing.services import usage_charge
from chappe.callcenter.models import (
    CallRecord,
    VoiceCallStatus,
    VoiceMessage,
    VoiceMessageCall,
)
from chappe.common.errors import ChappeError, ValidationFailed
from chappe.common.leases import rows_lock
from chappe.common.lookup import get_or_404
from chappe.common.numbers import InvalidNumber, normalize, number_facts
from chappe.voice.callstate import seconds_between
from chappe.voice.flows import Prompt
from chappe.webhooks.selectors import webhook_url
from chappe.webhooks.services import EventDraft, webhooks_emit

logger = logging.getLogger(__name__)

MAX_RECIPIENTS = 1000
# A claimed call that never reported back (engine crash) is retried after this.
CLAIM_TIMEOUT = timedelta(minutes=10)


def _e164(number: str, *, default_country: str) -> str:
    try:
        return normalize(number, default_country=default_country).e164
    except InvalidNumber:
        return ""


@transaction.atomic
def voice_message_submit(*, actor: Actor, account: Account, recipients: list[str], text: str,
                         language: str = "fr", voice: str = "", repeat: int = 1,
                         send_at: datetime | None = None, callback_url: str = "",
                         caller_id: str = "") -> VoiceMessage:
    actor.require(Perm.MESSAGING_SEND)
    service_require(account=account, kind=ServiceKind.MESSAGING)
    errors: dict[str, list[str]] = {}
    numbers = [_e164(r, default_country=account.default_country) for r in recipients]
    bad = [r for r, n in zip(recipients, numbers, strict=True) if not n]
    if bad:
        errors["recipients"] = [_("Not a valid phone number: %s") % r for r in bad[:20]]
    if not recipients or len(recipients) > MAX_RECIPIENTS:
        errors["recipients"] = [_("1 to %d numbers") % MAX_RECIPIENTS]
    try:
        Prompt(text=text, language=language, voice=voice or None)
    except ValueError as exc:
        errors["text"] = [str(exc).splitlines()[0]]
    if not 1 <= repeat <= 5:
        errors["repeat"] = [_("1 to 5")]
    if errors:
        raise ValidationFailed(details=errors)
    when = send_at or timezone.now()
    message = VoiceMessage.objects.create(
        account=account, text=text, language=language, voice=voice, repeat=repeat,
        send_at=when, callback_url=callback_url, caller_id=caller_id)
    VoiceMessageCall.objects.bulk_create([
        VoiceMessageCall(account=account, message=message, recipient=number, send_at=when)
        for number in dict.fromkeys(numbers)])
    return message


def voice_message_get(*, account: Account, message_id: Any) -> VoiceMessage:
    return get_or_404(VoiceMessage.objects.filter(account=account), message_id)


def voice_calls_claim(*, limit: int = 50, now: datetime | None = None) -> list[VoiceMessageCall]:
    """Due calls, marked `calling` (and stale claims taken back), for one engine. Rows
    another engine is claiming are skipped (`rows_lock`), so engines share the table."""
    now = now or timezone.now()
    with transaction.atomic():
        due = rows_lock(VoiceMessageCall.objects.filter(
            status=VoiceCallStatus.QUEUED, send_at__lte=now).order_by("send_at"), limit=limit)
        stale = rows_lock(VoiceMessageCall.objects.filter(
            status=VoiceCallStatus.CALLING, claimed_at__lt=now - CLAIM_TIMEOUT), limit=limit)
        claimed = due + stale
        VoiceMessageCall.objects.filter(pk__in=[c.pk for c in claimed]).update(
            status=VoiceCallStatus.CALLING, claimed_at=now)
    return list(VoiceMessageCall.objects.filter(pk__in=[c.pk for c in claimed])
                .select_related("message"))


def voice_call_finish(*, call_id: Any, status: str, sip_status: int,
                      answered_at: datetime | None, ended_at: datetime | None,
                      started_at: datetime, sip_call_id: str = "") -> VoiceMessageCall:
    """Record the outcome: call record, charge (answered calls: product `tts`, one per
    call), webhook `voice_message.status`."""
    with transaction.atomic():
        call = VoiceMessageCall.objects.select_for_update().select_related(
            "message", "account").get(pk=call_id)
        if call.status != VoiceCallStatus.CALLING:
            return call  # already reported
        message = call.message
        record = CallRecord.objects.create(
            account=call.account, sip_call_id=sip_call_id or f"vm:{call.pk}",
            direction="outbound", from_number=message.caller_id, to_number=call.recipient,
            started_at=started_at, answered_at=answered_at, ended_at=ended_at or started_at,
            duration_seconds=seconds_between(answered_at, ended_at), disposition=status,
            hangup_cause=str(sip_status), flow_path=["voice_message"])
        call.status, call.sip_status, call.call = status, sip_status, record
        call.save(update_fields=["status", "sip_status", "call", "updated_at"])
        if answered_at is not None:
            facts = number_facts(call.recipient)
            country = facts.country if facts else ""
            try:
                with transaction.atomic():
                    usage_charge(account=call.account, product=Product.TTS, quantity=1,
                                 destination_country=country or "",
                                 cause_type="callcenter.voicemessagecall", cause_id=str(call.pk),
                                 idempotency_key=f"voicemsg:{call.pk}", occurred_at=ended_at)
                    CallRecord.objects.filter(pk=record.pk).update(billed=True)
            except ChappeError:
                # The call happened: keep its record unbilled (billed=False) for the operator
                # rather than calling the recipient again.
                logger.exception("voice message call %s could not be charged", call.pk)
        url = webhook_url(account_id=call.account_id, callback_url=message.callback_url)
        webhooks_emit([EventDraft(
            account_id=call.account_id, url=url, type="voice_message.status",
            subject_id=str(call.pk),
            payload={"message_id": str(message.pk), "call_id": str(call.pk),
                     "recipient": call.recipient, "status": status,
                     "duration_seconds": record.duration_seconds})])
    return call
