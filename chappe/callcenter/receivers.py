"""Signal receivers of the contact center, connected in `apps.py`: a recipient's erasure
(P-12) and an account's termination purge (P-9) reach the call records, voicemails and
voice-message calls (`retention`).
"""

from django.dispatch import receiver

from chappe.callcenter.retention import callcenter_purge, calls_erase_number
from chappe.contacts.signals import recipient_erased
from chappe.privacy.purge import account_purging


@receiver(recipient_erased, dispatch_uid="callcenter.recipient_erased")
def _recipient_erased(sender, account, number: str, **kwargs) -> None:
    calls_erase_number(account=account, number=number)


@receiver(account_purging, dispatch_uid="callcenter.account_purging")
def _account_purging(sender, account, **kwargs) -> dict[str, int]:
    return callcenter_purge(account=account)
