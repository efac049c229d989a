"""Billing pages: balance (with expiring credits and the ≈ SMS estimate), buying credits
(card through the payment gateway, or a bank transfer), credit orders, invoices with their
PDF, usage records and the ledger."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.billing import selectors
from chappe.billing.documents import (
    INVOICE_CSV_HEADER,
    LEDGER_CSV_HEADER,
    invoice_csv_rows,
    invoice_pdf,
    ledger_csv_rows,
)
from chappe.billing.errors import PaymentDeclined
from chappe.billing.gateways import FakeGateway, payment_gateway
from chappe.billing.models import CreditOrder, OrderStatus, UsageRecord
from chappe.billing.services import credit_order_create, credit_order_pay_card
from chappe.campaigns.selectors import campaigns_of_sends
from chappe.common.csv_export import csv_response
from chappe.common.errors import ChappeError
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.forms import (
    CardPaymentForm,
    CreditBuyForm,
    EstimateForm,
    InvoiceFilterForm,
    LedgerFilterForm,
    UsageFilterForm,
    account_zone,
    day_range,
)
from chappe.web.templatetags.chappe_web import money

PAGE_SIZE = 50
# A token the built-in test gateway accepts (any token not starting with "decline").
TEST_CARD_TOKEN = "tok_test_visa"


def _test_gateway() -> bool:
    return isinstance(payment_gateway(), FakeGateway)


@account_view(Perm.BILLING_VIEW)
def billing_overview(request: HttpRequest, actor: Actor) -> HttpResponse:
    account = actor.account
    form = EstimateForm(request.GET or None)
    country = (account.default_country or "FR").upper()
    if form.is_valid() and form.cleaned_data["country"]:
        country = form.cleaned_data["country"].upper()
    rows = selectors.balance_summary(account=account) or [
        {"currency": "EUR", "credit_micros": 0, "due_micros": 0, "usable_micros": 0,
         "expiring": []}]
    balances = [
        {**row, "estimate": selectors.credit_estimate(account=account, country=country,
                                                      currency=row["currency"])}
        for row in rows
    ]
    pending = selectors.credit_order_list(account=account).filter(status=OrderStatus.PENDING)
    return render(request, "web/billing_overview.html", {
        "balances": balances,
        "country": country,
        "form": form,
        "pending_orders": pending[:10],
        "can_buy": actor.can(Perm.BILLING_MANAGE),
    })


def _pay(request: HttpRequest, actor: Actor, order: CreditOrder, token: str) -> bool:
    """Charge the card; say how it went. True when the credits are now usable."""
    try:
        credit_order_pay_card(actor=actor, order=order, card_token=token)
    except REFUSALS:
        raise  # the central 403 / 404 pages
    except PaymentDeclined as exc:
        reason = exc.details.get("reason") or exc.message
        messages.error(request, _("The card payment was declined (%(reason)s). The order is "
                                  "kept, awaiting payment: you can try another card.")
                       % {"reason": reason})
        return False
    except ChappeError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, _("Payment accepted: %(amount)s of credits are usable now.")
                     % {"amount": money(order.amount_micros, order.currency)})
    return True


@account_view(Perm.BILLING_VIEW)
def credit_buy(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The order form (with BILLING_MANAGE) and the list of credit orders."""
    can_buy = actor.can(Perm.BILLING_MANAGE)
    initial = {"card_token": TEST_CARD_TOKEN} if _test_gateway() else {}
    form = CreditBuyForm(request.POST or None, initial=initial) if can_buy else None
    if request.method == "POST":
        actor.require(Perm.BILLING_MANAGE)
        assert form is not None
        if form.is_valid():
            data = form.cleaned_data
            try:
                order = credit_order_create(actor=actor, account=actor.account,
                                            **form.order_terms())
            except REFUSALS:
                raise  # the central 403 / 404 pages
            except ChappeError as exc:
                apply_service_error(form, exc)
            else:
                if data["payment"] == CreditBuyForm.CARD:
                    _pay(request, actor, order, data["card_token"])
                else:
                    messages.success(request, _(
                        "Order recorded: invoice %(number)s, %(total)s including VAT, to pay by "
                        "bank transfer with the invoice number as reference. The credits are "
                        "usable once the payment is received."
                    ) % {"number": order.invoice.number if order.invoice else "",
                         "total": money(order.invoice.total_micros if order.invoice
                                                else order.amount_micros, order.currency)})
                return redirect("web:credit_order", order_id=order.pk)
    orders = selectors.credit_order_list(account=actor.account).order_by("-ordered_at")
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/billing_buy.html", {
        "form": form,
        "page": page,
        "test_gateway": _test_gateway(),
        "test_token": TEST_CARD_TOKEN,
    })


