"""Operator back-office for accounts, users, services, keys and document requests. Every
change goes through the account services (checked, audited with the staff user): nothing
is deleted here — accounts are terminated (then purged), keys and invitations revoked,
users deactivated."""

from django import forms
from django.contrib import admin
from django.contrib.admin.options import ActionLocation, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chappe.accounts import services
from chappe.accounts.admin_actions import (
    ReadOnlyAdmin,
    ServiceFormAdmin,
    form_action,
    form_changes,
    operator_actor,
    run_each,
    saved_as,
)
from chappe.accounts.models import (
    Account,
    AccountDocument,
    ApiKey,
    DocumentRequest,
    Invitation,
    Service,
    SuspensionReason,
    User,
)
from chappe.accounts.passwords import AuditedPasswordChangeForm

ACCOUNT_DETAIL_FIELDS = (
    "siret", "vat_number", "address_line1", "address_line2", "postal_code", "city", "country",
    "billing_email", "dpo_name", "dpo_email", "timezone", "default_country",
)


class SuspendForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=SuspensionReason.choices)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea)


class DocumentRequestForm(forms.Form):
    items = forms.CharField(label=_("Documents asked for"), widget=forms.Textarea)
    suspend = forms.BooleanField(label=_("Suspend until received"), required=False)


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    can_delete = False
    fields = ("kind", "status", "suspension_reason", "status_note", "ordered_at",
              "termination_effective_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DocumentRequestInline(admin.TabularInline):
    model = DocumentRequest
    extra = 0
    can_delete = False
    fields = ("items", "suspend_until_received", "requested_at", "received_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ServiceFormAdmin):
    list_display = ("name", "parent", "status", "suspension_reason", "country", "created_at")
    list_filter = ("status", "suspension_reason", "country")
    search_fields = ("name", "siret", "vat_number", "billing_email", "id")
    readonly_fields = ("id", "status", "suspension_reason", "status_note", "status_changed_at",
                       "created_at", "terminated_at")
    fields = ("id", "name", "parent", *ACCOUNT_DETAIL_FIELDS, *readonly_fields[1:])
    autocomplete_fields = ("parent",)
    inlines = [ServiceInline, DocumentRequestInline]
    actions = ["reactivate", "terminate"]

    def save_model(self, request, obj: Account, form, change: bool) -> None:
        actor = operator_actor(request, obj if change else None)
        fields = {name: form.cleaned_data[name] for name in ACCOUNT_DETAIL_FIELDS}
        if change:
            services.account_update(actor=actor, account=obj, name=obj.name, **fields)
        else:
            created = services.account_create(actor=actor, name=obj.name, parent=obj.parent,
                                              **fields)
            obj.pk = created.pk
            obj.refresh_from_db()

    @admin.action(description=_("Reactivate selected accounts"))
    def reactivate(self, request, queryset) -> None:
        run_each(self, request, queryset, lambda account: services.account_reactivate(
            actor=operator_actor(request, account), account=account))

    @admin.action(description=_("Terminate selected accounts"))
    def terminate(self, request, queryset) -> None:
        run_each(self, request, queryset, lambda account: services.account_terminate(
            actor=operator_actor(request, account), account=account))

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        for func in (_suspend_account, _request_documents):
            actions[func.__name__] = (func, func.__name__, func.short_description)
        return actions


_suspend_account = form_action(
    SuspendForm, _("Suspend selected accounts"),
    lambda request, account, data: services.account_suspend(
        actor=operator_actor(request, account), account=account, reason=data["reason"],
        note=data["note"]),
)
_request_documents = form_action(
    DocumentRequestForm, _("Request supporting documents"),
    lambda request, account, data: services.account_documents_request(
        actor=operator_actor(request, account), account=account, items=data["items"],
        suspend=data["suspend"]),
)
_suspend_service = form_action(
    SuspendForm, _("Suspend selected services"),
    lambda request, service, data: services.service_suspend(
        actor=operator_actor(request, service.account), service=service,
        reason=data["reason"], note=data["note"]),
)


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = ("account", "kind", "status", "suspension_reason", "ordered_at",
                    "termination_effective_at")
    list_filter = ("kind", "status", "suspension_reason")
    search_fields = ("account__name",)
    actions = ["reactivate", "terminate_now"]

    @admin.action(description=_("Reactivate selected services"))
    def reactivate(self, request, queryset) -> None:
        run_each(self, request, queryset, lambda service: services.service_reactivate(
            actor=operator_actor(request, service.account), service=service))

    @admin.action(description=_("Terminate selected services now"))
    def terminate_now(self, request, queryset) -> None:
        run_each(self, request, queryset, lambda service: services.service_terminate(
            actor=operator_actor(request, service.account), service=service, immediate=True))

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        actions[_suspend_service.__name__] = (
            _suspend_service, _suspend_service.__name__, _suspend_service.short_description)
        return actions


@admin.register(DocumentRequest)
class DocumentRequestAdmin(ReadOnlyAdmin):
    list_display = ("account", "items", "suspend_until_received", "requested_at", "received_at")
    list_filter = ("suspend_until_received",)
    actions = ["mark_received"]

    @admin.action(description=_("Mark documents as received"))
    def mark_received(self, request, queryset) -> None:
        run_each(self, request, queryset, lambda req: services.account_documents_received(
            actor=operator_actor(request, req.account), request=req))


@admin.register(AccountDocument)
class AccountDocumentAdmin(ReadOnlyAdmin):
    list_display = ("account", "description", "file", "uploaded_at")


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ("name", "prefix", "account", "role", "created_at", "last_used_at",
                    "revoked_at")
    list_filter = ("role",)
    search_fields = ("prefix", "name", "account__name")
    exclude = ("key_hash",)
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [f for f in super().get_readonly_fields(request, obj) if f != "key_hash"]

    @admin.action(description=_("Revoke selected keys"))
    def revoke(self, request, queryset) -> None:
        run_each(self, request, queryset, lambda key: services.api_key_revoke(
            actor=operator_actor(request, key.account), api_key=key))


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("email", "account", "role", "created_at", "expires_at", "accepted_at",
                    "revoked_at")
    exclude = ("token_hash",)
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [f for f in super().get_readonly_fields(request, obj) if f != "token_hash"]

    @admin.action(description=_("Revoke selected invitations"))
    def revoke(self, request, queryset) -> None:
        run_each(self, request, queryset, lambda invitation: services.invitation_revoke(
            actor=operator_actor(request, invitation.account), invitation=invitation))


class ChappeUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "account", "role")


class ChappeUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(ServiceFormAdmin, DjangoUserAdmin):
    """Users are created, changed and given a password by the account services (operator
    actor, audited); a user leaves by being deactivated, not deleted."""

    form = ChappeUserChangeForm
    add_form = ChappeUserCreationForm
    ordering = ("email",)
    list_display = ("email", "account", "role", "is_active", "is_staff", "last_login")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("email", "first_name", "last_name", "account__name")
    autocomplete_fields = ("account",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("first_name", "last_name", "language")}),
        (_("Account and role"), {"fields": ("account", "role")}),
        (_("Status"), {"fields": ("is_active", "is_staff", "is_superuser", "last_login",
                                  "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("email", "account", "role", "password1", "password2")}),
    )
    readonly_fields = ("last_login", "date_joined")

    def save_model(self, request, obj, form, change) -> None:
        actor = operator_actor(request, obj.account)
        if change:
            services.user_operator_update(actor=actor, user=obj, changes=form_changes(form))
            return
        data = form.cleaned_data
        saved_as(obj, services.user_create(
            actor=actor, email=data["email"], account=data.get("account"), role=data["role"],
            password=data.get("password1") if data.get("set_usable_password", True) else None))

    def user_change_password(self, request, id, form_url=""):
        """A valid new password is set by `user_password_set`; showing the form (and its
        errors) is Django's own view."""
        user = self.get_object(request, unquote(id))
        if request.method == "POST" and user is not None \
                and self.has_change_permission(request, user):
            form = self.change_password_form(user, request.POST)
            usable = form.is_valid() and form.cleaned_data["set_usable_password"]
            if form.is_valid() and (usable or "unset-password" in request.POST):
                user = services.user_password_set(
                    actor=operator_actor(request, user.account), user=user,
                    password=form.cleaned_data["password1"] if usable else None)
                update_session_auth_hash(request, user)  # changing one's own: stay logged in
                messages.success(request, gettext("Password changed successfully.") if usable
                                 else gettext("Password-based authentication was disabled."))
                return HttpResponseRedirect(reverse(
                    f"{self.admin_site.name}:accounts_user_change", args=[user.pk]))
        return super().user_change_password(request, id, form_url)


# An operator changing their own password in the back-office goes through the service too.
admin.site.password_change_form = AuditedPasswordChangeForm
