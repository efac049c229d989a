"""The operator's side of RCS agents (M-15): each carrier's validation, suspension and
reinstatement, as admin actions calling `rcs.agents` with the staff user as the actor
(audited and notified like the client's own changes)."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from chappe.accounts.admin_actions import ReadOnlyAdmin, form_action, operator_actor, run_each
from chappe.messaging.rcs import agents
from chappe.messaging.rcs.models import RcsAgent, RcsAgentReview


def _carriers() -> list[tuple[str, str]]:
    return [(carrier, carrier) for carrier in settings.CHAPPE_RCS_CARRIERS]


class CarrierForm(forms.Form):
    carrier = forms.ChoiceField(choices=_carriers)


class RejectionForm(CarrierForm):
    reason = forms.CharField(max_length=300)


class SuspensionForm(forms.Form):
    reason = forms.CharField(max_length=300)


class ReviewInline(admin.TabularInline):
    model = RcsAgentReview
    extra = 0
    can_delete = False
    readonly_fields = ("carrier", "status", "reason", "decided_at", "decided_by")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RcsAgent)
class RcsAgentAdmin(ReadOnlyAdmin):
    list_display = ("brand_name", "account", "status", "use_case", "submitted_at",
                    "launched_at", "last_used_at")
    list_filter = ("status", "use_case")
    search_fields = ("brand_name", "sender", "account__name")
    inlines = [ReviewInline]
    actions = [
        form_action(CarrierForm, _("Approve for a carrier"),
                    lambda request, agent, data: agents.rcs_agent_review(
                        actor=operator_actor(request, agent.account), agent=agent,
                        carrier=data["carrier"], approved=True)),
        form_action(RejectionForm, _("Reject for a carrier"),
                    lambda request, agent, data: agents.rcs_agent_review(
                        actor=operator_actor(request, agent.account), agent=agent,
                        carrier=data["carrier"], approved=False, reason=data["reason"])),
        form_action(SuspensionForm, _("Suspend"),
                    lambda request, agent, data: agents.rcs_agent_suspend(
                        actor=operator_actor(request, agent.account), agent=agent,
                        reason=data["reason"])),
        "reinstate",
    ]

    @admin.action(description=_("Reinstate (back to validation)"))
    def reinstate(self, request, queryset) -> None:
        run_each(self, request, queryset, lambda agent: agents.rcs_agent_reinstate(
            actor=operator_actor(request, agent.account), agent=agent))