@account_view(Perm.BILLING_VIEW)
def credit_order_detail(request: HttpRequest, actor: Actor, order_id: UUID) -> HttpResponse:
    order = selectors.credit_order_get(account=actor.account, id=order_id)
    payable = order.status == OrderStatus.PENDING and actor.can(Perm.BILLING_MANAGE)
    initial = {"card_token": TEST_CARD_TOKEN} if _test_gateway() else {}
    return render(request, "web/billing_order.html", {
        "order": order,
        "invoice": order.invoice,
        "pay_form": CardPaymentForm(initial=initial) if payable else None,
        "test_gateway": _test_gateway(),
    })


@account_view(Perm.BILLING_MANAGE)
def credit_order_pay(request: HttpRequest, actor: Actor, order_id: UUID) -> HttpResponse:
    order = selectors.credit_order_get(account=actor.account, id=order_id)
    if request.method == "POST":
        form = CardPaymentForm(request.POST)
        if form.is_valid():
            _pay(request, actor, order, form.cleaned_data["card_token"])
        else:
            messages.error(request, _("Give the card token."))
    return redirect("web:credit_order", order_id=order.pk)


# --- invoices --------------------------------------------------------------------------


@account_view(Perm.BILLING_VIEW)
def invoice_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = InvoiceFilterForm(request.GET)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    invoices = selectors.invoice_list(account=actor.account, status=status or None)
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/billing_invoices.html", {"form": form, "page": page})


def _download(body: bytes | str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@account_view(Perm.BILLING_VIEW)
def invoice_download_pdf(request: HttpRequest, actor: Actor, invoice_id: UUID) -> HttpResponse:
    invoice = selectors.invoice_get(account=actor.account, id=invoice_id)
    return _download(invoice_pdf(invoice), "application/pdf", f"{invoice.number}.pdf")


@account_view(Perm.BILLING_VIEW)
def invoice_download_csv(request: HttpRequest, actor: Actor, invoice_id: UUID) -> HttpResponse:
    invoice = selectors.invoice_get(account=actor.account, id=invoice_id)
    return csv_response(f"{invoice.number}.csv", INVOICE_CSV_HEADER, invoice_csv_rows(invoice),
                        stream=False)


# --- usage and ledger -------------------------------------------------------------------


@account_view(Perm.BILLING_VIEW)
def usage_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = UsageFilterForm(request.GET)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        since, until = day_range(data["since"], data["until"], account_zone(actor.account))
        filters = {"product": data["product"] or None, "since": since, "until": until}
    records = selectors.usage_record_list(account=actor.account, **filters)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    _link_causes(actor.account, page.object_list)
    return render(request, "web/billing_usage.html", {"form": form, "page": page})


def _link_causes(account: Account, records: list[UsageRecord]) -> None:
    """Each record's `cause_url`: its message, or for the uses of a send accepted together
    (one record, decision 0036) that send — a campaign's: the campaign — or None."""
    sends = {r.cause_id for r in records if r.cause_type == "messaging.send"}
    campaigns = campaigns_of_sends(account=account, send_ids=sends) if sends else {}
    for record in records:
        record.cause_url = None
        if record.cause_type == "messaging.message":
            record.cause_url = reverse("web:sms_detail", args=[record.cause_id])
        elif record.cause_type == "messaging.send":
            campaign = campaigns.get(record.cause_id)
            record.cause_url = (reverse("web:campaign", args=[campaign]) if campaign
                                else reverse("web:sms_send_result", args=[record.cause_id]))


def _ledger_filters(request: HttpRequest) -> tuple[LedgerFilterForm, dict[str, Any]]:
    form = LedgerFilterForm(request.GET)
    if not form.is_valid():
        return form, {}
    return form, {"book": form.cleaned_data["book"] or None,
                  "reason": form.cleaned_data["reason"] or None}


@account_view(Perm.BILLING_VIEW)
def ledger_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    form, filters = _ledger_filters(request)
    entries = selectors.ledger_entry_list(account=actor.account, **filters)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/billing_ledger.html", {
        "form": form, "page": page, "export_query": query.urlencode()})


@account_view(Perm.BILLING_VIEW)
def ledger_export(request: HttpRequest, actor: Actor) -> StreamingHttpResponse:
    _form, filters = _ledger_filters(request)
    entries = selectors.ledger_entry_list(account=actor.account, **filters)
    return csv_response("ledger.csv", LEDGER_CSV_HEADER, ledger_csv_rows(entries))
