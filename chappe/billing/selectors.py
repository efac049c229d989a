"""Billing reads, always scoped by account. Another tenant's id is a 404 (NotFound)."""

import contextlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.selectors import account_ancestors
from chappe.billing.errors import NoPriceError
from chappe.billing.models import (
    AccountBalance,
    AccountBilling,
    Book,
    CreditLot,
    CreditOrder,
    CreditTransfer,
    Invoice,
    InvoiceContest,
    LedgerEntry,
    Price,
    PriceChangeNotice,
    PriceList,
    PriceListVersion,
    Subscription,
    SubscriptionStatus,
    UsageRecord,
)
from chappe.billing.periods import local_date, zone
from chappe.billing.rating import (
    NoPrice,
    PriceEntry,
    Product,
    UsageEvent,
    rate,
    units_affordable,
)
from chappe.common.lookup import filtered, get_or_404


def service_kind_of(product: str) -> str:
    """Which ordered service a product belongs to (voice minutes: the contact center)."""
    return ServiceKind.CONTACT_CENTER if product in (
        Product.VOICE_MINUTE, Product.NUMBER_RENTAL, Product.LICENCE, Product.USER
    ) else ServiceKind.MESSAGING


# --- subscriptions and price lists ----------------------------------------------------


def subscription_live(*, account: Account, service_kind: str,
                      at: datetime | None = None) -> Subscription | None:
    """The subscription that covers `at` for this service, if any (postpaid billing)."""
    at = at or timezone.now()
    return (
        Subscription.objects.filter(account=account, service_kind=service_kind,
                                    started_at__lte=at)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .exclude(status=SubscriptionStatus.ENDED, ends_at__isnull=True)
        .select_related("plan__price_list").order_by("-started_at").first()
    )


# `price_list_for(subscription=...)` default: look the live subscription up.
LOOK_UP: Any = object()


def price_list_for(*, account: Account, service_kind: str, at: datetime | None = None,
                   subscription: Subscription | None = LOOK_UP) -> PriceList:
    """The list pricing this account: its own override, else the nearest parent's, else its
    subscription plan's, else the operator's default list. A caller that already has the
    live subscription (or knows there is none) passes it."""
    for holder in [account, *account_ancestors(account=account)]:
        override = AccountBilling.objects.filter(account=holder, price_list__isnull=False) \
            .select_related("price_list").first()
        if override is not None:
            return override.price_list
    if subscription is LOOK_UP:
        subscription = subscription_live(account=account, service_kind=service_kind, at=at)
    if subscription is not None:
        return subscription.plan.price_list
    default = PriceList.objects.filter(is_default=True).first()
    if default is None:
        raise NoPriceError()
    return default


def price_version_at(*, price_list: PriceList, at: datetime) -> PriceListVersion:
    version = price_list.versions.filter(effective_from__lte=at).order_by("-effective_from").first()
    if version is None:
        raise NoPriceError()
    return version


def price_entries(*, version: PriceListVersion, product: str,
                  country: str = "") -> list[PriceEntry]:
    """The candidate rows of one version for one product (and destination country)."""
    rows = Price.objects.filter(version=version, product=product)
    if country:
        rows = rows.filter(country__in=["", country])
    return [
        PriceEntry(product=p.product, unit_price_micros=p.unit_price_micros, country=p.country,
                   operator=p.operator, number_type=p.number_type,
                   origin_country=p.origin_country)
        for p in rows
    ]


@dataclass(frozen=True)
class Quote:
    amount_micros: int
    currency: str
    unit_price_micros: int
    billed_quantity: int
    price_list: PriceList
    version: PriceListVersion


