"""Red list pages (M-5): the list (search, add, import, export), removal with a reason,
and the company's written choice of who manages it."""


from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.common.csv_export import csv_response
from chappe.common.errors import ChappeError
from chappe.contacts import selectors, services
from chappe.contacts.export import OPT_OUT_HEADER, opt_out_rows, xlsx_response
from chappe.contacts.models import OptOutSource
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.contact_forms import (
    OptOutFilterForm,
    OptOutForm,
    OptOutImportForm,
    OptOutRemoveForm,
    RedListPolicyForm,
)

PAGE_SIZE = 50


def _filtered(request: HttpRequest, actor: Actor):
    form = OptOutFilterForm(request.GET)
    filters = {}
    if form.is_valid():
        filters = {"search": form.cleaned_data["q"], "source": form.cleaned_data["source"]}
    return form, selectors.opt_out_query(account=actor.account, **filters)


@account_view(Perm.CONTACTS_MANAGE)
def red_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    action = request.POST.get("action")
    add_form = OptOutForm(request.POST if action == "add" else None)
    import_form = OptOutImportForm(request.POST if action == "import" else None,
                                   request.FILES if action == "import" else None)
    if action == "add" and add_form.is_valid():
        try:
            entry = services.opt_out_add(actor=actor, account=actor.account,
                                         number=add_form.cleaned_data["number"],
                                         source=OptOutSource.MANUAL,
                                         note=add_form.cleaned_data["note"])
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(add_form, exc)
        else:
            messages.success(request, _("%(number)s is on the red list.") % {
                "number": entry.number})
            return redirect("web:red_list")
    if action == "import" and import_form.is_valid():
        upload = import_form.cleaned_data["file"]
        try:
            report = services.opt_outs_import(actor=actor, account=actor.account,
                                              data=upload.read(), file_name=upload.name)
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(import_form, exc)
        else:
            messages.success(request, _(
                "%(added)d numbers added to the red list, %(already)d already on it, "
                "%(invalid)d rows without a valid number.") % {
                "added": report.added, "already": report.already, "invalid": report.invalid})
            for line, value, message in report.errors[:10]:
                messages.warning(request, _("Line %(line)d (%(value)s): %(message)s") % {
                    "line": line, "value": value, "message": message})
            return redirect("web:red_list")
    form, entries = _filtered(request, actor)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/red_list.html", {
        "form": form, "page": page, "add_form": add_form, "import_form": import_form,
        "policy": selectors.red_list_policy_get(account=actor.account),
        "can_set_policy": actor.can(Perm.ACCOUNT_MANAGE),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
        "export_query": query.urlencode(),
    })


@account_view(Perm.CONTACTS_MANAGE)
def red_list_export(request: HttpRequest, actor: Actor) -> HttpResponse:
    _form, entries = _filtered(request, actor)
    if request.GET.get("format") == "xlsx":
        return xlsx_response("red-list.xlsx", OPT_OUT_HEADER, opt_out_rows(entries))
    return csv_response("red-list.csv", OPT_OUT_HEADER, opt_out_rows(entries))


@account_view(Perm.CONTACTS_MANAGE)
def opt_out_remove(request: HttpRequest, actor: Actor, opt_out_id: int) -> HttpResponse:
    entry = selectors.opt_out_get(account=actor.account, id=opt_out_id)
    policy = selectors.red_list_policy_get(account=actor.account)
    form = OptOutRemoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.opt_out_remove(actor=actor, opt_out=entry,
                                    reason=form.cleaned_data["reason"])
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The number was taken off the red list."))
            return redirect("web:red_list")
    return render(request, "web/opt_out_remove.html", {
        "entry": entry, "form": form, "policy": policy,
        "blocked": entry.source == OptOutSource.STOP_REPLY and not policy.self_managed})


@account_view(Perm.CONTACTS_MANAGE)
def red_list_policy(request: HttpRequest, actor: Actor) -> HttpResponse:
    policy = selectors.red_list_policy_get(account=actor.account)
    can_set = actor.can(Perm.ACCOUNT_MANAGE)
    form = RedListPolicyForm(request.POST or None, initial={
        "self_managed": policy.self_managed, "statement": policy.statement})
    if request.method == "POST":
        actor.require(Perm.ACCOUNT_MANAGE)
        if form.is_valid():
            try:
                services.red_list_policy_set(actor=actor, account=actor.account,
                                             **form.cleaned_data)
            except REFUSALS:
                raise
            except ChappeError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Your choice was recorded."))
                return redirect("web:red_list")
    return render(request, "web/red_list_policy.html", {
        "policy": policy, "form": form if can_set else None})
