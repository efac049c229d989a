"""Notices and transparency in the web app (P-12, P-14, P-16): the notices, the terms
of service to accept, the sub-processors (with the objection to a change), the
recipients' requests forwarded by the operator; and the public legal page (the DPO,
the sub-processors, the terms in force)."""

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.common.errors import ChappeError
from chappe.common.lookup import get_or_404
from chappe.notices.models import Notice, NoticeKind, RecipientRequest, SubProcessor
from chappe.notices.services import (
    objection_open_until,
    recipient_request_answer,
    subprocessor_object,
    terms_accept,
    terms_accepted,
    terms_current,
    terms_upcoming,
)
from chappe.web.auth import REFUSALS, account_view


def _run(request: HttpRequest, act, done: str) -> None:
    try:
        act()
    except REFUSALS:
        raise
    except ChappeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)


def _subprocessors():
    now = timezone.now()
    return SubProcessor.objects.filter(listed_from__lte=now).exclude(listed_until__lte=now)


@account_view(Perm.ACCOUNT_VIEW)
def notices(request: HttpRequest, actor: Actor) -> HttpResponse:
    account, now = actor.account, timezone.now()
    current = terms_current(now=now)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "accept" and current is not None:
            _run(request, lambda: terms_accept(actor=actor, account=account, terms=current),
                 _("You accepted the terms of service %(version)s.")
                 % {"version": current.version})
        elif action == "object":
            notice = get_or_404(Notice.objects.filter(kind=NoticeKind.SUBPROCESSOR_CHANGE),
                                request.POST.get("notice"))
            _run(request, lambda: subprocessor_object(
                actor=actor, account=account, notice=notice,
                reason=request.POST.get("reason", "")[:5000]), _("Your objection was sent."))
        return redirect("web:notices")
    recent = (Notice.objects.filter(published_at__lte=now)
              .filter(Q(accounts__isnull=True) | Q(accounts=account)).distinct()
              .order_by("-published_at")[:30])
    return render(request, "web/notices.html", {
        "notices": [(n, objection_open_until(n) if n.kind == NoticeKind.SUBPROCESSOR_CHANGE
                     and objection_open_until(n) > now else None) for n in recent],
        "terms": current, "upcoming": terms_upcoming(now=now),
        "acceptance": terms_accepted(account=account, terms=current) if current else None,
        "can_accept": actor.can(Perm.ACCOUNT_MANAGE),
        "subprocessors": _subprocessors(),
    })


@account_view(Perm.ACCOUNT_MANAGE)
def recipient_requests(request: HttpRequest, actor: Actor) -> HttpResponse:
    if request.method == "POST":
        forwarded = get_or_404(RecipientRequest.objects.filter(account=actor.account),
                               request.POST.get("request"))
        _run(request, lambda: recipient_request_answer(
            actor=actor, request=forwarded, answer=request.POST.get("answer", "")[:5000]),
             _("The answer was recorded."))
        return redirect("web:recipient_requests")
    return render(request, "web/recipient_requests.html", {
        "requests": RecipientRequest.objects.filter(account=actor.account)[:100]})


def legal(request: HttpRequest) -> HttpResponse:
    """Public: the platform's DPO, its sub-processors, the terms in force."""
    return render(request, "web/legal.html", {
        "dpo": settings.CHAPPE_NOTICES["dpo"], "subprocessors": _subprocessors(),
        "terms": terms_current(),
    })

