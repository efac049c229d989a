from django.apps import AppConfig


class CompatConfig(AppConfig):
    name = "chappe.api.compat"
    label = "compat"
    verbose_name = "Compatibility APIs"

    def ready(self) -> None:
        # The callback formats the webhooks machinery delivers for these APIs.
        from chappe.api.compat.callbacks import register_formats

        register_formats()
