"""The back-office of the content policy (M-11): its lists (each change through a service,
audited, bumping the policy version), the feed import, the review queue of held sends
(release / refuse with a reason), and the hits — flagged ones first — for spotting an
account that keeps rewording a refused message."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from chappe.accounts.admin_actions import (
    ReadOnlyAdmin,
    ServiceFormAdmin,
    form_action,
    form_changes,
    operator_actor,
    saved_as,
)
from chappe.messaging.content_policy import services
from chappe.messaging.content_policy.models import (
    ContentReview,
    ContentRule,
    DomainKind,
    PolicyDomain,
    PolicyHit,
    ProtectedBrand,
    RegisteredSender,
    ShortenerPermit,
)


class _PolicyListAdmin(ServiceFormAdmin):
    """An operator list whose rows are created, changed and deleted through services."""

    def save_model(self, request, obj, form, change) -> None:
        actor = operator_actor(request)
        if change:
            services.policy_entry_save(actor=actor, obj=obj, changes=form_changes(form))
            return
        saved_as(obj, services.policy_entry_save(actor=actor, obj=obj))

    def has_delete_permission(self, request, obj=None) -> bool:
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_model(self, request, obj) -> None:
        services.policy_entry_delete(actor=operator_actor(request), obj=obj)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ImportForm(forms.Form):
    """A feed pasted in (large feeds: `manage.py policy_import_domains FILE`)."""

    feed = forms.CharField(label=_("Feed (one domain a line, or CSV: domain first)"),
                           widget=forms.Textarea, max_length=2_000_000)
    source = forms.CharField(label=_("Source (the feed's name)"), max_length=100)
    kind = forms.ChoiceField(choices=DomainKind.choices, initial=DomainKind.BLOCKED)


def _import(request, _obj, data) -> None:
    """Runs once per selected row (an admin action needs one); importing again adds
    nothing: a listed domain keeps its row."""
    counts = services.domains_import_text(actor=operator_actor(request), text=data["feed"],
                                          kind=data["kind"], source=data["source"])
    messages.info(request, _("Imported: %(added)d added, %(known)d already listed, "
                             "%(unreadable)d unreadable lines.") % counts)


@admin.register(PolicyDomain)
class PolicyDomainAdmin(_PolicyListAdmin):
    list_display = ("domain", "kind", "source", "note", "created_at")
    list_filter = ("kind", "source")
    search_fields = ("domain",)
    actions = [form_action(ImportForm, _("Import a feed file"), _import)]


@admin.register(ProtectedBrand)
class ProtectedBrandAdmin(_PolicyListAdmin):
    list_display = ("name", "note", "created_at")
    search_fields = ("name",)


@admin.register(ContentRule)
class ContentRuleAdmin(_PolicyListAdmin):
    list_display = ("name", "kind", "value", "action", "active")
    list_filter = ("kind", "action", "active")
    search_fields = ("name", "value")


@admin.register(ShortenerPermit)
class ShortenerPermitAdmin(ServiceFormAdmin):
    list_display = ("account", "note", "granted_by", "created_at")
    autocomplete_fields = ("account",)
    readonly_fields = ("granted_by",)

    def save_model(self, request, obj, form, change) -> None:
        saved_as(obj, services.shortener_permit_grant(
            actor=operator_actor(request, obj.account), account=obj.account, note=obj.note))


@admin.register(RegisteredSender)
class RegisteredSenderAdmin(ServiceFormAdmin):
    list_display = ("name", "country", "account", "created_at")
    list_filter = ("country",)
    search_fields = ("name", "account__name")
    autocomplete_fields = ("account",)

    def save_model(self, request, obj, form, change) -> None:
        saved_as(obj, services.registered_sender_add(
            actor=operator_actor(request, obj.account), country=obj.country, name=obj.name,
            account=obj.account))


class DecisionForm(forms.Form):
    reason = forms.CharField(label=_("Reason (the client sees it on a refusal)"),
                             max_length=500, required=False, widget=forms.Textarea)


def _release(request, review, data) -> None:
    services.review_release(actor=operator_actor(request, review.account), review=review,
                            reason=data["reason"])


def _refuse(request, review, data) -> None:
    services.review_refuse(actor=operator_actor(request, review.account), review=review,
                           reason=data["reason"])


@admin.register(ContentReview)
class ContentReviewAdmin(ReadOnlyAdmin):
    """The review queue: held sends, oldest first."""

    list_display = ("created_at", "account", "send", "status", "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("account__name", "send__sender", "send__text")
    actions = [form_action(DecisionForm, _("Release the held messages"), _release),
               form_action(DecisionForm, _("Refuse the held messages"), _refuse)]


@admin.register(PolicyHit)
class PolicyHitAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "code", "matched", "action", "sender",
                    "messages", "flagged")
    list_filter = ("flagged", "code", "action")
    search_fields = ("account__name", "matched", "sender", "text")
    ordering = ("-flagged", "-created_at")
