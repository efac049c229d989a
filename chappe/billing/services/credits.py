"""Prepaid credits (P-5) and transfers (P-2).

order → invoice (due on issue) → payment (card through the gateway, or recorded by the
operator: transfer, cheque, direct debit) → a credit lot, usable only once the invoice is
paid in full, valid 12 months from the **order** (periods.credit_expiry), consumed oldest
expiry first, lost at expiry (an audited expiry entry), never refunded.

An order is money-denominated (an amount) or message-denominated (a pack: "1,000 SMS to
FR"). A pack is sold as money — units x the unit price of the day for that product and
country, rounded up to the cent — and its lot is money like any other, spent through the
same ledger; it only remembers the pack for display. So a later price change changes how
many messages the remaining credit buys (P-5). See decision 0015.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.selectors import account_descendant_ids
from chappe.audit.services import audit_record
from chappe.billing.errors import InsufficientCredit, PaymentDeclined
from chappe.billing.gateways import PaymentGateway, payment_gateway
from chappe.billing.models import (
    AccountBalance,
    BillingSettings,
    Book,
    CreditLot,
    CreditOrder,
    CreditTransfer,
    EntryReason,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    OrderStatus,
    Payment,
    PaymentMethod,
)
from chappe.billing.money import CURRENCIES, MICROS_PER_CENT, MoneyError, from_micros, to_micros
from chappe.billing.periods import credit_expiry, zone
from chappe.billing.rating import Product
from chappe.billing.selectors import price_quote
from chappe.billing.services.dunning import invoice_settled
from chappe.billing.services.invoices import LineDraft, invoice_issue
from chappe.billing.services.ledger import (
    balance_lock,
    balances_lock,
    entry_post,
    lot_create,
    lot_debit,
    lots_take,
)
from chappe.common.errors import Conflict, ValidationFailed

MIN_ORDER_MICROS = 1_000_000
MAX_ORDER_MICROS = 1_000_000_000_000


def _amount(value: Decimal | str | int, field: str = "amount") -> int:
    try:
        micros = to_micros(value)
    except MoneyError as exc:
        raise ValidationFailed(details={field: [str(exc)]}) from exc
    if micros % MICROS_PER_CENT:
        raise ValidationFailed(details={field: [_("At most two decimal places.")]})
    return micros


# --- expiry -----------------------------------------------------------------------------


def lots_expire_for(*, balance: AccountBalance, now: datetime) -> int:
    """Expire the lots of a locked credit book that are past their date; returns how many."""
    lots = list(CreditLot.objects.filter(account_id=balance.account_id, currency=balance.currency,
                                         expired_at__isnull=True, expires_at__lte=now))
    _expire(balance=balance, lots=lots, now=now)
    return len(lots)


def _expire(*, balance: AccountBalance, lots: list[CreditLot], now: datetime) -> None:
    """Each expiry is one ledger entry (cause: the lot) and one audit entry."""
    for lot in lots:
        if lot.remaining_micros:
            lost = lot.remaining_micros
            entry = entry_post(balance=balance, amount_micros=-lost, reason=EntryReason.EXPIRY,
                               cause_type="billing.creditlot", cause_id=str(lot.pk),
                               idempotency_key=f"expiry:{lot.pk}", occurred_at=lot.expires_at,
                               memo=_("Credits expired"))
            lot_debit(lot=lot, entry=entry, amount_micros=lost)
            audit_record(actor=SYSTEM, account=lot.account, action="billing.credit.expire",
                         target=lot, details={"amount": str(from_micros(lost)),
                                              "currency": lot.currency,
                                              "expires_at": lot.expires_at.isoformat()})
        lot.expired_at = now
        lot.save(update_fields=["expired_at"])


def credit_plan(*, balance: AccountBalance, amount_micros: int,
                now: datetime) -> list[tuple[CreditLot, int]]:
    """What to take from which lot of a locked credit book to pay `amount_micros`: lots
    past their date are expired first (P-5), then usable lots are taken oldest expiry
    first. `InsufficientCredit` when they do not cover it. One read of the lots."""
    lots = list(CreditLot.objects.filter(account_id=balance.account_id, currency=balance.currency,
                                         expired_at__isnull=True).order_by("expires_at", "id"))
    _expire(balance=balance, lots=[lot for lot in lots if lot.expires_at <= now], now=now)
    usable = [lot for lot in lots if lot.expires_at > now and lot.remaining_micros > 0]
    available = sum(lot.remaining_micros for lot in usable)
    if available < amount_micros:
        raise InsufficientCredit(details={
            "currency": balance.currency, "required": str(from_micros(amount_micros)),
            "available": str(from_micros(available))})
    return lots_take(lots=usable, amount_micros=amount_micros)


def credits_expire(*, now: datetime | None = None) -> int:
    """Expire every lot past its date (the periodic job); one transaction per book."""
    now = now or timezone.now()
    books = (CreditLot.objects.filter(expired_at__isnull=True, expires_at__lte=now)
             .values_list("account_id", "currency").distinct())
    count = 0
    for account_id, currency in list(books):
        with transaction.atomic():
            account = Account.objects.get(pk=account_id)
            balance = balance_lock(account=account, book=Book.CREDIT, currency=currency)
            count += lots_expire_for(balance=balance, now=now)
    return count


# --- orders and payments ------------------------------------------------------------------


# Products sold in message packs: the messaging products billed per message, session or
# call (not voice minutes, not the automatic unsubscribe confirmations).
PACK_PRODUCTS = (Product.SMS, Product.TTS, Product.RCS_MESSAGE, Product.RCS_SESSION,
                 Product.T2C_MT, Product.T2C_SESSION)
MAX_PACK_UNITS = 100_000_000


@dataclass(frozen=True)
class PackPrice:
    product: str
    country: str
    units: int
    currency: str
    unit_price_micros: int
    # What the pack costs excluding VAT: units x unit price, rounded up to the cent so
    # the credit always buys at least `units` messages at the price of the day.
    amount_micros: int


def credit_pack_price(*, account: Account, product: str, country: str, units: int,
                      at: datetime | None = None) -> PackPrice:
    """What a pack of `units` messages of `product` to `country` costs now (no write)."""
    errors: dict[str, list[str]] = {}
    if product not in PACK_PRODUCTS:
        errors["product"] = [_("Packs are sold for: %(products)s.")
                             % {"products": ", ".join(PACK_PRODUCTS)}]
    country = (country or "").strip().upper()
    if len(country) != 2 or not country.isalpha():
        errors["country"] = [_("A two-letter country code.")]
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= MAX_PACK_UNITS:
        errors["units"] = [_("A whole number of messages, at least 1.")]
    if errors:
        raise ValidationFailed(details=errors)
    quote = price_quote(account=account, product=product, quantity=units,
                        destination_country=country, at=at)
    if quote.unit_price_micros <= 0:
        raise ValidationFailed(details={"product": [_("This destination is free.")]})
    return PackPrice(product, country, units, quote.currency, quote.unit_price_micros,
                     round_up_to_cents(quote.amount_micros))


def round_up_to_cents(micros: int) -> int:
    return -(-micros // MICROS_PER_CENT) * MICROS_PER_CENT


@transaction.atomic
def credit_order_create(
    *,
    actor: Actor,
    account: Account,
    amount: Decimal | str | None = None,
    currency: str | None = None,
    product: str | None = None,
    country: str | None = None,
    units: int | None = None,
    now: datetime | None = None,
) -> CreditOrder:
    """Order credits — `amount` (excluding VAT), or a pack of `units` messages of
    `product` to `country` at today's price — and issue the invoice, due on issue.

    `currency` defaults to EUR for an amount; a pack is priced in the currency of the
    account's price list (`currency`, if given, must be that one)."""
    actor.require(Perm.BILLING_MANAGE)
    now = now or timezone.now()
    is_pack = any(value not in (None, "") for value in (product, country, units))
    if is_pack == (amount not in (None, "")):
        raise ValidationFailed(_("Order either an amount or a pack of messages."),
                               details={"amount": [_("Give an amount, or product, country "
                                                     "and units.")]})
    pack = None
    if is_pack:
        pack = credit_pack_price(account=account, product=product or "", country=country or "",
                                 units=units, at=now)
        if currency not in (None, pack.currency):
            raise ValidationFailed(details={"currency": [
                _("This account's prices are in %(currency)s.") % {"currency": pack.currency}]})
        currency, micros = pack.currency, pack.amount_micros
        field = "units"
    else:
        currency = currency or "EUR"
        micros = _amount(amount)
        field = "amount"
    if currency not in CURRENCIES:
        raise ValidationFailed(details={"currency": [_("Unknown currency.")]})
    if not MIN_ORDER_MICROS <= micros <= MAX_ORDER_MICROS:
        raise ValidationFailed(details={field: [_("Between 1 and 1,000,000.")]})
    order = CreditOrder.objects.create(account=account, currency=currency, amount_micros=micros,
                                       ordered_at=now, created_by=actor.label)
    if pack is None:
        line = LineDraft(_("Prepaid credits (valid 12 months from the order)"), "1", micros,
                         micros, "credits")
    else:
        order.pack_product, order.pack_country = pack.product, pack.country
        order.pack_units, order.pack_unit_price_micros = pack.units, pack.unit_price_micros
        line = LineDraft(
            _("Prepaid credits: pack of %(units)s %(product)s to %(country)s at today's "
              "price (valid 12 months from the order)")
            % {"units": pack.units, "product": Product(pack.product).label,
               "country": pack.country},
            str(pack.units), pack.unit_price_micros, micros, "credits")
    order.invoice = invoice_issue(
        account=account, kind=InvoiceKind.CREDIT_PURCHASE, service_kind=ServiceKind.MESSAGING,
        currency=currency, issued_at=now, due_at=now, lines=[line])
    order.save(update_fields=["invoice", "pack_product", "pack_country", "pack_units",
                              "pack_unit_price_micros"])
    details = {"amount": str(from_micros(micros)), "currency": currency,
               "invoice": order.invoice.number}
    if pack is not None:
        details["pack"] = {"product": pack.product, "country": pack.country,
                           "units": pack.units,
                           "unit_price": str(from_micros(pack.unit_price_micros))}
    audit_record(actor=actor, account=account, action="billing.credit_order.create",
                 target=order, details=details)
    return order


