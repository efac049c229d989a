"""The operator's view of Time2Chat declarations (read-only; exportable as CSV)."""

from django.contrib import admin
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from chappe.accounts.admin_actions import ReadOnlyAdmin
from chappe.time2chat.models import Declaration, Session
from chappe.time2chat.services import t2c_declarations_csv


@admin.register(Declaration)
class DeclarationAdmin(ReadOnlyAdmin):
    list_display = ("number", "account", "client_name", "siret", "declared_at", "ended_at",
                    "quarantine_until")
    search_fields = ("number", "client_name", "siret", "account__name")
    actions = ["export_csv"]

    @admin.action(description=_("Export for the operators (CSV)"))
    def export_csv(self, request, queryset):
        response = HttpResponse(t2c_declarations_csv(queryset), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="time2chat-declarations.csv"'
        return response


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ("number", "correspondent", "account", "opened_at", "ends_at", "mo_count",
                    "billed_micros")
    search_fields = ("number", "correspondent")
