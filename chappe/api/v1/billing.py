"""Thin billing endpoints: balance, ledger (+ CSV), usage, quotes, credit orders, card
payments, transfers, invoices (+ PDF/CSV), contests, subscriptions, price notices.

Operator actions (price lists, plans, recorded payments, contest decisions) live in the
Django admin (chappe/billing/admin.py), which calls the same services."""

from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from chappe.accounts.roles import Perm
from chappe.accounts.selectors import subaccount_get
from chappe.api.v1.base import actor_of
from chappe.billing import selectors, services
from chappe.billing.documents import (
    INVOICE_CSV_HEADER,
    LEDGER_CSV_HEADER,
    invoice_csv_rows,
    invoice_pdf,
    ledger_csv_rows,
)
from chappe.billing.money import from_micros
from chappe.billing.rating import Product
from chappe.billing.schemas import (
    BalanceOut,
    CardPaymentIn,
    ContestIn,
    ContestOut,
    CreditOrderIn,
    CreditOrderOut,
    InvoiceDetailOut,
    InvoiceOut,
    LedgerEntryOut,
    PaymentOut,
    PriceNoticeOut,
    QuoteOut,
    SubscriptionOut,
    TransferIn,
    TransferOut,
    UsageRecordOut,
)
from chappe.common.csv_export import csv_response

router = Router(tags=["billing"])


def _viewer(request: HttpRequest):
    actor = actor_of(request, Perm.BILLING_VIEW)
    return actor


# --- balance and ledger ---------------------------------------------------------------


@router.get("/billing/balance", response=list[BalanceOut])
def balance(request: HttpRequest, country: str | None = None):
    """Per currency: prepaid credit, what is usable now, what is owed, amounts expiring by
    last usable day (account time zone), and ≈ how many SMS to `country` (default: the
    account's country) the credit buys at today's price."""
    actor = _viewer(request)
    account = actor.account
    country = (country or account.default_country or "FR").upper()[:2]
    rows = selectors.balance_summary(account=account) or [
        {"currency": "EUR", "credit_micros": 0, "due_micros": 0, "usable_micros": 0,
         "expiring": []}]
    return [
        {
            "currency": row["currency"],
            "credit": str(from_micros(row["credit_micros"])),
            "usable": str(from_micros(row["usable_micros"])),
            "due": str(from_micros(row["due_micros"])),
            "expiring": [{"usable_until": item["usable_until"],
                          "amount": str(from_micros(item["amount_micros"]))}
                         for item in row["expiring"]],
            "estimate_country": country,
            "estimate_sms": selectors.credit_estimate(account=account, country=country,
                                                      currency=row["currency"]),
            "packs": [{"product": pack["product"], "country": pack["country"],
                       "units_bought": pack["units_bought"],
                       "remaining": str(from_micros(pack["remaining_micros"])),
                       "unit_price": (None if pack["unit_price_micros"] is None
                                      else str(from_micros(pack["unit_price_micros"]))),
                       "messages_left": pack["messages"]}
                      for pack in row.get("packs", [])],
        }
        for row in rows
    ]


@router.get("/billing/ledger", response=list[LedgerEntryOut])
@paginate(LimitOffsetPagination)
def ledger(request: HttpRequest, book: str | None = None, currency: str | None = None,
           reason: str | None = None, since: datetime | None = None,
           until: datetime | None = None):
    """Ledger entries, newest first. `book`: credit (prepaid) or receivable (owed)."""
    actor = _viewer(request)
    return selectors.ledger_entry_list(account=actor.account, book=book, currency=currency,
                                       reason=reason, since=since, until=until)


@router.get("/billing/ledger.csv")
def ledger_export(request: HttpRequest, book: str | None = None, currency: str | None = None,
                  reason: str | None = None, since: datetime | None = None,
                  until: datetime | None = None):
    """The same entries as a CSV file (all of them)."""
    actor = _viewer(request)
    entries = selectors.ledger_entry_list(account=actor.account, book=book, currency=currency,
                                          reason=reason, since=since, until=until)
    return csv_response("ledger.csv", LEDGER_CSV_HEADER, ledger_csv_rows(entries),
                        stream=False)


