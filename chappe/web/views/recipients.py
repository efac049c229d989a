"""Recipients' rights (P-12): for one phone number, everything the account holds, its
export as JSON, rectification (the contact's form) and erasure.

The number is always sent in a POST body, never in the URL: it must not stay in access
logs or the browser history once erased.
"""

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.common.errors import ChappeError
from chappe.contacts.services import recipient_number
from chappe.privacy.export import recipient_document
from chappe.privacy.rights import recipient_erase
from chappe.privacy.selectors import recipient_data
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.contact_forms import ErasureForm, RecipientForm


@account_view(Perm.CONTACTS_MANAGE)
def recipient(request: HttpRequest, actor: Actor) -> HttpResponse:
    actor.require(Perm.MESSAGING_VIEW)
    action = request.POST.get("action", "show")
    form = RecipientForm(request.POST if request.method == "POST" else None)
    context: dict = {"form": form, "can_erase": actor.can(Perm.ACCOUNT_MANAGE)}
    if request.method != "POST" or not form.is_valid():
        return render(request, "web/recipient.html", context)
    try:
        e164 = recipient_number(account=actor.account, number=form.cleaned_data["number"])
    except ChappeError as exc:
        apply_service_error(form, exc)
        return render(request, "web/recipient.html", context)

    if action == "erase":
        actor.require(Perm.ACCOUNT_MANAGE)
        erase_form = ErasureForm(request.POST)
        if erase_form.is_valid():
            try:
                report = recipient_erase(
                    actor=actor, account=actor.account, number=e164,
                    keep_opt_out=erase_form.cleaned_data["keep_opt_out"])
            except REFUSALS:
                raise
            except ChappeError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _(
                    "The number was erased: %(contacts)d contact deleted, %(messages)d "
                    "messages and %(replies)d replies anonymised.") % {
                    "contacts": report.contacts, "messages": report.messages,
                    "replies": report.replies})
                return redirect("web:recipient")
        context["erase_form"] = erase_form

    data = recipient_data(account=actor.account, number=e164)
    if action == "export":
        document = recipient_document(account=actor.account, data=data)
        response = HttpResponse(json.dumps(document, ensure_ascii=False, indent=2),
                                content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="recipient-data.json"'
        return response
    context.setdefault("erase_form", ErasureForm(initial={"number": e164, "keep_opt_out": True}))
    context.update(number=e164, data=data, messages_list=data.messages[:200],
                   message_count=data.messages.count(), replies=data.replies[:200])
    return render(request, "web/recipient.html", context)
