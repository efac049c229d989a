"""Billing records: price lists, plans, subscriptions, the ledger, credits, usage, invoices.

Money columns are integer micro-units (`*_micros`, see money.py), never floats or
SQLite "decimals". Everything here is billing data kept **10 years** (P-13, C-10): rows
point to their account with `on_delete=PROTECT`, so an account that has billing history
cannot be hard-deleted (the privacy purge must anonymise it instead), and the ledger and
usage records refuse updates of their money fields and deletes through the ORM.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from chappe.accounts.models import ServiceKind
from chappe.billing.money import CURRENCIES, DEFAULT_CURRENCY, format_amount
from chappe.billing.rating import Product

CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]
# P-13, C-10: billing and usage data is kept this long, even after the account is closed.
RETENTION = timedelta(days=3653)


def _currency_field() -> models.CharField:
    return models.CharField(max_length=3, choices=CURRENCY_CHOICES, default=DEFAULT_CURRENCY)


class AppendOnly(models.Model):
    """Rows that are facts: written once, never edited or deleted through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError(f"{type(self).__name__} rows are append-only.")


# --- operator settings ---------------------------------------------------------------


class BillingSettings(models.Model):
    """Platform-wide billing settings (one row, edited by the operator in the admin)."""

    seller_name = models.CharField(max_length=200, default="Chappe operator")
    seller_address = models.TextField(blank=True)
    seller_vat_number = models.CharField(max_length=20, blank=True)
    seller_siret = models.CharField(max_length=14, blank=True)
    invoice_prefix = models.CharField(max_length=10, default="INV")
    vat_rate = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0.2000"),
                                   help_text=_("Standard VAT rate, e.g. 0.2000 for 20 %."))
    messaging_penalty_rate = models.DecimalField(
        max_digits=6, decimal_places=4, default=Decimal("0.1500"),
        help_text=_("Yearly late-payment rate for messaging (P-7: 15 %)."))
    legal_interest_rate = models.DecimalField(
        max_digits=6, decimal_places=4, default=Decimal("0.0000"),
        help_text=_("The legal interest rate in force (update it each half-year); "
                    "contact-center late payments bear 3 x this rate (P-7)."))
    contact_center_penalty_multiplier = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("3"))
    recovery_fee_micros = models.BigIntegerField(
        default=40_000_000, help_text=_("Flat recovery fee in micros (40 € = 40000000)."))
    messaging_contest_days = models.PositiveIntegerField(default=15)
    contact_center_contest_days = models.PositiveIntegerField(default=30)
    messaging_payment_days = models.PositiveIntegerField(
        default=0, help_text=_("Messaging invoices are due on issue unless an order says "
                               "otherwise."))
    contact_center_payment_days = models.PositiveIntegerField(default=30)
    auto_suspend_after_days = models.PositiveIntegerField(
        null=True, blank=True,
        help_text=_("Suspend a service automatically this many days after an invoice "
                    "falls due unpaid; empty = only by hand (P-7, P-8)."))
    credit_validity_months = models.PositiveIntegerField(default=12)

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")

    def __str__(self) -> str:
        return str(_("Billing settings"))

    @classmethod
    def load(cls) -> "BillingSettings":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


# --- prices --------------------------------------------------------------------------


