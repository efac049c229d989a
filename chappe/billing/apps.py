from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "chappe.billing"
    label = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from chappe.accounts.models import Account
        from chappe.billing.models import (
            AccountBilling,
            Plan,
            Price,
            PriceList,
            PriceListVersion,
            Subscription,
        )
        from chappe.billing.rating_context import rating_cache_clear

        # What `rating_context` caches depends on these rows (an account's parent too).
        for model in (Account, AccountBilling, Plan, Price, PriceList, PriceListVersion,
                      Subscription):
            for signal in (post_save, post_delete):
                signal.connect(rating_cache_clear, sender=model,
                               dispatch_uid=f"rating-cache-{model.__name__}-{signal}")
