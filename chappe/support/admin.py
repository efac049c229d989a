"""Back-office: the support desk. The operator reads a ticket's thread and answers in
the change form (the answer goes through `ticket_answer`: audited, e-mailed); late
incidents are filtered by `sla_breached_at`."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from chappe.accounts.admin_actions import ServiceFormAdmin, operator_actor
from chappe.support.models import Ticket, TicketMessage
from chappe.support.services import ticket_answer


class AnswerForm(forms.ModelForm):
    answer = forms.CharField(label=_("Answer (e-mailed to the requester)"),
                             widget=forms.Textarea, required=False)
    close = forms.BooleanField(label=_("Close the ticket"), required=False)

    class Meta:
        model = Ticket
        fields: list[str] = []


class MessageInline(admin.TabularInline):
    model = TicketMessage
    fields = ("created_at", "from_operator", "author", "body")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(ServiceFormAdmin):
    form = AnswerForm
    list_display = ("reference", "subject", "account", "severity", "status", "opened_at",
                    "acknowledge_due_at", "acknowledged_at", "sla_breached_at")
    list_filter = ("status", "severity", "channel", ("sla_breached_at", admin.EmptyFieldListFilter))
    search_fields = ("reference", "subject", "account__name", "email")
    readonly_fields = ("reference", "account", "opened_by", "email", "channel", "subject",
                       "severity", "status", "opened_at", "acknowledge_due_at",
                       "acknowledged_at", "sla_breached_at", "closed_at")
    inlines = [MessageInline]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        if form.cleaned_data.get("answer"):
            ticket_answer(actor=operator_actor(request, obj.account), ticket=obj,
                          body=form.cleaned_data["answer"],
                          close=form.cleaned_data.get("close", False))