def _order_fulfil(*, order: CreditOrder, paid_at: datetime, actor: Actor) -> CreditLot:
    """The invoice is paid: the credits become usable, valid 12 months from the order."""
    months = BillingSettings.load().credit_validity_months
    balance = balance_lock(account=order.account, book=Book.CREDIT, currency=order.currency)
    entry = entry_post(balance=balance, amount_micros=order.amount_micros,
                       reason=EntryReason.CREDIT_PURCHASE, cause_type="billing.creditorder",
                       cause_id=str(order.pk), idempotency_key=f"credit-order:{order.pk}",
                       occurred_at=paid_at, memo=order.invoice.number if order.invoice else "")
    lot = lot_create(entry=entry, amount_micros=order.amount_micros, ordered_at=order.ordered_at,
                     expires_at=credit_expiry(order.ordered_at, zone(order.account.timezone),
                                              months), order=order,
                     pack=(order.pack_product, order.pack_country, order.pack_units))
    order.status = OrderStatus.PAID
    order.paid_at = paid_at
    order.save(update_fields=["status", "paid_at"])
    audit_record(actor=actor, account=order.account, action="billing.credit.grant", target=lot,
                 details={"amount": str(from_micros(lot.original_micros)),
                          "currency": lot.currency, "expires_at": lot.expires_at.isoformat()})
    return lot


