"""Address book pages (M-4): contacts (search, create, edit, delete, export), lists and
their members, custom fields, and duplicate cleaning. Every write goes through
`chappe.contacts.services`."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.common.csv_export import csv_response
from chappe.common.errors import ChappeError
from chappe.contacts import selectors, services
from chappe.contacts.export import contact_header, contact_rows, xlsx_response
from chappe.contacts.fields import FieldValueError, normalize_mobile
from chappe.contacts.models import Contact
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.contact_forms import (
    AddMembersForm,
    ContactForm,
    ContactListForm,
    ContactSearchForm,
    CustomFieldEditForm,
    CustomFieldForm,
)
from chappe.web.views.common import confirmed_action

PAGE_SIZE = 50


# --- contacts ------------------------------------------------------------------------------


def _filtered(request: HttpRequest, actor: Actor):
    lists = list(selectors.contact_list_query(account=actor.account))
    form = ContactSearchForm(request.GET, lists=lists)
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = {"search": form.cleaned_data["q"], "list_id": form.cleaned_data["list"]}
    return form, lists, selectors.contact_query(account=actor.account, **filters)


@account_view(Perm.CONTACTS_MANAGE)
def contact_index(request: HttpRequest, actor: Actor) -> HttpResponse:
    form, lists, contacts = _filtered(request, actor)
    page = Paginator(contacts.prefetch_related("lists"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/contacts.html", {
        "form": form, "page": page, "lists": lists,
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
        "export_query": query.urlencode(),
        "total": Contact.objects.filter(account=actor.account).count(),
    })


def _export(request: HttpRequest, actor: Actor, kind: str) -> HttpResponse:
    _form, _lists, contacts = _filtered(request, actor)
    specs = list(selectors.field_specs(account=actor.account).values())
    rows = contact_rows(contacts, specs)
    if kind == "xlsx":
        return xlsx_response("contacts.xlsx", contact_header(specs), rows)
    return csv_response("contacts.csv", contact_header(specs), rows)


@account_view(Perm.CONTACTS_MANAGE)
def contact_export_csv(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The filtered contacts as CSV (streamed), the same columns as the API export."""
    return _export(request, actor, "csv")


@account_view(Perm.CONTACTS_MANAGE)
def contact_export_xlsx(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _export(request, actor, "xlsx")


def _contact_form(request: HttpRequest, actor: Actor, contact: Contact | None) -> ContactForm:
    lists = list(selectors.contact_list_query(account=actor.account))
    specs = selectors.field_specs(account=actor.account)
    if request.method == "POST":
        return ContactForm(request.POST, specs=specs, lists=lists)
    initial = ContactForm.initial_for(contact) if contact else {}
    if contact is None and request.GET.get("list"):
        initial["lists"] = [request.GET["list"]]
    return ContactForm(initial=initial, specs=specs, lists=lists)


@account_view(Perm.CONTACTS_MANAGE)
def contact_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = _contact_form(request, actor, None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(
                actor=actor, account=actor.account, mobile=form.cleaned_data["mobile"],
                values=form.values(), custom=form.custom(),
                lists=selectors.contact_lists_by_id(account=actor.account,
                                                    ids=form.cleaned_data["lists"]))
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Contact %(number)s added.") % {"number": contact.mobile})
            return redirect("web:contacts")
    return render(request, "web/contact_form.html", {"form": form, "contact": None})


@account_view(Perm.CONTACTS_MANAGE)
def contact_edit(request: HttpRequest, actor: Actor, contact_id: UUID) -> HttpResponse:
    contact = selectors.contact_get(account=actor.account, id=contact_id)
    form = _contact_form(request, actor, contact)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(
                actor=actor, contact=contact,
                values={"mobile": form.cleaned_data["mobile"], **form.values()},
                custom=form.custom(),
                lists=selectors.contact_lists_by_id(account=actor.account,
                                                    ids=form.cleaned_data["lists"]))
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Contact saved."))
            return redirect("web:contact_edit", contact_id=contact.pk)
    return render(request, "web/contact_form.html", {"form": form, "contact": contact})


@account_view(Perm.CONTACTS_MANAGE)
def contact_delete_view(request: HttpRequest, actor: Actor, contact_id: UUID) -> HttpResponse:
    contact = selectors.contact_get(account=actor.account, id=contact_id)
    return confirmed_action(
        request,
        act=lambda: services.contact_delete(actor=actor, contact=contact),
        question=_("Delete the contact %(number)s? It leaves the address book and its lists; "
                   "this does not put the number on the red list.") % {"number": contact.mobile},
        button=_("Delete the contact"),
        back=reverse("web:contacts"),
        done=_("The contact %(number)s was deleted.") % {"number": contact.mobile},
        row=lambda _result: HttpResponse(""),
    )


# --- lists ---------------------------------------------------------------------------------------


@account_view(Perm.CONTACTS_MANAGE)
def list_index(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = ContactListForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.contact_list_create(actor=actor, account=actor.account,
                                                   **form.cleaned_data)
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("List “%(name)s” created.") % {"name": created.name})
            return redirect("web:contact_list", list_id=created.pk)
    return render(request, "web/contact_lists.html", {
        "form": form, "lists": selectors.contact_list_query(account=actor.account)})


@account_view(Perm.CONTACTS_MANAGE)
def list_detail(request: HttpRequest, actor: Actor, list_id: UUID) -> HttpResponse:
    contact_list = selectors.contact_list_get(account=actor.account, id=list_id)
    action = request.POST.get("action")
    form = ContactListForm(request.POST if action == "rename" else None, initial={
        "name": contact_list.name, "description": contact_list.description})
    add_form = AddMembersForm(request.POST if action == "add" else None)
    if action == "rename" and form.is_valid():
        try:
            services.contact_list_update(actor=actor, contact_list=contact_list,
                                         **form.cleaned_data)
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("List saved."))
            return redirect("web:contact_list", list_id=list_id)
    if action == "add" and add_form.is_valid():
        numbers, unknown = [], []
        for raw in add_form.cleaned_data["numbers"].splitlines():
            if raw.strip():
                try:
                    numbers.append(normalize_mobile(raw.strip(),
                                                    default_country=actor.account.default_country))
                except FieldValueError:
                    unknown.append(raw.strip())
        contacts = list(Contact.objects.filter(account=actor.account, mobile__in=numbers))
        found = {c.mobile for c in contacts}
        unknown += [n for n in numbers if n not in found]
        added = services.contact_list_add(actor=actor, contact_list=contact_list,
                                          contacts=contacts)
        messages.success(request, _("%(n)d contacts added to the list.") % {"n": added})
        if unknown:
            messages.warning(request, _("Not contacts of this account: %(numbers)s") % {
                "numbers": ", ".join(unknown[:20])})
        return redirect("web:contact_list", list_id=list_id)
    members = selectors.contact_query(account=actor.account, list_id=str(list_id))
    page = Paginator(members, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/contact_list.html", {
        "contact_list": contact_list, "form": form, "add_form": add_form, "page": page})


