"""Invoices (P-7): numbering, lines, contests."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from chappe.accounts.models import ServiceKind
from chappe.billing.models._base import _currency_field


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
