from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "chappe.support"
    label = "support"
    verbose_name = _("Support")

    def ready(self) -> None:
        # After the admin's autodiscovery (django.contrib.admin comes first): the
        # operator sees the clients' content only under their grant (P-19).
        from chappe.support.access import gate_admin_site

        gate_admin_site()
