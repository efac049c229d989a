"""Operator back-office for messaging: the protected sender lists and authorisations (M-2)
change through their services (audited with the staff user); messages and replies are
read-only — they change only through the lifecycle and the recipient-rights service."""

from django.contrib import admin

from chappe.accounts.admin_actions import (
    ReadOnlyAdmin,
    ServiceFormAdmin,
    form_changes,
    operator_actor,
    saved_as,
)
from chappe.messaging.models import (
    Message,
    ProtectedSender,
    Reply,
    SenderAuthorisation,
    UnattributedReply,
)
from chappe.messaging.services import senders


class _DeletedByService(ServiceFormAdmin):
    """Rows the operator may delete, each through `delete_one` (a service call)."""

    def delete_one(self, request, obj) -> None:
        raise NotImplementedError

    def has_delete_permission(self, request, obj=None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_model(self, request, obj) -> None:
        self.delete_one(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.delete_one(request, obj)


@admin.register(ProtectedSender)
class ProtectedSenderAdmin(_DeletedByService):
    """The AF2M protected lists (M-2): SI names are refused; ISA names need an
    authorisation on file for the account."""

    list_display = ("name", "level", "note", "created_at")
    list_filter = ("level",)
    search_fields = ("name", "key")

    def save_model(self, request, obj, form, change) -> None:
        actor = operator_actor(request)
        if change:
            senders.protected_sender_update(actor=actor, sender=obj, changes=form_changes(form))
            return
        saved_as(obj, senders.protected_sender_create(actor=actor, name=obj.name,
                                                      level=obj.level, note=obj.note))

    def delete_one(self, request, obj) -> None:
        senders.protected_sender_delete(actor=operator_actor(request), sender=obj)


@admin.register(SenderAuthorisation)
class SenderAuthorisationAdmin(_DeletedByService):
    list_display = ("name", "account", "valid_until", "recorded_by", "created_at")
    search_fields = ("name", "account__name")
    autocomplete_fields = ("account",)
    readonly_fields = ("recorded_by",)

    def save_model(self, request, obj, form, change) -> None:
        actor = operator_actor(request, obj.account)
        if change:
            senders.sender_authorisation_update(actor=actor, authorisation=obj,
                                                changes=form_changes(form))
            return
        saved_as(obj, senders.sender_authorisation_create(
            actor=actor, account=obj.account, name=obj.name, valid_until=obj.valid_until,
            document=obj.document or None))

    def delete_one(self, request, obj) -> None:
        senders.sender_authorisation_delete(actor=operator_actor(request, obj.account),
                                            authorisation=obj)


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


@admin.register(UnattributedReply)
class UnattributedReplyAdmin(ReadOnlyAdmin):
    """MOs that matched no account (to a shared code nobody sent from): the operator's
    inbox, kept rather than dropped."""

    list_display = ("received_at", "from_number", "to", "text", "connector")
    search_fields = ("from_number", "to", "text")
    date_hierarchy = "received_at"

# The RCS agents' pages (decision 0049), registered with the rest of messaging's.
from chappe.messaging.rcs import admin as _rcs_admin  # noqa: E402, F401
