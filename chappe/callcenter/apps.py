from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallcenterConfig(AppConfig):
    name = "chappe.callcenter"
    label = "callcenter"
    verbose_name = _("Contact center")

    def ready(self) -> None:
        from chappe.callcenter import (
            receivers,  # noqa: F401  (connects them)
            routing_changes,
        )

        routing_changes.connect()
