"""Prepaid credits (P-5): lots and their movements, orders, payments, transfers (P-2)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from chappe.billing.models._base import AppendOnly, _currency_field
from chappe.billing.models.ledger import LedgerEntry
from chappe.billing.money import format_amount
from chappe.billing.rating import Product


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
