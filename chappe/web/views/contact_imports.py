"""Contact import pages: upload, column mapping with a preview of the first rows, then
the import's progress (an htmx partial polled every second) and its error report."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.common.errors import ChappeError
from chappe.contacts import selectors, services
from chappe.contacts.export import import_errors_response
from chappe.contacts.models import ContactImport, ImportStatus
from chappe.contacts.tabular import mapping_targets
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.contact_forms import ImportMappingForm, ImportUploadForm, target_label

POLL = "1s"


def _list(actor: Actor, list_id: str):
    found = selectors.contact_lists_by_id(account=actor.account, ids=[list_id]) if list_id else []
    return found[0] if found else None


@account_view(Perm.CONTACTS_MANAGE)
def import_index(request: HttpRequest, actor: Actor) -> HttpResponse:
    lists = list(selectors.contact_list_query(account=actor.account))
    form = ImportUploadForm(request.POST or None, request.FILES or None, lists=lists)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            imp = services.contact_import_create(
                actor=actor, account=actor.account, file_name=upload.name, data=upload.read(),
                duplicates=form.cleaned_data["duplicates"],
                target_list=_list(actor, form.cleaned_data["target_list"]),
                language=get_language() or "en")
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            return redirect("web:contact_import", import_id=imp.pk)
    imports = selectors.contact_import_query(account=actor.account)[:50]
    return render(request, "web/contact_imports.html", {"form": form, "imports": imports})


def _mapping_form(request: HttpRequest, actor: Actor, imp: ContactImport) -> ImportMappingForm:
    specs = selectors.field_specs(account=actor.account)
    targets = [(t, target_label(t, specs)) for t in mapping_targets(list(specs.values()))]
    lists = list(selectors.contact_list_query(account=actor.account))
    data = request.POST if request.method == "POST" else None
    return ImportMappingForm(data, columns=services.column_labels(imp), targets=targets,
                             lists=lists, initial=ImportMappingForm.initial_for(imp))


def _progress_context(imp: ContactImport) -> dict[str, Any]:
    return {"imp": imp, "poll": None if imp.is_final else POLL,
            "progress_url": reverse("web:contact_import_progress", args=[imp.pk])}


@account_view(Perm.CONTACTS_MANAGE)
def import_detail(request: HttpRequest, actor: Actor, import_id: UUID) -> HttpResponse:
    imp = selectors.contact_import_get(account=actor.account, id=import_id)
    if imp.status != ImportStatus.UPLOADED:
        return render(request, "web/contact_import.html", {**_progress_context(imp),
                                                            "form": None})
    form = _mapping_form(request, actor, imp)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            imp = services.contact_import_configure(
                actor=actor, contact_import=imp, mapping=form.mapping(),
                has_header=data["has_header"], duplicates=data["duplicates"],
                target_list=_list(actor, data["target_list"]))
            if request.POST.get("action") == "start":
                services.contact_import_start(actor=actor, contact_import=imp)
                return redirect("web:contact_import", import_id=imp.pk)
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            return redirect("web:contact_import", import_id=imp.pk)
    imp = selectors.contact_import_get(account=actor.account, id=import_id)
    specs = selectors.field_specs(account=actor.account)
    preview = services.contact_import_preview(contact_import=imp)
    columns = [(t, target_label(t, specs)) for t in imp.mapping if t]
    rows = [{"line": row.line, "cells": [row.values.get(t, "") for t, _label in columns],
             "errors": row.errors, "duplicate": row.duplicate} for row in preview]
    return render(request, "web/contact_import.html", {
        **_progress_context(imp), "form": form, "preview": rows, "columns": columns,
        "preview_errors": sum(1 for row in preview if row.errors)})


@account_view(Perm.CONTACTS_MANAGE)
def import_progress(request: HttpRequest, actor: Actor, import_id: UUID) -> HttpResponse:
    """The progress bar and counts (htmx polls it until the import is over)."""
    imp = selectors.contact_import_get(account=actor.account, id=import_id)
    return render(request, "web/partials/contact_import_progress.html", _progress_context(imp))


@require_POST
@account_view(Perm.CONTACTS_MANAGE)
def import_cancel(request: HttpRequest, actor: Actor, import_id: UUID) -> HttpResponse:
    imp = selectors.contact_import_get(account=actor.account, id=import_id)
    try:
        services.contact_import_cancel(actor=actor, contact_import=imp)
    except REFUSALS:
        raise
    except ChappeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The import was stopped; the rows already imported stay."))
    return redirect("web:contact_import", import_id=imp.pk)


@account_view(Perm.CONTACTS_MANAGE)
def import_errors(request: HttpRequest, actor: Actor, import_id: UUID) -> HttpResponse:
    """The rows not imported, as CSV (the row's columns after line and error)."""
    return import_errors_response(selectors.contact_import_get(account=actor.account,
                                                               id=import_id))
