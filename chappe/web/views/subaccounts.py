"""Sub-accounts (P-2): list, create, terminate."""

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from chappe.accounts import selectors
from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.accounts.services import account_create, account_terminate
from chappe.common.errors import ChappeError
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.forms import SubaccountForm, timezone_names
from chappe.web.views.common import confirmed_action


@account_view(Perm.SUBACCOUNTS_MANAGE)
def subaccount_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = SubaccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sub = account_create(actor=actor, parent=actor.account, **form.given())
        except REFUSALS:
            raise  # the central 403 / 404 pages
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("The sub-account “%(name)s” was created.")
                             % {"name": sub.name})
            return redirect("web:subaccounts")
    return render(request, "web/subaccounts.html", {
        "subaccounts": selectors.subaccount_list(account=actor.account),
        "form": form,
        "timezones": timezone_names(),
    })


@account_view(Perm.SUBACCOUNTS_MANAGE)
def subaccount_terminate(request: HttpRequest, actor: Actor, subaccount_id: UUID) -> HttpResponse:
    sub = selectors.subaccount_get(account=actor.account, id=subaccount_id)
    return confirmed_action(
        request,
        act=lambda: account_terminate(actor=actor, account=sub),
        question=_("Terminate the sub-account “%(name)s”? Its services, users and API keys "
                   "stop at once, and its data is deleted when the retention period "
                   "ends. This cannot be undone.") % {"name": sub.name},
        button=_("Terminate"),
        back=reverse("web:subaccounts"),
        done=_("The sub-account “%(name)s” was terminated.") % {"name": sub.name},
    )
