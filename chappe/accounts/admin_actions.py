"""What the operator back-office (Django's admin) shares: an operator `Actor` for the
staff user, read-only pages, change forms saved through a service, and actions that call
a service per object — some after asking for a few fields (a reason, a note).

Every change goes through the same services as the API, with that operator actor, so it
is checked and audited the same way.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse

from chappe.accounts.actor import Actor
from chappe.common.errors import ChappeError


def operator_actor(request: HttpRequest, account: Any = None) -> Actor:
    return Actor(
        account=account,
        user=request.user,  # type: ignore[arg-type]
        is_operator=True,
        ip=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.headers.get("User-Agent", "")[:400],
    )


def form_changes(form: forms.ModelForm) -> dict[str, Any]:
    """What the operator changed in a model form, as the model values the form put on its
    instance (a cleared file is "", an upload a file): what an update service is given."""
    fields = {field.name for field in form.instance._meta.concrete_fields}
    return {name: getattr(form.instance, name) for name in form.changed_data if name in fields}


def saved_as(obj: Model, saved: Model) -> None:
    """Point the admin's unsaved object at the row a service created (the admin's
    messages and redirect use its pk)."""
    obj.pk = saved.pk
    obj._state.adding = False


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that change only through their services (or never): shown, not edited.
    The list stays changeable so its actions (which call services) run."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ServiceFormAdmin(admin.ModelAdmin):
    """A change form whose `save_model` calls a service: the service's refusal
    (`ChappeError`) rolls the save back and is shown as an error on the same page."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ChappeError as exc:
            self.message_user(request, f"{exc.message} {exc.details or ''}".strip(),
                              messages.ERROR)
            return HttpResponseRedirect(request.path)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def run_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    apply: Callable[[Model], Any],
) -> None:
    """Apply a service call to each selected object, reporting successes and refusals."""
    done = 0
    for obj in queryset:
        try:
            apply(obj)
            done += 1
        except ChappeError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} updated.", messages.SUCCESS)


def form_action(
    form_class: type[forms.Form],
    description: str,
    apply: Callable[[HttpRequest, Model, dict[str, Any]], Any],
) -> Callable:
    """An admin action that first shows `form_class`, then applies `apply` per object."""

    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet):
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                run_each(modeladmin, request, queryset,
                         lambda obj: apply(request, obj, form.cleaned_data))
                return None
        else:
            form = form_class()
        return TemplateResponse(
            request,
            "admin/chappe_action_form.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": description,
                "form": form,
                "objects": queryset,
                "action": request.POST.get("action"),
                "opts": modeladmin.model._meta,
                "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            },
        )

    action.short_description = description  # type: ignore[attr-defined]
    action.__name__ = description.lower().replace(" ", "_")
    return action
