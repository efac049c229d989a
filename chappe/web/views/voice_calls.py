"""Call history and voicemails (C-3, C-9, C-10): the call records with filters and CSV
export, one call with its legs, flow path and state transitions, and the voicemails —
played in the page from an authenticated, account-scoped audio view, marked listened,
deleted — with the user's choice to get each new one by e-mail."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.callcenter import recordings, selectors, voicemails
from chappe.callcenter.models import CallRecord, CallRecording, Voicemail
from chappe.callcenter.services import CALLS_CSV_HEADER, calls_csv_rows
from chappe.common.csv_export import csv_response
from chappe.common.numbers import e164_or_as_typed
from chappe.web.auth import account_view, is_htmx
from chappe.web.forms import account_zone, day_range
from chappe.web.views.common import confirmed_action
from chappe.web.voice_forms import CallFilterForm

PAGE_SIZE = 50


# --- call history ------------------------------------------------------------------------------


def _calls(request: HttpRequest, actor: Actor) -> tuple[CallFilterForm, QuerySet[CallRecord]]:
    account = actor.account
    form = CallFilterForm(request.GET)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        number = e164_or_as_typed(data["number"], default_country=account.default_country)
        since, until = day_range(data["since"], data["until"], account_zone(account))
        filters = {"direction": data["direction"] or None,
                   "disposition": data["disposition"] or None,
                   "number": number or None, "since": since, "until": until}
    return form, selectors.call_list(account=account, **filters)


@account_view(Perm.CALLS_HANDLE)
def call_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    form, records = _calls(request, actor)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/voice_calls.html", {
        "form": form, "page": page, "export_query": query.urlencode(),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
    })


@account_view(Perm.CALLS_HANDLE)
def call_export(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The filtered history as CSV (formula-safe), the columns of GET /api/v1/calls.csv."""
    _form, records = _calls(request, actor)
    return csv_response("calls.csv", CALLS_CSV_HEADER, calls_csv_rows(records))


@account_view(Perm.CALLS_HANDLE)
def call_detail(request: HttpRequest, actor: Actor, call_id: UUID) -> HttpResponse:
    record = selectors.call_get(account=actor.account, call_id=call_id)
    return render(request, "web/voice_call_detail.html", {
        "call": record,
        "legs": record.legs.order_by("started_at"),
        "voicemail": Voicemail.objects.filter(call=record).first(),
        "recording": CallRecording.objects.filter(call=record).first(),
    })


@account_view(Perm.CALLS_HANDLE)
def call_recording_audio(request: HttpRequest, actor: Actor, call_id: UUID) -> HttpResponse:
    """The recorded conversation (stereo WAV) for the page's <audio> player."""
    recording = recordings.recording_get(account=actor.account, call_id=call_id)
    return FileResponse(selectors.data_file(recording.path).open("rb"),
                        content_type="audio/wav", filename=f"call-{call_id}.wav")


# --- voicemails -----------------------------------------------------------------------------------


@account_view(Perm.CALLS_HANDLE)
def voicemail_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    unheard = request.GET.get("unheard") == "1"
    rows = selectors.voicemail_list(account=actor.account, listened=False if unheard else None)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/voice_voicemails.html", {
        "page": page, "unheard": unheard,
        "alert_on": selectors.voicemail_alert_on(user=actor.user),
    })


@account_view(Perm.CALLS_HANDLE)
def voicemail_audio(request: HttpRequest, actor: Actor, voicemail_id: UUID) -> HttpResponse:
    """The recording (8 kHz mono WAV) for the page's <audio> player."""
    voicemail = selectors.voicemail_get(account=actor.account, voicemail_id=voicemail_id)
    return FileResponse(selectors.data_file(voicemail.path).open("rb"),
                        content_type="audio/wav", filename=f"voicemail-{voicemail.pk}.wav")


@require_POST
@account_view(Perm.CALLS_HANDLE)
def voicemail_listened(request: HttpRequest, actor: Actor, voicemail_id: UUID) -> HttpResponse:
    voicemail = voicemails.voicemail_mark(actor=actor, account=actor.account,
                                          voicemail_id=voicemail_id,
                                          listened=request.POST.get("listened") != "0")
    if is_htmx(request):
        return render(request, "web/partials/voice_voicemail_row.html", {"vm": voicemail})
    return redirect("web:voicemails")


@account_view(Perm.CALLS_HANDLE)
def voicemail_delete(request: HttpRequest, actor: Actor, voicemail_id: UUID) -> HttpResponse:
    voicemail = selectors.voicemail_get(account=actor.account, voicemail_id=voicemail_id)
    caller = voicemail.call.from_number
    return confirmed_action(
        request,
        act=lambda: voicemails.voicemail_delete(actor=actor, account=actor.account,
                                                voicemail_id=voicemail.pk),
        question=_("Delete the voicemail from %(caller)s? The recording is lost; the call "
                   "stays in the history.") % {"caller": caller},
        button=_("Delete the voicemail"),
        back=reverse("web:voicemails"),
        done=_("The voicemail from %(caller)s was deleted.") % {"caller": caller},
        row=lambda _result: HttpResponse(""),
    )


@require_POST
@account_view(Perm.CALLS_HANDLE)
def voicemail_alert(request: HttpRequest, actor: Actor) -> HttpResponse:
    enabled = voicemails.voicemail_alert_set(actor=actor, account=actor.account,
                                             enabled=request.POST.get("enabled") == "1")
    messages.success(request, _("Each new voicemail will be e-mailed to %(email)s.") % {
        "email": actor.user.email} if enabled else _("Voicemails will no longer be e-mailed "
                                                       "to you."))
    return redirect("web:voicemails")