def price_quote(
    *,
    account: Account,
    product: str,
    quantity: int | Decimal,
    destination_country: str = "",
    operator: str = "",
    number_type: str = "",
    origin_country: str = "",
    at: datetime | None = None,
) -> Quote:
    """What this use would cost now (or at `at`) — no write, no balance check (previews)."""
    at = at or timezone.now()
    price_list = price_list_for(account=account, service_kind=service_kind_of(product), at=at)
    version = price_version_at(price_list=price_list, at=at)
    event = UsageEvent(product=product, quantity=quantity,
                       destination_country=destination_country.upper(),
                       operator=operator, number_type=number_type,
                       origin_country=origin_country.upper())
    try:
        rating = rate(event, price_entries(version=version, product=product,
                                           country=event.destination_country))
    except NoPrice as exc:
        raise NoPriceError(details={"product": product,
                                    "country": destination_country}) from exc
    return Quote(rating.amount_micros, price_list.currency, rating.unit_price_micros,
                 rating.billed_quantity, price_list, version)


def price_change_notice_list(*, account: Account) -> QuerySet[PriceChangeNotice]:
    """Announcements of price changes of the lists that price this account (P-14)."""
    lists = set()
    for kind in ServiceKind.values:
        with contextlib.suppress(NoPriceError):
            lists.add(price_list_for(account=account, service_kind=kind).pk)
    return PriceChangeNotice.objects.filter(price_list_id__in=lists)


# --- balances, lots, ledger -------------------------------------------------------------


def balance_summary(*, account: Account, at: datetime | None = None) -> list[dict[str, Any]]:
    """Per currency: the ledger balance, what is usable now, amounts expiring by date (in
    the account's time zone) and the message packs still held (`credit_pack_summary`)."""
    at = at or timezone.now()
    tz = zone(account.timezone)
    out: dict[str, dict[str, Any]] = {}
    for row in AccountBalance.objects.filter(account=account).order_by("currency"):
        item = out.setdefault(row.currency, {
            "currency": row.currency, "credit_micros": 0, "due_micros": 0,
            "usable_micros": 0, "expiring": []})
        item["credit_micros" if row.book == Book.CREDIT else "due_micros"] = row.balance_micros
    lots = CreditLot.objects.filter(account=account, expired_at__isnull=True,
                                    remaining_micros__gt=0).order_by("expires_at")
    expiring: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for lot in lots:
        item = out.setdefault(lot.currency, {
            "currency": lot.currency, "credit_micros": 0, "due_micros": 0,
            "usable_micros": 0, "expiring": []})
        if lot.expires_at > at:
            item["usable_micros"] += lot.remaining_micros
            # The last day the credits can be used is the day before the expiry instant.
            last_day = local_date(lot.expires_at, tz).toordinal() - 1
            expiring[lot.currency][date.fromordinal(last_day)] += lot.remaining_micros
    for currency, by_day in expiring.items():
        out[currency]["expiring"] = [{"usable_until": day, "amount_micros": amount}
                                     for day, amount in sorted(by_day.items())]
    for item in out.values():
        item["packs"] = []
    for pack in credit_pack_summary(account=account, at=at):
        out[pack["currency"]]["packs"].append(pack)
    return list(out.values())


def credit_pack_summary(*, account: Account, at: datetime | None = None) -> list[dict[str, Any]]:
    """The message packs still held (usable lots bought as "N messages of a product to a
    country"), per currency, product and country: the credit left, the messages the lots
    stood for when bought, and **how many messages the credit left buys at today's price**
    (P-5: a price change changes this number; None when the destination has no price)."""
    at = at or timezone.now()
    lots = (CreditLot.objects.filter(account=account, expired_at__isnull=True,
                                     remaining_micros__gt=0, expires_at__gt=at)
            .exclude(pack_product="").order_by("currency", "pack_product", "pack_country",
                                               "expires_at"))
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for lot in lots:
        group = groups.setdefault((lot.currency, lot.pack_product, lot.pack_country), {
            "currency": lot.currency, "product": lot.pack_product,
            "country": lot.pack_country, "units_bought": 0, "remaining_micros": 0,
            "unit_price_micros": None, "messages": None})
        group["units_bought"] += lot.pack_units or 0
        group["remaining_micros"] += lot.remaining_micros
    for (currency, product, country), group in groups.items():
        with contextlib.suppress(NoPriceError):
            quote = price_quote(account=account, product=product, quantity=1,
                                destination_country=country, at=at)
            if quote.currency == currency:
                group["unit_price_micros"] = quote.unit_price_micros
                group["messages"] = units_affordable(group["remaining_micros"],
                                                     quote.unit_price_micros)
    return list(groups.values())


