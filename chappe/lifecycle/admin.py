"""Back-office: termination notices (the operator gives notice or a formal notice of a
breach, and records a breach remedied) and the export bundles (read only)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from chappe.accounts.admin_actions import (
    ReadOnlyAdmin,
    ServiceFormAdmin,
    form_action,
    operator_actor,
    saved_as,
)
from chappe.lifecycle.models import ExportBundle, NoticeKind, TerminationNotice
from chappe.lifecycle.notices import termination_notice_cancel, termination_notice_give


class NoticeForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(NoticeKind.OPERATOR, NoticeKind.OPERATOR.label),
                                      (NoticeKind.BREACH, NoticeKind.BREACH.label)])

    class Meta:
        model = TerminationNotice
        fields = ["account", "kind", "reason"]


class CancelForm(forms.Form):
    note = forms.CharField(label=_("Note (e.g. how the breach was remedied)"),
                           widget=forms.Textarea, required=False)


_cancel = form_action(
    CancelForm, _("Cancel the selected notices"),
    lambda request, notice, data: termination_notice_cancel(
        actor=operator_actor(request, notice.account), notice=notice, note=data["note"]),
)


@admin.register(TerminationNotice)
class TerminationNoticeAdmin(ServiceFormAdmin):
    list_display = ("account", "kind", "status", "given_at", "effective_at", "emailed_at")
    list_filter = ("kind", "status")
    search_fields = ("account__name",)
    actions = [_cancel]
    form = NoticeForm

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None

    def save_model(self, request, obj, form, change) -> None:
        notice = termination_notice_give(
            actor=operator_actor(request, obj.account), account=obj.account,
            kind=form.cleaned_data["kind"], reason=form.cleaned_data["reason"])
        saved_as(obj, notice)


@admin.register(ExportBundle)
class ExportBundleAdmin(ReadOnlyAdmin):
    list_display = ("account", "status", "progress", "requested_at", "finished_at", "size")
    list_filter = ("status",)
    exclude = ("manifest",)
