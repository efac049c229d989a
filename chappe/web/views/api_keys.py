"""API keys (P-3): list, create (the secret is shown once), revoke."""

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from chappe.accounts import selectors
from chappe.accounts.actor import Actor
from chappe.accounts.models import ApiKey
from chappe.accounts.roles import Perm
from chappe.accounts.services import api_key_create, api_key_revoke
from chappe.common.errors import ChappeError
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.forms import ApiKeyForm
from chappe.web.views.common import confirmed_action


@never_cache
@account_view(Perm.API_KEYS_MANAGE)
def api_key_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The list and the creation form. A successful creation answers this page directly
    (not a redirect) with the secret in it, so the secret is never stored anywhere,
    not even in the session: it is in this one response, marked not cacheable."""
    form = ApiKeyForm(request.POST or None)
    created: tuple[ApiKey, str] | None = None
    if request.method == "POST" and form.is_valid():
        try:
            created = api_key_create(actor=actor, account=actor.account,
                                     name=form.cleaned_data["name"],
                                     role=form.cleaned_data["role"])
        except REFUSALS:
            raise  # the central 403 / 404 pages
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            form = ApiKeyForm()
    keys = selectors.api_key_list(account=actor.account).select_related("created_by")
    return render(request, "web/api_keys.html", {
        "keys": keys,
        "form": form,
        "created_key": created[0] if created else None,
        "created_secret": created[1] if created else "",
        "twilio_account_sid": actor.account.twilio_account_sid,
    })


@account_view(Perm.API_KEYS_MANAGE)
def api_key_revoke_view(request: HttpRequest, actor: Actor, key_id: UUID) -> HttpResponse:
    key = selectors.api_key_get(account=actor.account, id=key_id)

    def row(result: ApiKey) -> HttpResponse:
        return render(request, "web/partials/api_key_row.html", {"key": result})

    return confirmed_action(
        request,
        act=lambda: api_key_revoke(actor=actor, api_key=key),
        question=_("Revoke the API key “%(name)s” (%(prefix)s…)? Requests made with it will "
                   "be refused from now on.") % {"name": key.name, "prefix": key.prefix},
        button=_("Revoke"),
        back=reverse("web:api_keys"),
        done=_("The API key “%(name)s” was revoked.") % {"name": key.name},
        row=row,
    )
