from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DialerConfig(AppConfig):
    name = "chappe.dialer"
    label = "dialer"
    verbose_name = _("Call campaigns")
