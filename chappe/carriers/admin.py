"""Carriers in the operator back-office: connectors (settings checked against their
type's schema, errors shown per setting; a "Test connection" action), routes, and the
SMPP connector's live binds and inbox. Changes go through the services (audited)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from chappe.accounts.admin_actions import operator_actor
from chappe.carriers import services
from chappe.carriers.models import Connector, Route, SmppBindState, SmppInbox
from chappe.carriers.registry import config_stored, config_validate, connector_types
from chappe.common.errors import ValidationFailed


def _add_errors(form: forms.Form, exc: ValidationFailed) -> None:
    """A service's per-field errors on the form: a setting's under `config`, named."""
    for field, problems in exc.details.items():
        for problem in problems:
            if field.startswith("config."):
                form.add_error("config", f"{field.removeprefix('config.')}: {problem}")
            else:
                form.add_error(field if field in form.fields else None, problem)


def _settings_help() -> str:
    """Each type's settings, required ones marked, others with their default."""
    def described(name: str, info: Any) -> str:
        return f"{name}*" if info.is_required() else f"{name}={info.get_default()!r}"

    return format_html("{}<ul>{}</ul>", _("A JSON object; settings by type (* required):"),
                       format_html_join("", "<li><b>{}</b>: {}</li>", (
                           (slug, ", ".join(described(name, info) for name, info in
                                            kind.Config.model_fields.items()))
                           for slug, kind in connector_types().items())))


class ConnectorForm(forms.ModelForm):
    config = forms.JSONField(label=_("Settings"), required=False)

    class Meta:
        model = Connector
        fields = ("name", "type", "config", "enabled")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type"] = forms.ChoiceField(label=_("Type"), choices=[
            (slug, f"{kind.label} ({slug})") for slug, kind in connector_types().items()])
        self.fields["config"].help_text = _settings_help()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "type" in data and "config" in data:
            try:
                data["config"] = config_stored(config_validate(type=data["type"],
                                                               config=data["config"] or {}))
            except ValidationFailed as exc:
                _add_errors(self, exc)
        return data


@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin):
    form = ConnectorForm
    list_display = ("name", "type", "enabled")
    list_filter = ("type", "enabled")
    search_fields = ("name",)
    actions = ["test_connection"]

    def save_model(self, request, obj: Connector, form: ConnectorForm, change: bool) -> None:
        data = form.cleaned_data
        saved = services.connector_save(
            actor=operator_actor(request), connector=obj if change else None,
            name=data["name"], type=data["type"], config=data["config"],
            enabled=data["enabled"])
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request, obj: Connector) -> None:
        services.connector_delete(actor=operator_actor(request), connector=obj)

    def delete_queryset(self, request, queryset) -> None:
        for connector in queryset:
            self.delete_model(request, connector)

    @admin.action(description=_("Test connection"))
    def test_connection(self, request, queryset) -> None:
        for connector in queryset:
            check = services.connector_test(connector=connector)
            self.message_user(request, f"{connector.name}: {check.detail}",
                              messages.SUCCESS if check.ok else messages.ERROR)


class RouteForm(forms.ModelForm):
    class Meta:
        model = Route
        fields = ("priority", "country", "prefix", "connector", "fallback")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("connector") is not None:
            try:
                services.route_validate(connector=data["connector"],
                                        fallback=data.get("fallback"),
                                        country=data.get("country", ""),
                                        prefix=data.get("prefix", ""))
            except ValidationFailed as exc:
                _add_errors(self, exc)
        return data


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    form = RouteForm
    list_display = ("__str__", "priority", "country", "prefix", "connector", "fallback")
    list_filter = ("connector",)

    def save_model(self, request, obj: Route, form: RouteForm, change: bool) -> None:
        data = form.cleaned_data
        saved = services.route_save(
            actor=operator_actor(request), route=obj if change else None,
            connector=data["connector"], fallback=data["fallback"], country=data["country"],
            prefix=data["prefix"], priority=data["priority"])
        obj.pk = saved.pk

    def delete_model(self, request, obj: Route) -> None:
        services.route_delete(actor=operator_actor(request), route=obj)

    def delete_queryset(self, request, queryset) -> None:
        for route in queryset:
            self.delete_model(request, route)


@admin.register(SmppBindState)
class SmppBindStateAdmin(admin.ModelAdmin):
    list_display = ("connector", "process", "slot", "mode", "state", "in_flight", "msg_per_s",
                    "submitted", "errors", "throttled", "reconnects", "last_error", "updated_at")
    list_filter = ("connector", "state")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SmppInbox)
class SmppInboxAdmin(admin.ModelAdmin):
    list_display = ("connector", "kind", "carrier_id", "status", "error_code", "at",
                    "next_try_at")
    list_filter = ("connector", "kind")

    def has_add_permission(self, request) -> bool:
        return False
