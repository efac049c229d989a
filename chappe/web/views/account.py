"""Account home: the company's details, its ordered services and their state."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from chappe.accounts import selectors
from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.accounts.services import account_update, service_require
from chappe.common.errors import ChappeError, ServiceRefused
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.forms import AccountForm, timezone_names


@account_view(Perm.ACCOUNT_VIEW)
def home(request: HttpRequest, actor: Actor) -> HttpResponse:
    account = actor.account
    services = []
    if actor.can(Perm.SERVICES_VIEW):
        for service in selectors.service_list(account=account):
            # The gate every product passes: it also reports a suspension of the account
            # or of a parent account, which the service's own status does not show.
            try:
                service_require(account=account, kind=service.kind)
                refusal = ""
            except ServiceRefused as exc:
                refusal = exc.message
            services.append({"service": service, "refusal": refusal})
    return render(request, "web/home.html", {
        "services": services,
        "parent": account.parent,
        "can_edit": actor.can(Perm.ACCOUNT_MANAGE),
    })


@account_view(Perm.ACCOUNT_MANAGE)
def account_edit(request: HttpRequest, actor: Actor) -> HttpResponse:
    account = actor.account
    if request.method == "POST":
        form = AccountForm(request.POST)
        if form.is_valid():
            try:
                account_update(actor=actor, account=account, **form.changes())
            except REFUSALS:
                raise  # the central 403 / 404 pages
            except ChappeError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("The company details were saved."))
                return redirect("web:home")
    else:
        form = AccountForm(initial=AccountForm.initial_for(account))
    return render(request, "web/account_edit.html",
                  {"form": form, "timezones": timezone_names()})
