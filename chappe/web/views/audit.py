"""The account's audit log (P-13), newest first, 50 entries a page."""

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.audit.selectors import audit_entry_list
from chappe.web.auth import account_view
from chappe.web.forms import AuditFilterForm

PAGE_SIZE = 50

# Readable names of the actions services record; an unknown action shows its code.
ACTION_LABELS = {
    "account.create": _("Account created"),
    "account.update": _("Company details changed"),
    "account.suspend": _("Account suspended"),
    "account.reactivate": _("Account reactivated"),
    "account.terminate": _("Account terminated"),
    "account.documents_request": _("Documents requested"),
    "account.document_upload": _("Document uploaded"),
    "account.documents_received": _("Documents received"),
    "subaccount.create": _("Sub-account created"),
    "service.order": _("Service ordered"),
    "service.suspend": _("Service suspended"),
    "service.reactivate": _("Service reactivated"),
    "service.terminate": _("Service terminated"),
    "user.invite": _("User invited"),
    "user.join": _("User joined"),
    "user.update": _("User changed"),
    "user.login": _("Logged in"),
    "user.login_failed": _("Failed login"),
    "user.password_change": _("Password changed"),
    "user.password_reset": _("Password reset"),
    "invitation.revoke": _("Invitation revoked"),
    "api_key.create": _("API key created"),
    "api_key.revoke": _("API key revoked"),
}


def _details(details: Any) -> list[tuple[str, str]]:
    """An entry's details as (name, text) pairs; lists read as comma-separated values."""
    if not isinstance(details, dict):
        return [("", str(details))] if details else []
    return [
        (str(name), ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value))
        for name, value in details.items()
    ]


@account_view(Perm.AUDIT_VIEW)
def audit_log(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    action = form.cleaned_data["action"].strip() if form.is_valid() else ""
    entries = audit_entry_list(account=actor.account, action=action or None)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(entry, ACTION_LABELS.get(entry.action, ""), _details(entry.details)) for entry in page]
    prefixes = sorted({code.split(".")[0] for code in ACTION_LABELS} | set(ACTION_LABELS))
    return render(request, "web/audit.html", {
        "form": form,
        "page": page,
        "rows": rows,
        "action_prefixes": prefixes,
    })