def _payment_record(*, actor: Actor, invoice: Invoice, amount_micros: int, method: str,
                    reference: str, received_at: datetime) -> Payment:
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.ISSUED:
        raise Conflict(_("This invoice is not awaiting payment."), code="invoice_not_payable")
    if amount_micros <= 0 or amount_micros > invoice.outstanding_micros:
        raise ValidationFailed(details={"amount": [
            _("Between 0.01 and the amount outstanding (%(due)s).")
            % {"due": from_micros(invoice.outstanding_micros)}]})
    if Payment.objects.filter(method=method, reference=reference).exists():
        raise Conflict(_("A payment with this reference is already recorded."),
                       code="duplicate_payment")
    payment = Payment.objects.create(
        account=invoice.account, invoice=invoice, currency=invoice.currency,
        amount_micros=amount_micros, method=method, reference=reference,
        received_at=received_at, recorded_by=actor.label,
    )
    balance = balance_lock(account=invoice.account, book=Book.RECEIVABLE,
                           currency=invoice.currency)
    entry_post(balance=balance, amount_micros=-amount_micros, reason=EntryReason.PAYMENT,
               cause_type="billing.payment", cause_id=str(payment.pk),
               idempotency_key=f"payment:{payment.pk}", occurred_at=received_at,
               memo=f"{invoice.number} {method} {reference}")
    invoice.paid_micros += amount_micros
    fields = ["paid_micros"]
    if invoice.paid_micros == invoice.total_micros:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = received_at
        fields += ["status", "paid_at"]
    invoice.save(update_fields=fields)
    audit_record(actor=actor, account=invoice.account, action="billing.payment.record",
                 target=payment, details={"invoice": invoice.number, "method": method,
                                          "reference": reference,
                                          "amount": str(from_micros(amount_micros))})
    if invoice.status == InvoiceStatus.PAID:
        order = CreditOrder.objects.filter(invoice=invoice).select_related("account",
                                                                            "invoice").first()
        if order is not None and order.status == OrderStatus.PENDING:
            _order_fulfil(order=order, paid_at=received_at, actor=actor)
        invoice_settled(invoice=invoice, actor=actor)
    return payment