@account_view(Perm.CONTACTS_MANAGE)
def list_delete(request: HttpRequest, actor: Actor, list_id: UUID) -> HttpResponse:
    contact_list = selectors.contact_list_get(account=actor.account, id=list_id)
    return confirmed_action(
        request,
        act=lambda: services.contact_list_delete(actor=actor, contact_list=contact_list),
        question=_("Delete the list “%(name)s”? Its contacts stay in the address book.")
        % {"name": contact_list.name},
        button=_("Delete the list"),
        back=reverse("web:contact_lists"),
        done=_("The list “%(name)s” was deleted.") % {"name": contact_list.name},
    )


@require_POST
@account_view(Perm.CONTACTS_MANAGE)
def list_remove_member(request: HttpRequest, actor: Actor, list_id: UUID,
                       contact_id: UUID) -> HttpResponse:
    contact_list = selectors.contact_list_get(account=actor.account, id=list_id)
    contact = selectors.contact_get(account=actor.account, id=contact_id)
    services.contact_list_remove(actor=actor, contact_list=contact_list, contacts=[contact])
    if request.headers.get("HX-Request") == "true":
        return HttpResponse("")
    messages.success(request, _("%(number)s was taken out of the list.") % {
        "number": contact.mobile})
    return redirect("web:contact_list", list_id=list_id)


# --- custom fields ---------------------------------------------------------------------------


@account_view(Perm.CONTACTS_MANAGE)
def field_index(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            field = services.custom_field_create(
                actor=actor, account=actor.account, key=data["key"].strip(),
                label=data["label"], type=data["type"], choices=form.choice_list())
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Field “%(label)s” added.") % {"label": field.label})
            return redirect("web:contact_fields")
    return render(request, "web/contact_fields.html", {
        "form": form, "fields": selectors.custom_field_query(account=actor.account)})


@account_view(Perm.CONTACTS_MANAGE)
def field_edit(request: HttpRequest, actor: Actor, field_id: UUID) -> HttpResponse:
    field = selectors.custom_field_get(account=actor.account, id=field_id)
    form = CustomFieldEditForm(request.POST or None, initial={
        "label": field.label, "choices": "\n".join(field.choices)})
    if request.method == "POST" and form.is_valid():
        try:
            services.custom_field_update(
                actor=actor, field=field, label=form.cleaned_data["label"],
                choices=form.choice_list() if field.type == "choice" else None)
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Field saved."))
            return redirect("web:contact_fields")
    if field.type != "choice":
        del form.fields["choices"]
    return render(request, "web/contact_field.html", {"form": form, "field": field})


@account_view(Perm.CONTACTS_MANAGE)
def field_delete(request: HttpRequest, actor: Actor, field_id: UUID) -> HttpResponse:
    field = selectors.custom_field_get(account=actor.account, id=field_id)
    return confirmed_action(
        request,
        act=lambda: services.custom_field_delete(actor=actor, field=field),
        question=_("Delete the field “%(label)s” and its value in every contact?")
        % {"label": field.label},
        button=_("Delete the field"),
        back=reverse("web:contact_fields"),
        done=_("The field “%(label)s” was deleted.") % {"label": field.label},
    )


# --- duplicates ------------------------------------------------------------------------------


@account_view(Perm.CONTACTS_MANAGE)
def duplicates(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Duplicate numbers found by normalising again; merge one group or all of them."""
    if request.method == "POST":
        number = request.POST.get("number")
        report = services.contacts_dedupe(actor=actor, account=actor.account,
                                          numbers=[number] if number else None)
        messages.success(request, _(
            "%(groups)d groups merged (%(removed)d duplicate contacts removed), %(renumbered)d "
            "numbers rewritten in international form.") % {
            "groups": report.groups, "removed": report.removed,
            "renumbered": report.renumbered})
        return redirect("web:contact_duplicates")
    scan = selectors.contact_duplicates(account=actor.account)
    return render(request, "web/contact_duplicates.html", {"scan": scan})
