"""The account's closure (P-9, P-10): give or withdraw notice, and the export bundle of
all the account's data — the one page a terminated account still reaches, until its
purge."""

from uuid import UUID

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import AccountStatus
from chappe.accounts.roles import Perm
from chappe.common.errors import ChappeError, NotFound
from chappe.lifecycle.export import (
    export_available,
    export_download_record,
    export_get,
    export_request,
)
from chappe.lifecycle.models import BundleStatus, ExportBundle, NoticeKind
from chappe.lifecycle.notices import (
    termination_notice_cancel,
    termination_notice_give,
    termination_notice_running,
)
from chappe.privacy.purge import purge_due_at
from chappe.web.auth import REFUSALS, account_view

_ACTIONS = {
    "export": (lambda actor, notice: export_request(actor=actor, account=actor.account),
               _("The export is being prepared; this page shows its progress.")),
    "notice": (lambda actor, notice: termination_notice_give(
        actor=actor, account=actor.account, kind=NoticeKind.CLIENT),
               _("Your notice of termination was recorded.")),
    "withdraw": (lambda actor, notice: termination_notice_cancel(
        actor=actor, notice=notice, note="withdrawn by the client") if notice else None,
                 _("Your notice was withdrawn.")),
}


@account_view(Perm.ACCOUNT_MANAGE, terminated_ok=True)
def closure(request: HttpRequest, actor: Actor) -> HttpResponse:
    account = actor.account
    notice = termination_notice_running(account=account)
    if request.method == "POST" and request.POST.get("action") in _ACTIONS:
        act, done = _ACTIONS[request.POST["action"]]
        try:
            act(actor, notice)
        except REFUSALS:
            raise
        except ChappeError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
        return redirect("web:closure")
    bundles = ExportBundle.objects.filter(account=account)[:10]
    return render(request, "web/closure.html", {
        "terminated": account.status == AccountStatus.TERMINATED,
        "purge_at": purge_due_at(account),
        "notice": notice,
        "bundles": bundles,
        "building": any(b.status in (BundleStatus.QUEUED, BundleStatus.BUILDING)
                        for b in bundles),
        "available": export_available(account),
        "top_level": account.parent_id is None,
    })


@account_view(Perm.ACCOUNT_MANAGE, terminated_ok=True)
def export_download(request: HttpRequest, actor: Actor, bundle_id: UUID) -> HttpResponse:
    bundle = export_get(account=actor.account, id=bundle_id)
    if bundle.status != BundleStatus.READY or not bundle.file:
        raise NotFound()
    export_download_record(actor=actor, bundle=bundle)
    return FileResponse(bundle.file.open("rb"), as_attachment=True,
                        filename=bundle.file.name.rsplit("/", 1)[-1],
                        content_type="application/zip")
