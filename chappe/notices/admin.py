"""Back-office: publish notices and terms, keep the sub-processor list, forward
recipients' requests, notify data breaches (each through its audited service)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from chappe.accounts.admin_actions import (
    ReadOnlyAdmin,
    ServiceFormAdmin,
    operator_actor,
    run_each,
    saved_as,
)
from chappe.notices.models import (
    DataBreach,
    Notice,
    RecipientRequest,
    SubProcessor,
    SubProcessorObjection,
    TermsAcceptance,
    TermsVersion,
)
from chappe.notices.services import (
    data_breach_notify,
    notice_publish,
    recipient_request_forward,
    terms_publish,
)


class _AddOnly(ServiceFormAdmin):
    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None


class NoticeForm(forms.ModelForm):
    class Meta:
        model = Notice
        fields = ["kind", "title", "body", "effective_at", "ends_at", "legally_mandatory",
                  "accounts"]


@admin.register(Notice)
class NoticeAdmin(_AddOnly):
    form = NoticeForm
    list_display = ("title", "kind", "published_at", "effective_at", "ends_at", "emailed_at")
    list_filter = ("kind",)

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        saved_as(obj, notice_publish(
            actor=operator_actor(request), kind=data["kind"], title=data["title"],
            body=data["body"], effective_at=data["effective_at"], ends_at=data["ends_at"],
            legally_mandatory=data["legally_mandatory"], accounts=list(data["accounts"])))


@admin.register(TermsVersion)
class TermsVersionAdmin(_AddOnly):
    fields = ("version", "text", "effective_at", "legally_mandatory")
    list_display = ("version", "published_at", "effective_at", "legally_mandatory")

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        saved_as(obj, terms_publish(actor=operator_actor(request), version=data["version"],
                                    text=data["text"], effective_at=data["effective_at"],
                                    legally_mandatory=data["legally_mandatory"]))


@admin.register(TermsAcceptance)
class TermsAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ("account", "terms", "user_email", "accepted_at", "ip")
    search_fields = ("account__name", "user_email")


@admin.register(SubProcessor)
class SubProcessorAdmin(admin.ModelAdmin):
    """The published list; announce a change with a “change of sub-processors” notice."""

    list_display = ("name", "purpose", "location", "listed_from", "listed_until")


@admin.register(SubProcessorObjection)
class SubProcessorObjectionAdmin(ReadOnlyAdmin):
    list_display = ("account", "notice", "created_at")


class RequestForm(forms.ModelForm):
    class Meta:
        model = RecipientRequest
        fields = ["account", "requester", "request", "received_at"]


@admin.register(RecipientRequest)
class RecipientRequestAdmin(_AddOnly):
    form = RequestForm
    list_display = ("account", "requester", "received_at", "status", "answered_at")
    list_filter = ("status",)

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        saved_as(obj, recipient_request_forward(
            actor=operator_actor(request, data["account"]), account=data["account"],
            requester=data["requester"], request=data["request"],
            received_at=data["received_at"]))


@admin.register(DataBreach)
class DataBreachAdmin(admin.ModelAdmin):
    list_display = ("title", "detected_at", "notified_at")
    readonly_fields = ("notified_at",)
    actions = ["notify"]

    @admin.action(description=_("Notify the affected clients"))
    def notify(self, request, queryset) -> None:
        run_each(self, request, queryset, lambda breach: data_breach_notify(
            actor=operator_actor(request), breach=breach))