@transaction.atomic
def payment_record(
    *,
    actor: Actor,
    invoice: Invoice,
    amount: Decimal | str,
    method: str,
    reference: str,
    received_at: datetime | None = None,
) -> Payment:
    """The operator records a payment received by transfer, cheque or direct debit (or a
    card payment taken outside the gateway). Paying a credit order's invoice in full makes
    its credits usable; paying an overdue invoice lifts a non-payment suspension."""
    actor.require_operator()
    if method not in PaymentMethod.values:
        raise ValidationFailed(details={"method": [_("Unknown payment method.")]})
    if not reference.strip():
        raise ValidationFailed(details={"reference": [_("This field is required.")]})
    return _payment_record(actor=actor, invoice=invoice, amount_micros=_amount(amount),
                           method=method, reference=reference.strip()[:100],
                           received_at=received_at or timezone.now())


def credit_order_pay_card(
    *,
    actor: Actor,
    order: CreditOrder,
    card_token: str,
    gateway: PaymentGateway | None = None,
) -> Payment:
    """Pay a pending credit order by card through the payment gateway.

    The charge happens outside any transaction (a slow processor must not hold locks);
    the gateway's idempotency key is the order, so a retry never charges twice, and the
    payment is unique per charge reference, so it is recorded once."""
    actor.require(Perm.BILLING_MANAGE)
    if order.status != OrderStatus.PENDING or order.invoice is None:
        raise Conflict(_("This order is not awaiting payment."), code="order_not_payable")
    invoice = order.invoice
    result = (gateway or payment_gateway()).charge(
        amount_micros=invoice.outstanding_micros, currency=invoice.currency, token=card_token,
        idempotency_key=f"credit-order:{order.pk}", description=invoice.number)
    if not result.ok:
        with transaction.atomic():
            audit_record(actor=actor, account=order.account, action="billing.payment.declined",
                         target=order, details={"reference": result.reference,
                                                "message": result.message})
        raise PaymentDeclined(details={"reason": result.message})
    with transaction.atomic():
        existing = Payment.objects.filter(method=PaymentMethod.CARD,
                                          reference=result.reference).first()
        if existing is not None:
            return existing
        return _payment_record(actor=actor, invoice=invoice,
                               amount_micros=invoice.outstanding_micros,
                               method=PaymentMethod.CARD, reference=result.reference,
                               received_at=timezone.now())