class PriceList(models.Model):
    """A named, versioned price list in one currency (assigned to plans or accounts)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    currency = _currency_field()
    # The list used by accounts with neither an override nor a plan (at most one).
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                               name="one_default_price_list")]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class PriceListVersion(models.Model):
    """The prices of one list from `effective_from` until the next version takes over."""

    price_list = models.ForeignKey(PriceList, on_delete=models.PROTECT, related_name="versions")
    effective_from = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["price_list", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["price_list", "effective_from"],
                                               name="one_version_per_instant")]

    def __str__(self) -> str:
        return f"{self.price_list.code} @ {self.effective_from:%Y-%m-%d %H:%M}"


class Price(models.Model):
    """One price row; empty key fields match anything (see rating.price_lookup)."""

    version = models.ForeignKey(PriceListVersion, on_delete=models.CASCADE, related_name="prices")
    product = models.CharField(max_length=32, choices=Product.choices)
    country = models.CharField(max_length=2, blank=True, help_text=_("Destination; empty = any."))
    operator = models.CharField(max_length=6, blank=True, help_text=_("MCC+MNC; empty = any."))
    number_type = models.CharField(max_length=20, blank=True)
    origin_country = models.CharField(max_length=2, blank=True, help_text=_("Voice only."))
    unit_price_micros = models.BigIntegerField()

    class Meta:
        ordering = ["product", "country", "operator", "number_type", "origin_country"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "product", "country", "operator", "number_type",
                        "origin_country"], name="one_price_per_key"),
            models.CheckConstraint(condition=Q(unit_price_micros__gte=0),
                                   name="price_not_negative"),
        ]

    def __str__(self) -> str:
        price = format_amount(self.unit_price_micros, places=6)
        return f"{self.product} {self.country or '*'} {price}"


class PriceChangeNotice(models.Model):
    """A price change announced to clients (P-14): one per scheduled version."""

    price_list = models.ForeignKey(PriceList, on_delete=models.PROTECT, related_name="notices")
    version = models.OneToOneField(PriceListVersion, on_delete=models.PROTECT,
                                   related_name="notice")
    announced_at = models.DateTimeField()
    effective_from = models.DateTimeField()
    message = models.TextField(blank=True)
    # Announced less than a month ahead: allowed only when the operator confirmed it.
    short_notice = models.BooleanField(default=False)

    class Meta:
        ordering = ["-announced_at"]

    def __str__(self) -> str:
        return f"{self.price_list.code} from {self.effective_from:%Y-%m-%d}"


# --- plans and subscriptions ---------------------------------------------------------


class Plan(models.Model):
    """A subscription offer: monthly fees and usage billed in arrears (P-6, C-9).

    Fees come from the plan's price list (products plan_fee, licence, user, number_rental)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    service_kind = models.CharField(max_length=32, choices=ServiceKind.choices)
    price_list = models.ForeignKey(PriceList, on_delete=models.PROTECT, related_name="plans")
    # 12 for messaging (tacitly renewed), 0 for an indefinite contact-center subscription.
    term_months = models.PositiveIntegerField(default=12)
    notice_days = models.PositiveIntegerField(default=30)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class AccountBilling(models.Model):
    """Per-account billing choices made by the operator (price-list override)."""

    account = models.OneToOneField("accounts.Account", on_delete=models.PROTECT,
                                   primary_key=True, related_name="billing")
    price_list = models.ForeignKey(PriceList, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+", help_text=_("Overrides the plan's list."))

    class Meta:
        verbose_name = _("account billing profile")

    def __str__(self) -> str:
        return f"{self.account}"


class SubscriptionStatus(models.TextChoices):
    # Running: fees owed every month, usage billed in arrears, no balance check.
    ACTIVE = "active", _("Active")
    # Cancelled with notice: runs until ends_at, then ended.
    ENDING = "ending", _("Ending")
    # Over: nothing more is owed after ends_at.
    ENDED = "ended", _("Ended")


class Subscription(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    service_kind = models.CharField(max_length=32, choices=ServiceKind.choices)
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices,
                              default=SubscriptionStatus.ACTIVE)
    started_at = models.DateTimeField()
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # Contact-center quantities billed each month (C-9); numbers: [{country, number_type,
    # count}] until the call-center app owns numbers.
    users = models.PositiveIntegerField(default=0)
    licences = models.PositiveIntegerField(default=0)
    numbers = models.JSONField(default=list, blank=True)
    # "unless the order says otherwise" (P-7): null = the operator default.
    payment_days = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(
            fields=["account", "service_kind"], condition=~Q(status="ended"),
            name="one_live_subscription_per_service")]

    def __str__(self) -> str:
        return f"{self.account} · {self.plan}"


# --- ledger --------------------------------------------------------------------------


class Book(models.TextChoices):
    # Prepaid credits the account holds; never negative.
    CREDIT = "credit", _("Prepaid credit")
    # What the account owes the operator: invoices and penalties minus payments.
    RECEIVABLE = "receivable", _("Amount due")


