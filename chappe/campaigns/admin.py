"""Operator back-office for campaigns: campaigns held for review because of their
operator mix (M-9) are released — at the standard price or at the operator-specific
price — or refused, through the same services as everything else (audited)."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from chappe.accounts.admin_actions import ReadOnlyAdmin, form_action, operator_actor, run_each
from chappe.campaigns.models import Campaign, CampaignStatus
from chappe.campaigns.services import campaign_review_refuse, campaign_review_release


class _ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), min_length=3, max_length=500)


_refuse = form_action(
    _ReasonForm, _("Refuse the held campaign"),
    lambda request, campaign, data: campaign_review_refuse(
        actor=operator_actor(request, campaign.account), campaign=campaign,
        reason=data["reason"]))


class HeldFilter(admin.SimpleListFilter):
    title = _("review")
    parameter_name = "held"

    def lookups(self, request, model_admin):
        return [("yes", _("Held for review"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=CampaignStatus.REVIEW)
        return queryset


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("name", "account", "kind", "status", "recipients", "messages",
                    "created_at")
    list_filter = (HeldFilter, "status", "kind")
    search_fields = ("name", "account__name")
    date_hierarchy = "created_at"
    exclude = ("numbers",)
    actions = ["release", "release_at_operator_price", _refuse]

    def get_readonly_fields(self, request, obj=None):
        return [f for f in super().get_readonly_fields(request, obj) if f != "numbers"]

    def _release(self, request, queryset, operator_price: bool) -> None:
        run_each(self, request, queryset, lambda campaign: campaign_review_release(
            actor=operator_actor(request, campaign.account), campaign=campaign,
            operator_price=operator_price))

    @admin.action(description=_("Release the held campaign at the standard price"))
    def release(self, request, queryset):
        self._release(request, queryset, operator_price=False)

    @admin.action(description=_("Release the held campaign at the operator-specific price"))
    def release_at_operator_price(self, request, queryset):
        self._release(request, queryset, operator_price=True)
