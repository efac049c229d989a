"""Operator back-office for the red list (M-5) and imports. Red-list entries change only
through the services (audited): while the platform manages an account's red list, taking
off a number that replied STOP is the operator's job, with a reason."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from chappe.accounts.admin_actions import ReadOnlyAdmin, form_action, operator_actor
from chappe.contacts.models import ContactImport, OptOut, RedListPolicy
from chappe.contacts.services import opt_out_remove


class _ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), min_length=3, max_length=500)


_remove = form_action(
    _ReasonForm, _("Take off the red list"),
    lambda request, entry, data: opt_out_remove(
        actor=operator_actor(request, entry.account), opt_out=entry, reason=data["reason"]))


@admin.register(OptOut)
class OptOutAdmin(ReadOnlyAdmin):
    list_display = ("number", "account", "source", "responsible", "added_by", "created_at")
    list_filter = ("source", "responsible")
    search_fields = ("number", "account__name")
    actions = [_remove]


@admin.register(RedListPolicy)
class RedListPolicyAdmin(ReadOnlyAdmin):
    list_display = ("account", "self_managed", "decided_by", "decided_at")
    list_filter = ("self_managed",)
    search_fields = ("account__name",)


@admin.register(ContactImport)
class ContactImportAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "file_name", "status", "rows_done", "total_rows",
                    "error_count")
    list_filter = ("status",)
    search_fields = ("account__name", "file_name")
    exclude = ("sample",)

    def get_readonly_fields(self, request, obj=None):
        return [f for f in super().get_readonly_fields(request, obj) if f != "sample"]