class EntryReason(models.TextChoices):
    CREDIT_PURCHASE = "credit_purchase", _("Credit purchase")
    USAGE = "usage", _("Usage")
    TRANSFER_IN = "transfer_in", _("Transfer received")
    TRANSFER_OUT = "transfer_out", _("Transfer sent")
    EXPIRY = "expiry", _("Credit expiry")
    INVOICE = "invoice", _("Invoice issued")
    PAYMENT = "payment", _("Payment received")
    PENALTY = "penalty", _("Late-payment penalty")
    USAGE_REVERSAL = "usage_reversal", _("Usage reversed (canceled before use)")


class LedgerEntry(AppendOnly):
    """One immutable money movement on one book of one account.

    `cause_type`/`cause_id` name what caused it (usage record, invoice, payment, transfer,
    credit lot…); `idempotency_key` makes every cause land exactly once."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="ledger_entries")
    book = models.CharField(max_length=16, choices=Book.choices)
    currency = _currency_field()
    amount_micros = models.BigIntegerField()
    reason = models.CharField(max_length=32, choices=EntryReason.choices)
    cause_type = models.CharField(max_length=40)
    cause_id = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=200, unique=True)
    memo = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["account", "book", "currency", "-occurred_at"]),
                   models.Index(fields=["cause_type", "cause_id"])]
        verbose_name_plural = _("ledger entries")

    def __str__(self) -> str:
        return f"{self.reason} {format_amount(self.amount_micros, self.currency, places=6)}"


class AccountBalance(models.Model):
    """Cached sum of an account's entries on one book and currency — and the row every
    writer of that book locks first (`SELECT … FOR UPDATE`), which serializes debits.
    `billing_reconcile` proves it equals the sum of the entries."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="balances")
    book = models.CharField(max_length=16, choices=Book.choices)
    currency = _currency_field()
    balance_micros = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "book", "currency"],
                                               name="one_balance_per_book")]

    def __str__(self) -> str:
        return f"{self.account} {self.book} {self.currency}"


# --- prepaid credits -----------------------------------------------------------------


class CreditLot(models.Model):
    """Credits from one paid order (or the part of one moved by a transfer): valid until
    `expires_at` (12 months from the order, P-5), consumed oldest first."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="credit_lots")
    currency = _currency_field()
    order = models.ForeignKey("CreditOrder", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="lots")
    # A lot created by a transfer points to the lot it came from (same expiry).
    source_lot = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    original_micros = models.BigIntegerField()
    remaining_micros = models.BigIntegerField()
    ordered_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    expired_at = models.DateTimeField(null=True, blank=True)
    # A message pack ("1,000 SMS to FR", P-5), for display only: the lot holds money like
    # any other and is spent like any other (decision 0015), so what it buys follows
    # today's price. `pack_units`: the messages this lot stood for when bought (a
    # transferred part: its share).
    pack_product = models.CharField(max_length=32, blank=True, choices=Product.choices)
    pack_country = models.CharField(max_length=2, blank=True)
    pack_units = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["expires_at", "id"]
        indexes = [models.Index(fields=["account", "currency", "expires_at"])]
        constraints = [models.CheckConstraint(condition=Q(remaining_micros__gte=0),
                                              name="lot_not_negative")]

    def __str__(self) -> str:
        return f"lot #{self.pk} {format_amount(self.remaining_micros, self.currency)}"


class LotMovement(AppendOnly):
    """How a ledger entry on the credit book moved one lot (sum = lot.remaining_micros)."""

    lot = models.ForeignKey(CreditLot, on_delete=models.PROTECT, related_name="movements")
    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="movements")
    amount_micros = models.BigIntegerField()

    def __str__(self) -> str:
        return f"lot #{self.lot_id} {self.amount_micros:+d}"


class OrderStatus(models.TextChoices):
    # Invoiced, waiting for payment; no credit yet (P-5).
    PENDING = "pending", _("Awaiting payment")
    # Paid in full: its credit lot exists.
    PAID = "paid", _("Paid")
    # Abandoned before payment; its invoice is cancelled (number kept).
    CANCELLED = "cancelled", _("Cancelled")


class CreditOrder(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="credit_orders")
    currency = _currency_field()
    # Credit value bought (excluding VAT); the invoice adds VAT.
    amount_micros = models.BigIntegerField()
    # Message-denominated order (P-5): a pack of `pack_units` messages of `pack_product` to
    # `pack_country`, sold as money at the unit price of the day (decision 0015); empty
    # for a money order.
    pack_product = models.CharField(max_length=32, blank=True, choices=Product.choices)
    pack_country = models.CharField(max_length=2, blank=True)
    pack_units = models.PositiveIntegerField(null=True, blank=True)
    pack_unit_price_micros = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices,
                              default=OrderStatus.PENDING)
    ordered_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    invoice = models.OneToOneField("Invoice", null=True, on_delete=models.PROTECT,
                                   related_name="credit_order")
    created_by = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-ordered_at"]

    def __str__(self) -> str:
        return f"order {self.pk} ({self.status})"


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    TRANSFER = "transfer", _("Bank transfer")
    CHEQUE = "cheque", _("Cheque")
    DIRECT_DEBIT = "direct_debit", _("Direct debit")


class Payment(AppendOnly):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="payments")
    invoice = models.ForeignKey("Invoice", on_delete=models.PROTECT, related_name="payments")
    currency = _currency_field()
    amount_micros = models.BigIntegerField()
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    # Card charge id, transfer reference, cheque number…: one payment per reference.
    reference = models.CharField(max_length=100)
    received_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["method", "reference"], name="one_payment_per_ref"),
            models.CheckConstraint(condition=Q(amount_micros__gt=0), name="payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.reference}"


class CreditTransfer(AppendOnly):
    """Credits moved between a parent account and one of its sub-accounts (P-2)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The managing (parent) account: whose history lists the transfer.
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="credit_transfers")
    from_account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                     related_name="+")
    to_account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                   related_name="+")
    currency = _currency_field()
    amount_micros = models.BigIntegerField()
    memo = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"transfer {self.pk}"


