from django.apps import AppConfig


class Time2ChatConfig(AppConfig):
    name = "chappe.time2chat"
    label = "time2chat"
    verbose_name = "Time2Chat"
    default_auto_field = "django.db.models.BigAutoField"
