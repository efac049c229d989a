"""What the contact center keeps when personal data goes (P-9, P-12, P-13, C-10).

Call records are the proof of usage between the parties (C-10) and stay 10 years, like
the usage records that bill them (their account key is PROTECT, so the privacy purge
keeps them: chappe/privacy/purge.py). What goes is what is only personal (`chappe.privacy`
calls these functions in its transactions):

* **Recipient erasure** (P-12, the approach of decision 0018): every copy of the number
  in the account's call records becomes `[erased]`, the digits its caller keyed and the
  agents' wrap-up notes of those calls (free text about the person) are cleared, and its
  voicemails and recorded conversations (their voice) are deleted with
  their files. The usage
  records keep what priced each call (countries, number type, seconds, amount) and never
  held the number. (TTS voice messages are messages: messaging erases them.)
* **Termination purge** (P-9, 3 months after termination): the numbers the account
  still held (kept for a port-out since the termination) go back to the catalogue;
  voicemails, recorded conversations and uploaded prompts are deleted with their files;
  in the call records that stay, third parties' numbers become `[erased]` — except the
  called number of an outbound leg that was billed, which is what a per-second charge is
  contested on (C-9, C-10) — and keyed digits and wrap-up notes are cleared. The
  account's own numbers stay: they are not personal data of a third party and name what
  was rented and billed.
"""

from chappe.accounts.models import Account
from chappe.callcenter.models import (
    RENTAL_HELD,
    AudioPrompt,
    CallRecord,
    CallRecording,
    Direction,
    NumberRental,
    NumberStatus,
    PhoneNumber,
    Voicemail,
)
from chappe.callcenter.voicemails import recorded_forget, unlink_later
from chappe.common.erasure import ERASED
from chappe.common.numbers import written_forms


def calls_erase_number(*, account: Account, number: str) -> dict[str, int]:
    """Erase a recipient's number from the contact-center data (see the module doc)."""
    forms = written_forms(number)  # as a trunk may have written it
    records = CallRecord.objects.filter(account=account)
    voicemails = recorded_forget(rows=Voicemail.objects.filter(
        account=account, call__from_number__in=forms))
    recordings = recorded_forget(rows=CallRecording.objects.filter(
        account=account, call__from_number__in=forms))
    callers = records.filter(from_number__in=forms).update(from_number=ERASED, digits="",
                                                           wrap_up_note="")
    called = records.filter(to_number__in=forms).update(to_number=ERASED, wrap_up_note="")
    return {"call_records": callers + called, "voicemails": voicemails,
            "call_recordings": recordings}


def callcenter_purge(*, account: Account) -> dict[str, int]:
    """Before the termination purge deletes the account's data (see the module doc)."""
    released = PhoneNumber.objects.filter(
        status=NumberStatus.RENTED, pk__in=NumberRental.objects.filter(
            account=account, status__in=RENTAL_HELD).values("number_id")).update(
        status=NumberStatus.AVAILABLE)
    voicemails = recorded_forget(rows=Voicemail.objects.filter(account=account))
    recordings = recorded_forget(rows=CallRecording.objects.filter(account=account))
    prompts = AudioPrompt.objects.filter(account=account)
    for relative in prompts.values_list("path", flat=True):
        unlink_later(relative)
    deleted_prompts, _detail = prompts.delete()
    records = CallRecord.objects.filter(account=account)
    records.update(digits="", wrap_up_note="")
    callers = records.filter(direction=Direction.INBOUND).exclude(from_number=ERASED) \
        .update(from_number=ERASED)
    called = records.filter(direction=Direction.OUTBOUND, billed=False) \
        .exclude(to_number=ERASED).update(to_number=ERASED)
    return {"numbers_released": released, "voicemails": voicemails,
            "call_recordings": recordings,
            "audio_prompts": deleted_prompts,
            "call_records_anonymised": callers + called}
