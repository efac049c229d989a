from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "chappe.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Logins happen in Django's own views: their signals are the one hook (P-13).
        from chappe.accounts import sign_in_signals  # noqa: F401
