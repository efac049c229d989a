from django.contrib import admin

from chappe.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only (P-13)."""

    list_display = ("created_at", "account", "actor_label", "is_operator", "action",
                    "target_type", "target_label", "ip")
    list_filter = ("is_operator", "action")
    search_fields = ("actor_label", "action", "target_label", "target_id", "account__name")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