# --- usage and quotes -------------------------------------------------------------------


@router.get("/billing/usage", response=list[UsageRecordOut])
@paginate(LimitOffsetPagination)
def usage_list(request: HttpRequest, product: str | None = None,
               since: datetime | None = None, until: datetime | None = None):
    actor = _viewer(request)
    return selectors.usage_record_list(account=actor.account, product=product, since=since,
                                       until=until)


@router.get("/billing/usage/{usage_id}", response=UsageRecordOut)
def usage_read(request: HttpRequest, usage_id: str):
    actor = _viewer(request)
    return selectors.usage_record_get(account=actor.account, id=usage_id)


@router.get("/billing/quote", response=QuoteOut)
def quote(request: HttpRequest, product: Product, quantity: Decimal = Decimal(1),
          country: str = "", operator: str = "", number_type: str = "",
          origin_country: str = ""):
    """What a use would cost now, without sending anything (quantity: segments, messages,
    sessions, calls, or seconds for voice)."""
    actor = _viewer(request)
    if product != Product.VOICE_MINUTE:
        quantity = Decimal(int(quantity))
    result = selectors.price_quote(account=actor.account, product=product, quantity=quantity,
                                   destination_country=country, operator=operator,
                                   number_type=number_type, origin_country=origin_country)
    return {"product": product, "billed_quantity": result.billed_quantity,
            "currency": result.currency, "unit_price": str(from_micros(result.unit_price_micros)),
            "amount": str(from_micros(result.amount_micros)), "price_list": result.price_list.name,
            "effective_from": result.version.effective_from}


@router.get("/billing/price-notices", response=list[PriceNoticeOut])
def price_notices(request: HttpRequest):
    """Announced price changes of the lists that price this account (P-14)."""
    actor = _viewer(request)
    return selectors.price_change_notice_list(account=actor.account).select_related("price_list")


# --- credit orders ----------------------------------------------------------------------


@router.get("/billing/credit-orders", response=list[CreditOrderOut])
@paginate(LimitOffsetPagination)
def credit_order_list(request: HttpRequest):
    actor = _viewer(request)
    return selectors.credit_order_list(account=actor.account)


@router.post("/billing/credit-orders", response={201: CreditOrderOut})
def credit_order_create(request: HttpRequest, payload: CreditOrderIn):
    """Order prepaid credits — an `amount`, or a pack of `units` messages of `product` to
    `country` at today's unit price: an invoice is issued at once, due on order; the
    credits are usable once it is paid (by card below, or by transfer/cheque recorded by
    the operator). A pack is credit like any other: a later price change changes how many
    messages what is left of it buys (see `packs` in the balance)."""
    actor = actor_of(request)
    order = services.credit_order_create(actor=actor, account=actor.account,
                                         amount=payload.amount, currency=payload.currency,
                                         product=payload.product, country=payload.country,
                                         units=payload.units)
    return Status(201, order)


@router.get("/billing/credit-orders/{order_id}", response=CreditOrderOut)
def credit_order_read(request: HttpRequest, order_id: str):
    actor = _viewer(request)
    return selectors.credit_order_get(account=actor.account, id=order_id)


@router.post("/billing/credit-orders/{order_id}/pay", response={201: PaymentOut})
def credit_order_pay(request: HttpRequest, order_id: str, payload: CardPaymentIn):
    """Pay a pending order by card through the payment gateway."""
    actor = actor_of(request, Perm.BILLING_MANAGE)
    order = selectors.credit_order_get(account=actor.account, id=order_id)
    payment = services.credit_order_pay_card(actor=actor, order=order,
                                             card_token=payload.card_token)
    return Status(201, payment)


# --- transfers --------------------------------------------------------------------------


@router.get("/billing/transfers", response=list[TransferOut])
@paginate(LimitOffsetPagination)
def transfer_list(request: HttpRequest):
    actor = _viewer(request)
    return selectors.credit_transfer_list(account=actor.account)


