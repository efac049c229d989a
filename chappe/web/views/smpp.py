"""SMPP access (M-17): the account's SMPP credentials — create, change, disable — and
where to bind. Credentials are managed with the same right as API keys."""

from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.common.errors import ChappeError
from chappe.smpp_server import selectors, services
from chappe.web.auth import account_view, apply_service_error
from chappe.web.forms import SmppAccountEditForm, SmppAccountForm
from chappe.web.views.common import confirmed_action


def _bind_address() -> tuple[str, str]:
    """Host and port clients bind to, as this platform publishes them."""
    return (urlsplit(settings.PUBLIC_URL).hostname or "127.0.0.1",
            str(settings.CHAPPE_SMPP_PORT))


@account_view(Perm.API_KEYS_MANAGE)
def smpp_account_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = SmppAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            smpp = services.smpp_account_create(actor=actor, account=actor.account,
                                                **form.cleaned_data)
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("SMPP credentials “%(system_id)s” created.")
                             % {"system_id": smpp.system_id})
            return redirect("web:smpp")
    host, port = _bind_address()
    return render(request, "web/smpp.html", {
        "credentials": selectors.smpp_account_list(account=actor.account).filter(enabled=True),
        "form": form, "host": host, "port": port,
    })


@account_view(Perm.API_KEYS_MANAGE)
def smpp_account_edit(request: HttpRequest, actor: Actor, smpp_id: UUID) -> HttpResponse:
    smpp = selectors.smpp_account_get(account=actor.account, id=smpp_id)
    form = SmppAccountEditForm(request.POST or None, initial={
        "allowed_ips": "\n".join(smpp.allowed_ips), "max_binds": smpp.max_binds,
        "max_msg_per_s": smpp.max_msg_per_s, "default_sender": smpp.default_sender,
        "default_alphabet": smpp.default_alphabet})
    if request.method == "POST" and form.is_valid():
        changes = {**form.cleaned_data, "password": form.cleaned_data["password"] or None}
        try:
            services.smpp_account_update(actor=actor, smpp=smpp, **changes)
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("SMPP credentials “%(system_id)s” saved.")
                             % {"system_id": smpp.system_id})
            return redirect("web:smpp")
    return render(request, "web/smpp_edit.html", {"smpp": smpp, "form": form})


@account_view(Perm.API_KEYS_MANAGE)
def smpp_account_disable(request: HttpRequest, actor: Actor, smpp_id: UUID) -> HttpResponse:
    smpp = selectors.smpp_account_get(account=actor.account, id=smpp_id)
    system_id = smpp.system_id
    return confirmed_action(
        request,
        act=lambda: services.smpp_account_delete(actor=actor, smpp=smpp),
        question=_("Delete the SMPP credentials “%(system_id)s”? Binds with them are refused "
                   "from now on; receipts of messages already sent stay in the history.")
        % {"system_id": system_id},
        button=_("Delete"),
        back=reverse("web:smpp"),
        done=_("SMPP credentials “%(system_id)s” deleted.") % {"system_id": system_id},
    )
