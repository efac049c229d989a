from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmppConfig(AppConfig):
    name = "chappe.smpp_server"
    label = "smpp"
    verbose_name = _("SMPP")
