"""Support (P-11, C-12): the account's tickets with this month's quota and the phone
desk's hours, a new ticket, and a ticket's thread with the client's reply."""

from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.common.errors import ChappeError
from chappe.common.lookup import get_or_404
from chappe.support.access import grants_running, support_access_grant, support_access_revoke
from chappe.support.hours import desk_schedule
from chappe.support.models import Severity, SupportAccessGrant
from chappe.support.selectors import ticket_get, ticket_list
from chappe.support.services import (
    BODY_MAX,
    SUBJECT_MAX,
    ticket_client_reply,
    ticket_open,
    ticket_quota,
)
from chappe.web.auth import REFUSALS, account_view, apply_service_error


class TicketForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=SUBJECT_MAX)
    severity = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Severity.choices,
                                 required=False)
    body = forms.CharField(label=gettext_lazy("Message"), max_length=BODY_MAX,
                           widget=forms.Textarea(attrs={"rows": 6}))


class ReplyForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Your reply"), max_length=BODY_MAX,
                           widget=forms.Textarea(attrs={"rows": 4}))


def _desk() -> dict:
    schedule, now = desk_schedule(), timezone.now()
    conf = settings.CHAPPE_SUPPORT
    return {"phone": conf["phone"], "email": conf["email"], "hours": conf["hours"],
            "open_now": schedule.is_open(now), "next_open": schedule.next_open(now),
            "desk_timezone": conf["timezone"]}


@account_view(Perm.ACCOUNT_VIEW)
def support_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = TicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = ticket_open(actor=actor, account=actor.account, **form.cleaned_data)
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Your ticket was sent; the answer will also be "
                                        "e-mailed to you."))
            return redirect("web:support_ticket", ticket_id=ticket.pk)
    return render(request, "web/support.html", {
        "form": form, "quota": ticket_quota(account=actor.account),
        "tickets": ticket_list(account=actor.account)[:100], **_desk(),
        "grants": grants_running().filter(account=actor.account),
        "can_grant": actor.can(Perm.ACCOUNT_MANAGE),
    })


@account_view(Perm.ACCOUNT_VIEW)
def support_ticket(request: HttpRequest, actor: Actor, ticket_id: UUID) -> HttpResponse:
    ticket = ticket_get(account=actor.account, id=ticket_id)
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket_client_reply(actor=actor, ticket=ticket, body=form.cleaned_data["body"])
        except REFUSALS:
            raise
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            return redirect("web:support_ticket", ticket_id=ticket.pk)
    return render(request, "web/support_ticket.html", {
        "ticket": ticket, "thread": ticket.messages.all(), "form": form,
    })


@account_view(Perm.ACCOUNT_MANAGE)
def support_access(request: HttpRequest, actor: Actor) -> HttpResponse:
    """Let the operator's support see the account's data for a while (P-19), or stop it."""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "revoke":
                grant = get_or_404(SupportAccessGrant.objects.filter(account=actor.account),
                                   request.POST.get("grant"))
                support_access_revoke(actor=actor, grant=grant)
                messages.success(request, _("The support access was revoked."))
            else:
                hours = request.POST.get("hours", "")
                support_access_grant(actor=actor, account=actor.account,
                                     hours=int(hours) if hours.isdigit() else 0,
                                     reason=request.POST.get("reason", ""))
                messages.success(request, _("The support can see your data until the "
                                            "access ends."))
        except REFUSALS:
            raise
        except ChappeError as exc:
            messages.error(request, exc.message)
    return redirect("web:support")
