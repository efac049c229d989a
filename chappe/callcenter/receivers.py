"""Signal receivers of the contact center, connected in `apps.py`.

* a new `Voicemail` row, whoever wrote it (the voice engine does, in its own database
  thread), is announced in the same transaction (`voicemails.voicemail_announce`);
* a recipient's erasure (P-12) and an account's termination purge (P-9) reach the call
  records, voicemails and voice-message calls (`retention`).
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from chappe.callcenter.models import Voicemail
from chappe.callcenter.retention import callcenter_purge, calls_erase_number
from chappe.callcenter.voicemails import voicemail_announce
from chappe.contacts.signals import recipient_erased
from chappe.privacy.purge import account_purging


@receiver(post_save, sender=Voicemail, dispatch_uid="callcenter.voicemail_announce")
def _voicemail_created(sender, instance: Voicemail, created: bool, raw: bool = False,
                       **kwargs) -> None:
    if created and not raw:
        voicemail_announce(voicemail=instance)


@receiver(recipient_erased, dispatch_uid="callcenter.recipient_erased")
def _recipient_erased(sender, account, number: str, **kwargs) -> None:
    calls_erase_number(account=account, number=number)


@receiver(account_purging, dispatch_uid="callcenter.account_purging")
def _account_purging(sender, account, **kwargs) -> dict[str, int]:
    return callcenter_purge(account=account)
