"""Phone number pages (C-1): the account's numbers (assign a flow, release), the operator's
catalogue (country, type, monthly price; buy) and the port-out export (P-9). Every write
goes through the contact-center services (`services`; `numbers` for a release); what
buying costs a prepaid account comes from `rentals.rental_quote`, the same rule that
charges it."""

from datetime import timedelta
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.billing.errors import InsufficientCredit
from chappe.billing.money import to_micros
from chappe.billing.periods import local_date, zone
from chappe.callcenter import numbers, selectors, services
from chappe.callcenter.models import RENTAL_HELD, NumberRental
from chappe.callcenter.rentals import rental_quote, suspension_ends_at
from chappe.common.csv_export import csv_response
from chappe.common.errors import ChappeError
from chappe.web.auth import REFUSALS, account_view, is_htmx
from chappe.web.views.common import confirmed_action
from chappe.web.voice_forms import CatalogueFilterForm

PAGE_SIZE = 50


def _row_context(actor: Actor, rental: NumberRental) -> dict:
    paid_through = None
    if rental.billing == "prepaid" and rental.paid_until is not None:
        # paid_until is the instant the paid months run out: the last paid day is before.
        paid_through = local_date(rental.paid_until - timedelta(microseconds=1),
                                  zone(actor.account.timezone))
    return {"rental": rental, "flows": selectors.flow_list(account=actor.account),
            "release_at": suspension_ends_at(rental), "paid_through": paid_through,
            "can_release": actor.can(Perm.NUMBERS_MANAGE)}


@account_view(Perm.CALL_FLOWS_MANAGE)
def number_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    rentals = selectors.rental_list(account=actor.account).select_related("flow")
    held = [r for r in rentals if r.status in RENTAL_HELD]
    return render(request, "web/voice_numbers.html", {
        "rows": [_row_context(actor, r) for r in held],
        "ended": [r for r in rentals if r.status not in RENTAL_HELD][:20],
        "can_port_out": actor.can(Perm.ACCOUNT_MANAGE),
        "can_manage_numbers": actor.can(Perm.NUMBERS_MANAGE),
    })


@account_view(Perm.NUMBERS_MANAGE)
def number_catalogue(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The numbers on offer, with what buying one costs now; POST buys one."""
    refusal = None
    if request.method == "POST":
        try:
            rental = services.number_buy(actor=actor, account=actor.account,
                                         number_id=request.POST.get("number_id"))
        except REFUSALS:
            raise
        except InsufficientCredit as exc:
            refusal = {"required": to_micros(exc.details.get("required", "0")),
                       "available": to_micros(exc.details.get("available", "0")),
                       "currency": exc.details.get("currency", "EUR")}
        except ChappeError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _(
                "The number %(number)s is yours. Choose the flow that answers its calls."
            ) % {"number": rental.number.e164})
            return redirect("web:numbers")
    form = CatalogueFilterForm(request.GET)
    filters = {}
    if form.is_valid():
        filters = {"country": form.cleaned_data["country"].strip() or None,
                   "number_type": form.cleaned_data["number_type"] or None}
    page = Paginator(selectors.catalogue_list(**filters), PAGE_SIZE).get_page(
        request.GET.get("page"))
    for number in page:
        number.due_now = rental_quote(account=actor.account,
                                      monthly_price_micros=number.monthly_price_micros)
    return render(request, "web/voice_catalogue.html", {
        "form": form, "page": page, "refusal": refusal,
        "prepaid": rental_quote(account=actor.account, monthly_price_micros=0) is not None,
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
        "can_buy_credit": actor.can(Perm.BILLING_MANAGE),
    })


@require_POST
@account_view(Perm.CALL_FLOWS_MANAGE)
def number_assign(request: HttpRequest, actor: Actor, rental_id: UUID) -> HttpResponse:
    rental = selectors.rental_get(account=actor.account, rental_id=rental_id)
    try:
        rental = services.number_assign(actor=actor, account=actor.account, rental_id=rental.pk,
                                        flow_id=request.POST.get("flow_id") or None)
    except REFUSALS:
        raise
    except ChappeError as exc:
        messages.error(request, exc.message)
        if is_htmx(request):
            return HttpResponse(headers={"HX-Refresh": "true"})
        return redirect("web:numbers")
    if is_htmx(request):
        return render(request, "web/partials/voice_number_row.html", {
            **_row_context(actor, rental), "saved": True})
    messages.success(request, _("%(number)s answers with “%(flow)s”.") % {
        "number": rental.number.e164, "flow": rental.flow.name if rental.flow else "—"})
    return redirect("web:numbers")


@account_view(Perm.NUMBERS_MANAGE)
def number_release(request: HttpRequest, actor: Actor, rental_id: UUID) -> HttpResponse:
    rental = selectors.rental_get(account=actor.account, rental_id=rental_id)
    return confirmed_action(
        request,
        act=lambda: numbers.number_release(actor=actor, account=actor.account,
                                            rental_id=rental.pk),
        question=_("Release the number %(number)s? It stops taking calls and goes back to the "
                   "catalogue; a month already paid is not refunded.")
        % {"number": rental.number.e164},
        button=_("Release the number"),
        back=reverse("web:numbers"),
        done=_("The number %(number)s was released.") % {"number": rental.number.e164},
    )


@account_view(Perm.ACCOUNT_MANAGE)
def number_port_out(request: HttpRequest, actor: Actor) -> HttpResponse:
    """What a porting request needs for each held number (P-9), as CSV."""
    return csv_response("port-out.csv", services.PORT_OUT_HEADER,
                        services.port_out_rows(account=actor.account), stream=False)