def usable_credit(*, account: Account, currency: str, at: datetime) -> int:
    """The prepaid credit the account can spend at `at`: its lots not expired, in micros."""
    total = CreditLot.objects.filter(
        account=account, currency=currency, expired_at__isnull=True, remaining_micros__gt=0,
        expires_at__gt=at,
    ).aggregate(total=Sum("remaining_micros"))["total"]
    return int(total or 0)


def credit_estimate(*, account: Account, country: str, product: str = Product.SMS,
                    currency: str = "EUR", at: datetime | None = None) -> int | None:
    """≈ how many units (SMS segments by default) the usable credit buys to `country` at
    today's price (P-5: a price change changes this number). None when free or unpriced."""
    at = at or timezone.now()
    try:
        quote = price_quote(account=account, product=product, quantity=1,
                            destination_country=country, at=at)
    except NoPriceError:
        return None
    if quote.currency != currency:
        return None
    return units_affordable(usable_credit(account=account, currency=currency, at=at),
                            quote.unit_price_micros)


def credit_lot_list(*, account: Account) -> QuerySet[CreditLot]:
    return CreditLot.objects.filter(account=account)


def ledger_entry_list(
    *,
    account: Account,
    book: str | None = None,
    currency: str | None = None,
    reason: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[LedgerEntry]:
    return filtered(LedgerEntry.objects.filter(account=account), book=book, currency=currency,
                    reason=reason, occurred_at__gte=since, occurred_at__lt=until,
                    ).order_by("-occurred_at", "-id")


def ledger_sum(*, account: Account, book: str, currency: str) -> int:
    total = LedgerEntry.objects.filter(account=account, book=book, currency=currency) \
        .aggregate(total=Sum("amount_micros"))["total"]
    return int(total or 0)


# --- usage, orders, transfers, invoices -------------------------------------------------


def usage_record_list(
    *,
    account: Account,
    product: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[UsageRecord]:
    return filtered(UsageRecord.objects.filter(account=account), product=product,
                    occurred_at__gte=since, occurred_at__lt=until,
                    ).order_by("-occurred_at", "-created_at")


def usage_record_get(*, account: Account, id: Any) -> UsageRecord:
    return get_or_404(UsageRecord.objects.filter(account=account), id)


def credit_order_list(*, account: Account) -> QuerySet[CreditOrder]:
    return CreditOrder.objects.filter(account=account).select_related("invoice")


def credit_order_get(*, account: Account, id: Any) -> CreditOrder:
    return get_or_404(credit_order_list(account=account), id)


def credit_transfer_list(*, account: Account) -> QuerySet[CreditTransfer]:
    """Transfers the account made or took part in."""
    return CreditTransfer.objects.filter(
        Q(account=account) | Q(from_account=account) | Q(to_account=account)
    ).order_by("-created_at")


def credit_transfer_get(*, account: Account, id: Any) -> CreditTransfer:
    return get_or_404(credit_transfer_list(account=account), id)


def invoice_list(*, account: Account, status: str | None = None,
                 kind: str | None = None) -> QuerySet[Invoice]:
    invoices = Invoice.objects.filter(account=account)
    if status:
        invoices = invoices.filter(status=status)
    if kind:
        invoices = invoices.filter(kind=kind)
    return invoices.order_by("-issued_at", "-number")


def invoice_get(*, account: Account, id: Any) -> Invoice:
    return get_or_404(invoice_list(account=account), id)


def invoice_contest_list(*, account: Account) -> QuerySet[InvoiceContest]:
    return InvoiceContest.objects.filter(account=account).select_related("invoice")


def invoice_contest_get(*, account: Account, id: Any) -> InvoiceContest:
    return get_or_404(invoice_contest_list(account=account), id)


def subscription_list(*, account: Account) -> QuerySet[Subscription]:
    return Subscription.objects.filter(account=account).select_related("plan")


def subscription_get(*, account: Account, id: Any) -> Subscription:
    return get_or_404(subscription_list(account=account), id)
