"""Rated usage records (C-10), kept 10 years, and which invoice billed them."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.accounts.models import ServiceKind
from chappe.billing.models._base import AppendOnly, _currency_field
from chappe.billing.models.ledger import LedgerEntry
from chappe.billing.models.prices import PriceListVersion
from chappe.billing.rating import Product


class BillingMode(models.TextChoices):
    # Debited from prepaid credits at the time of use.
    PREPAID = "prepaid", _("Prepaid")
    # Recorded and invoiced at the end of the month (subscribers, P-6).
    POSTPAID = "postpaid", _("Invoiced monthly")


class UsageRecord(AppendOnly):
    """One rated, billed use (a call, a session…), or `uses` identical uses accepted
    together (an aggregate: the messages of one acceptance batch of one kind of use —
    product, quantity, destination, operator — with their quantity, billed quantity and
    amount summed; each message keeps its aggregate's id, decision 0036).

    The proof between the parties (C-10), kept 10 years (RETENTION)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="usage_records")
    service_kind = models.CharField(max_length=32, choices=ServiceKind.choices)
    product = models.CharField(max_length=32, choices=Product.choices)
    # How many identical uses this record stands for: 1, or an aggregate's count (a
    # reversal undoes one use of the record it `reverses`).
    uses = models.PositiveIntegerField(default=1)
    # As reported (seconds for voice, may be fractional), summed over the uses;
    # billed_quantity is what is billed.
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
    # A reversal: the record (one use, or an aggregate) one of whose uses it undoes.
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="reversals")
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
