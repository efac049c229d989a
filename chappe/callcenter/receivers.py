"""Signal receivers of the contact center, connected in `apps.py`.

* a new `Voicemail` row, whoever wrote it (the voice engine does, in its own database
  thread), is announced in the same transaction (`voicemails.voicemail_announce`).
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from chappe.callcenter.models import Voicemail
from chappe.callcenter.voicemails import voicemail_announce


@receiver(post_save, sender=Voicemail, dispatch_uid="callcenter.voicemail_announce")
def _voicemail_created(sender, instance: Voicemail, created: bool, raw: bool = False,
                       **kwargs) -> None:
    if created and not raw:
        voicemail_announce(voicemail=instance)