@router.post("/billing/transfers", response={201: TransferOut})
def transfer_create(request: HttpRequest, payload: TransferIn):
    """Move credits to or from one of this account's sub-accounts (P-2); the moved credits
    keep their expiry dates."""
    actor = actor_of(request, Perm.SUBACCOUNTS_MANAGE)
    sub = subaccount_get(account=actor.account, id=payload.subaccount_id)
    source, target = ((actor.account, sub) if payload.direction == "to_subaccount"
                      else (sub, actor.account))
    transfer = services.credit_transfer(actor=actor, from_account=source, to_account=target,
                                        amount=payload.amount, currency=payload.currency,
                                        memo=payload.memo)
    return Status(201, transfer)


@router.get("/billing/transfers/{transfer_id}", response=TransferOut)
def transfer_read(request: HttpRequest, transfer_id: str):
    actor = _viewer(request)
    return selectors.credit_transfer_get(account=actor.account, id=transfer_id)


# --- invoices and contests --------------------------------------------------------------


@router.get("/billing/invoices", response=list[InvoiceOut])
@paginate(LimitOffsetPagination)
def invoice_list(request: HttpRequest, status: str | None = None, kind: str | None = None):
    actor = _viewer(request)
    return selectors.invoice_list(account=actor.account, status=status, kind=kind)


@router.get("/billing/invoices/{invoice_id}", response=InvoiceDetailOut)
def invoice_read(request: HttpRequest, invoice_id: str):
    """One invoice with its lines (the machine-readable JSON form)."""
    actor = _viewer(request)
    return selectors.invoice_get(account=actor.account, id=invoice_id)


def _download(body: bytes | str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get("/billing/invoices/{invoice_id}/pdf")
def invoice_download_pdf(request: HttpRequest, invoice_id: str):
    actor = _viewer(request)
    invoice = selectors.invoice_get(account=actor.account, id=invoice_id)
    return _download(invoice_pdf(invoice), "application/pdf", f"{invoice.number}.pdf")


@router.get("/billing/invoices/{invoice_id}/csv")
def invoice_download_csv(request: HttpRequest, invoice_id: str):
    actor = _viewer(request)
    invoice = selectors.invoice_get(account=actor.account, id=invoice_id)
    return csv_response(f"{invoice.number}.csv", INVOICE_CSV_HEADER, invoice_csv_rows(invoice),
                        stream=False)


@router.post("/billing/invoices/{invoice_id}/contest", response={201: ContestOut})
def invoice_contest(request: HttpRequest, invoice_id: str, payload: ContestIn):
    """Dispute an invoice within 15 days (messaging) or 30 days (contact center) of issue;
    penalties are frozen until the operator resolves it."""
    actor = actor_of(request, Perm.BILLING_MANAGE)
    invoice = selectors.invoice_get(account=actor.account, id=invoice_id)
    contest = services.invoice_contest_open(actor=actor, invoice=invoice, reason=payload.reason)
    return Status(201, contest)


@router.get("/billing/contests", response=list[ContestOut])
@paginate(LimitOffsetPagination)
def contest_list(request: HttpRequest):
    actor = _viewer(request)
    return selectors.invoice_contest_list(account=actor.account)


# --- subscriptions ----------------------------------------------------------------------


@router.get("/billing/subscriptions", response=list[SubscriptionOut])
def subscription_list(request: HttpRequest):
    actor = _viewer(request)
    return selectors.subscription_list(account=actor.account)


@router.post("/billing/subscriptions/{subscription_id}/cancel", response=SubscriptionOut)
def subscription_cancel(request: HttpRequest, subscription_id: str):
    """Give notice (P-6): messaging ends at the end of the yearly term if at least a month
    away (else the next one); the contact center one month later."""
    actor = actor_of(request)
    subscription = selectors.subscription_get(account=actor.account, id=subscription_id)
    return services.subscription_cancel(actor=actor, subscription=subscription)
