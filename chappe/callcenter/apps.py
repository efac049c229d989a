from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallcenterConfig(AppConfig):
    name = "chappe.callcenter"
    label = "callcenter"
    verbose_name = _("Contact center")

    def ready(self) -> None:
        # Models must be loaded before the routing cache's receivers connect to them.
        from chappe.callcenter import routing_changes

        routing_changes.connect()
