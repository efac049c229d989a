"""SMS pages: the send form with its live counter, the per-recipient result of a send,
the history (filters, CSV export), one message with its status history and cancellation,
and the replies received."""

from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.billing.errors import InsufficientCredit
from chappe.billing.money import MoneyError, to_micros
from chappe.common.csv_export import csv_response
from chappe.common.errors import ChappeError, ValidationFailed
from chappe.common.numbers import e164_or_as_typed
from chappe.messaging import selectors
from chappe.messaging.archive import ARCHIVE_CSV_HEADER, archive_csv_rows, archive_search
from chappe.messaging.export import MESSAGE_CSV_FILENAME, MESSAGE_CSV_HEADER, message_csv_rows
from chappe.messaging.lifecycle import MessageStatus, can_cancel
from chappe.messaging.models import Message
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.edit import message_cancel
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.forms import (
    SmsArchiveForm,
    SmsFilterForm,
    SmsSendForm,
    account_zone,
    day_range,
)
from chappe.web.selectors import recent_senders, send_outcome_rows
from chappe.web.sms import sms_preview
from chappe.web.views.common import confirmed_action

PAGE_SIZE = 50


def _show_send_error(form: SmsSendForm, exc: ChappeError) -> dict[str, Any]:
    """Put a refusal of `sms_send` on the form; what the page adds below the message."""
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationFailed) and exc.code == "too_many_segments":
        # Its details are figures, not messages per field.
        form.add_error("max_segments", exc.message)
        return extra
    apply_service_error(form, exc)
    if isinstance(exc, InsufficientCredit):
        try:
            extra = {"required_micros": to_micros(exc.details.get("required", "0")),
                     "available_micros": to_micros(exc.details.get("available", "0")),
                     "credit_currency": exc.details.get("currency", "EUR")}
        except MoneyError:
            extra = {}
    return extra


@account_view(Perm.MESSAGING_SEND)
def sms_send_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    account = actor.account
    senders = recent_senders(account=account)
    form = SmsSendForm(request.POST or None, account=account,
                       initial={"sender": senders[0]} if senders else None)
    extra: dict[str, Any] = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = sms_send(
                actor=actor, account=account, recipients=form.recipient_list(),
                text=data["text"], sender=data["sender"].strip(), kind=data["kind"],
                send_at=data["send_at"], reference=data["reference"].strip(),
                allow_reply=data["allow_reply"], max_segments=data["max_segments"],
            )
        except REFUSALS:
            raise  # the central 403 / 404 pages
        except ChappeError as exc:
            extra = _show_send_error(form, exc)
        else:
            return redirect("web:sms_send_result", send_id=outcome.send.pk)
    preview = sms_preview(
        account=account, text=form["text"].value() or "", kind=form["kind"].value() or "",
        recipients=form["recipients"].value() or "",
        max_segments=_int(form["max_segments"].value()),
    )
    return render(request, "web/sms_send.html", {
        "form": form,
        "preview": preview,
        "senders": senders,
        "can_buy": actor.can(Perm.BILLING_MANAGE),
        **extra,
    })


def _int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@require_POST
@account_view(Perm.MESSAGING_SEND)
def sms_preview_view(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The live counter (an htmx partial), from the form's current values."""
    preview = sms_preview(
        account=actor.account, text=request.POST.get("text", ""),
        kind=request.POST.get("kind", ""), recipients=request.POST.get("recipients", ""),
        max_segments=_int(request.POST.get("max_segments")),
    )
    return render(request, "web/partials/sms_counter.html", {"preview": preview})


@account_view(Perm.MESSAGING_VIEW)
def sms_send_result(request: HttpRequest, actor: Actor, send_id: UUID) -> HttpResponse:
    send = selectors.send_get(account=actor.account, id=send_id)
    rows = send_outcome_rows(send=send)
    made = [row.message for row in rows if row.message is not None]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return render(request, "web/sms_result.html", {
        "send": send,
        "rows": rows,
        "counts": sorted(counts.items()),
        "accepted": len(made),
        "total_micros": sum(m.price_micros for m in made),
        "currency": made[0].currency if made else "EUR",
    })


# --- history ----------------------------------------------------------------------------


def _filtered(request: HttpRequest, actor: Actor) -> tuple[SmsFilterForm, QuerySet[Message]]:
    account = actor.account
    form = SmsFilterForm(request.GET)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        recipient = e164_or_as_typed(data["recipient"], default_country=account.default_country)
        since, until = day_range(data["since"], data["until"], account_zone(account))
        filters = {"status": data["status"] or None, "recipient": recipient or None,
                   "reference": data["reference"].strip() or None, "since": since,
                   "until": until}
    return form, selectors.message_list(account=account, **filters)


@account_view(Perm.MESSAGING_VIEW)
def sms_history(request: HttpRequest, actor: Actor) -> HttpResponse:
    form, rows = _filtered(request, actor)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/sms_history.html", {
        "form": form,
        "page": page,
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
        "export_query": query.urlencode(),
    })