@transaction.atomic
def credit_order_cancel(*, actor: Actor, order: CreditOrder) -> CreditOrder:
    """The operator abandons an unpaid order: its invoice is cancelled (its number stays
    used), and what it put on the receivable book is reversed."""
    actor.require_operator()
    order = CreditOrder.objects.select_for_update(of=("self",)).select_related("invoice").get(
        pk=order.pk)
    invoice = order.invoice
    if order.status != OrderStatus.PENDING or invoice is None or invoice.paid_micros:
        raise Conflict(_("Only an unpaid order can be cancelled."))
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status"])
    invoice.status = InvoiceStatus.CANCELLED
    invoice.save(update_fields=["status"])
    balance = balance_lock(account=order.account, book=Book.RECEIVABLE, currency=invoice.currency)
    entry_post(balance=balance, amount_micros=-invoice.total_micros, reason=EntryReason.INVOICE,
               cause_type="billing.invoice", cause_id=str(invoice.pk),
               idempotency_key=f"invoice-cancel:{invoice.pk}", occurred_at=timezone.now(),
               memo=_("Cancelled: %(number)s") % {"number": invoice.number})
    audit_record(actor=actor, account=order.account, action="billing.credit_order.cancel",
                 target=order, details={"invoice": invoice.number})
    return order


# --- transfers ------------------------------------------------------------------------------


@transaction.atomic
def credit_transfer(
    *,
    actor: Actor,
    from_account: Account,
    to_account: Account,
    amount: Decimal | str,
    currency: str = "EUR",
    memo: str = "",
    now: datetime | None = None,
) -> CreditTransfer:
    """Move usable credits between an account and one of its sub-accounts, either way
    (P-2). The portions of lots moved keep their expiry date (and order date); the oldest
    are moved first. Not enough usable credit ⇒ `InsufficientCredit`, nothing moves."""
    actor.require(Perm.BILLING_MANAGE)
    if from_account.pk == to_account.pk:
        raise ValidationFailed(details={"to_account": [_("Choose another account.")]})
    if to_account.pk in account_descendant_ids(account=from_account):
        parent = from_account
    elif from_account.pk in account_descendant_ids(account=to_account):
        parent = to_account
    else:
        raise ValidationFailed(details={"to_account": [
            _("Credits move only between an account and its sub-accounts.")]})
    if currency not in CURRENCIES:
        raise ValidationFailed(details={"currency": [_("Unknown currency.")]})
    micros = to_micros_positive(amount)
    now = now or timezone.now()
    locked = balances_lock([(from_account, Book.CREDIT, currency),
                            (to_account, Book.CREDIT, currency)])
    source = locked[(from_account.pk, Book.CREDIT, currency)]
    target = locked[(to_account.pk, Book.CREDIT, currency)]
    plan = credit_plan(balance=source, amount_micros=micros, now=now)
    transfer = CreditTransfer.objects.create(
        account=parent, from_account=from_account, to_account=to_account, currency=currency,
        amount_micros=micros, memo=memo[:200], created_by=actor.label)
    out_entry = entry_post(balance=source, amount_micros=-micros,
                           reason=EntryReason.TRANSFER_OUT, cause_type="billing.credittransfer",
                           cause_id=str(transfer.pk), idempotency_key=f"transfer-out:{transfer.pk}",
                           occurred_at=now, memo=to_account.name)
    in_entry = entry_post(balance=target, amount_micros=micros, reason=EntryReason.TRANSFER_IN,
                          cause_type="billing.credittransfer", cause_id=str(transfer.pk),
                          idempotency_key=f"transfer-in:{transfer.pk}", occurred_at=now,
                          memo=from_account.name)
    for lot, take in plan:
        lot_debit(lot=lot, entry=out_entry, amount_micros=take)
        lot_create(entry=in_entry, amount_micros=take, ordered_at=lot.ordered_at,
                   expires_at=lot.expires_at, order=lot.order, source_lot=lot,
                   pack=(lot.pack_product, lot.pack_country,
                         take * lot.pack_units // lot.original_micros
                         if lot.pack_units is not None else None))
    details = {"from": str(from_account.pk), "to": str(to_account.pk), "currency": currency,
               "amount": str(from_micros(micros))}
    for account in (from_account, to_account):
        audit_record(actor=actor, account=account, action="billing.credit.transfer",
                     target=transfer, details=details)
    return transfer


def to_micros_positive(amount: Decimal | str | int) -> int:
    try:
        micros = to_micros(amount)
    except MoneyError as exc:
        raise ValidationFailed(details={"amount": [str(exc)]}) from exc
    if micros <= 0:
        raise ValidationFailed(details={"amount": [_("Must be more than zero.")]})
    return micros