# --- usage ---------------------------------------------------------------------------


class BillingMode(models.TextChoices):
    # Debited from prepaid credits at the time of use.
    PREPAID = "prepaid", _("Prepaid")
    # Recorded and invoiced at the end of the month (subscribers, P-6).
    POSTPAID = "postpaid", _("Invoiced monthly")


class UsageRecord(AppendOnly):
    """One rated, billed use (a message's segments, a call, a session…).

    The proof between the parties (C-10), kept 10 years (RETENTION)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="usage_records")
    service_kind = models.CharField(max_length=32, choices=ServiceKind.choices)
    product = models.CharField(max_length=32, choices=Product.choices)
    # As reported (seconds for voice, may be fractional); billed_quantity is what is billed.
    quantity = models.CharField(max_length=32)
    billed_quantity = models.BigIntegerField()
    destination_country = models.CharField(max_length=2, blank=True)
    operator = models.CharField(max_length=6, blank=True)
    number_type = models.CharField(max_length=20, blank=True)
    origin_country = models.CharField(max_length=2, blank=True)
    currency = _currency_field()
    unit_price_micros = models.BigIntegerField()
    amount_micros = models.BigIntegerField()
    price_version = models.ForeignKey(PriceListVersion, on_delete=models.PROTECT,
                                      related_name="+")
    billing_mode = models.CharField(max_length=16, choices=BillingMode.choices)
    cause_type = models.CharField(max_length=40)
    cause_id = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=200)
    # Prepaid: the debit (or credit, for a reversal) it caused. A batch of uses accepted
    # together (one send) shares one entry.
    ledger_entry = models.ForeignKey(LedgerEntry, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="usage_records")
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-created_at"]
        indexes = [models.Index(fields=["account", "-occurred_at"]),
                   models.Index(fields=["billing_mode", "service_kind", "occurred_at"])]
        constraints = [models.UniqueConstraint(fields=["account", "idempotency_key"],
                                               name="usage_once_per_key")]

    def __str__(self) -> str:
        return f"{self.product} x{self.billed_quantity} ({self.idempotency_key})"


class InvoicedUsage(models.Model):
    """Which monthly invoice billed a postpaid usage record (each record at most once)."""

    usage = models.OneToOneField(UsageRecord, on_delete=models.PROTECT, primary_key=True,
                                 related_name="invoiced")
    invoice = models.ForeignKey("Invoice", on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.usage_id} -> {self.invoice_id}"


# --- invoices ------------------------------------------------------------------------


class InvoiceKind(models.TextChoices):
    CREDIT_PURCHASE = "credit_purchase", _("Credit purchase")
    MONTHLY = "monthly", _("Monthly invoice")
    PENALTY = "penalty", _("Late-payment penalties")


class InvoiceStatus(models.TextChoices):
    # Issued and not fully paid.
    ISSUED = "issued", _("Issued")
    # Paid in full.
    PAID = "paid", _("Paid")
    # A credit order abandoned before payment; the number stays used (gap-free).
    CANCELLED = "cancelled", _("Cancelled")


class InvoiceCounter(models.Model):
    """Gap-free numbering: one counter per series (prefix-year), locked while issuing."""

    series = models.CharField(max_length=32, primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.series}: {self.last_number}"


class Invoice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="invoices")
    number = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=20, choices=InvoiceKind.choices)
    service_kind = models.CharField(max_length=32, choices=ServiceKind.choices)
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices,
                              default=InvoiceStatus.ISSUED)
    currency = _currency_field()
    # Local dates (account time zone) of the billed period, inclusive.
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    issued_at = models.DateTimeField()
    due_at = models.DateTimeField()
    subtotal_micros = models.BigIntegerField()
    vat_rate = models.DecimalField(max_digits=6, decimal_places=4)
    vat_micros = models.BigIntegerField()
    total_micros = models.BigIntegerField()
    paid_micros = models.BigIntegerField(default=0)
    paid_at = models.DateTimeField(null=True, blank=True)
    # Buyer and seller as they were at issue (an invoice never changes afterwards).
    bill_to = models.JSONField(default=dict)
    seller = models.JSONField(default=dict)
    # The invoice that late penalties were charged for (kind=penalty only).
    penalised_invoice = models.ForeignKey("self", null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Late penalties already charged (P-7): interest up to this instant, the flat fee once.
    penalties_charged_until = models.DateTimeField(null=True, blank=True)
    recovery_fee_charged = models.BooleanField(default=False)

    class Meta:
        ordering = ["-issued_at", "-number"]
        indexes = [models.Index(fields=["account", "-issued_at"]),
                   models.Index(fields=["status", "due_at"])]
        constraints = [models.UniqueConstraint(
            fields=["account", "service_kind", "period_start"],
            condition=Q(kind="monthly"), name="one_monthly_invoice_per_period")]

    def __str__(self) -> str:
        return self.number

    @property
    def outstanding_micros(self) -> int:
        if self.status == InvoiceStatus.CANCELLED:
            return 0
        return self.total_micros - self.paid_micros


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    product = models.CharField(max_length=32, blank=True)
    description = models.CharField(max_length=300)
    quantity = models.CharField(max_length=32)
    unit_price_micros = models.BigIntegerField()
    # Rounded to cents at issue.
    amount_micros = models.BigIntegerField()

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"],
                                               name="one_line_per_position")]

    def __str__(self) -> str:
        return f"{self.invoice_id} #{self.position}"


class ContestStatus(models.TextChoices):
    # Penalties on the invoice are frozen while open (P-7).
    OPEN = "open", _("Open")
    # The operator found the invoice right: penalties accrue again (frozen days excepted).
    REJECTED = "rejected", _("Rejected")
    # The client was right: penalties on the contested invoice are waived.
    ACCEPTED = "accepted", _("Accepted")


class InvoiceContest(models.Model):
    """A client's dispute of an invoice, within 15 (messaging) / 30 (contact center) days."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="invoice_contests")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="contests")
    status = models.CharField(max_length=16, choices=ContestStatus.choices,
                              default=ContestStatus.OPEN)
    reason = models.TextField()
    opened_at = models.DateTimeField()
    opened_by = models.CharField(max_length=254, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [models.UniqueConstraint(fields=["invoice"], condition=Q(status="open"),
                                               name="one_open_contest_per_invoice")]

    def __str__(self) -> str:
        return f"contest of {self.invoice}"
