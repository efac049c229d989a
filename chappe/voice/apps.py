from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceConfig(AppConfig):
    name = "chappe.voice"
    label = "voice"
    verbose_name = _("Voice engine")

    def ready(self) -> None:
        from chappe.voice import routing_changes

        routing_changes.connect()
