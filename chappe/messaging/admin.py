from django.contrib import admin

from chappe.accounts.admin_actions import ReadOnlyAdmin
from chappe.messaging.models import Message, ProtectedSender, Reply, SenderAuthorisation


@admin.register(ProtectedSender)
class ProtectedSenderAdmin(admin.ModelAdmin):
    """The AF2M protected lists (M-2): SI names are refused; ISA names need an
    authorisation on file for the account."""

    list_display = ("name", "level", "note", "created_at")
    list_filter = ("level",)
    search_fields = ("name", "key")


@admin.register(SenderAuthorisation)
class SenderAuthorisationAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "valid_until", "recorded_by", "created_at")
    search_fields = ("name", "account__name")
    autocomplete_fields = ("account",)
    readonly_fields = ("recorded_by",)

    def save_model(self, request, obj, form, change) -> None:
        obj.recorded_by = request.user.email
        super().save_model(request, obj, form, change)


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    """Read-only: messages change only through the lifecycle."""

    list_display = ("id", "account", "recipient", "sender", "status", "segments", "created_at")
    list_filter = ("status", "kind", "country")
    search_fields = ("id", "recipient", "carrier_message_id", "account__name")
    date_hierarchy = "created_at"


@admin.register(Reply)
class ReplyAdmin(ReadOnlyAdmin):
    """Read-only: a recipient's replies are erased through the recipient-rights service."""

    list_display = ("received_at", "account", "from_number", "to", "is_stop")
    list_filter = ("is_stop",)
    search_fields = ("from_number", "account__name")