@account_view(Perm.MESSAGING_VIEW)
def sms_export(request: HttpRequest, actor: Actor) -> StreamingHttpResponse:
    """The filtered history as CSV, streamed; the same columns as GET /api/v1/sms/export."""
    _form, rows = _filtered(request, actor)
    return csv_response(MESSAGE_CSV_FILENAME, MESSAGE_CSV_HEADER, message_csv_rows(rows))


def _archived(request: HttpRequest, actor: Actor) -> tuple[SmsArchiveForm, list[dict]]:
    account = actor.account
    form = SmsArchiveForm(request.GET)
    if not form.is_valid():
        return form, []
    data = form.cleaned_data
    recipient = e164_or_as_typed(data["recipient"], default_country=account.default_country)
    since, until = day_range(data["since"], data["until"], account_zone(account))
    return form, archive_search(account=account, number=recipient or None, since=since,
                                until=until)


@account_view(Perm.MESSAGING_VIEW)
def sms_archive(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The archive (messages past the active period, M-13): searched by number and day."""
    form, rows = _archived(request, actor)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/sms_archive.html", {
        "form": form, "page": page, "export_query": query.urlencode(),
        "active_months": settings.CHAPPE_MESSAGES_ACTIVE_MONTHS,
        "archive_months": settings.CHAPPE_MESSAGES_ARCHIVE_MONTHS,
    })


@account_view(Perm.MESSAGING_VIEW)
def sms_archive_export(request: HttpRequest, actor: Actor) -> StreamingHttpResponse:
    """The archive search as CSV; the same columns as GET /api/v1/sms/archive/export."""
    _form, rows = _archived(request, actor)
    return csv_response("sms-archive.csv", ARCHIVE_CSV_HEADER, archive_csv_rows(rows))


# --- one message -------------------------------------------------------------------------


def _message_context(actor: Actor, message: Message) -> dict[str, Any]:
    return {
        "message": message,
        "events": message.history(),
        "can_cancel": actor.can(Perm.MESSAGING_SEND) and can_cancel(MessageStatus(message.status)),
    }


@account_view(Perm.MESSAGING_VIEW)
def sms_detail(request: HttpRequest, actor: Actor, message_id: UUID) -> HttpResponse:
    message = selectors.message_get(account=actor.account, id=message_id)
    return render(request, "web/sms_detail.html", {
        **_message_context(actor, message),
        "replies": message.replies.order_by("-received_at"),
    })


@account_view(Perm.MESSAGING_SEND)
def sms_cancel(request: HttpRequest, actor: Actor, message_id: UUID) -> HttpResponse:
    message = selectors.message_get(account=actor.account, id=message_id)

    def state(result: Message) -> HttpResponse:
        fresh = selectors.message_get(account=actor.account, id=result.pk)
        return render(request, "web/partials/sms_state.html", _message_context(actor, fresh))

    return confirmed_action(
        request,
        act=lambda: message_cancel(actor=actor, message=message),
        question=_("Cancel the message to %(recipient)s? It will not be sent and its price "
                   "is credited back.") % {"recipient": message.recipient},
        button=_("Cancel the message"),
        back=reverse("web:sms_detail", args=[message.pk]),
        done=_("The message to %(recipient)s was canceled.") % {"recipient": message.recipient},
        row=state,
    )


# --- replies ------------------------------------------------------------------------------


@account_view(Perm.MESSAGING_VIEW)
def sms_replies(request: HttpRequest, actor: Actor) -> HttpResponse:
    replies = selectors.reply_list(account=actor.account).select_related("message")
    page = Paginator(replies, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/sms_replies.html", {"page": page})

