"""Monthly fees debited from prepaid credit (a rented phone number's month, C-1, C-9).

Subscribers get their fees on the monthly invoice (services/monthly.py). An account without
a subscription pays each month in advance from its prepaid credits (P-5): one `FeeCharge`
per (cause, month) is the proof of that debit, kept 10 years (RETENTION) like usage records.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.billing.models._base import AppendOnly, _currency_field
from chappe.billing.models.ledger import LedgerEntry
from chappe.billing.money import format_amount
from chappe.billing.rating import Product


class FeeCharge(AppendOnly):
    """One month (or the prorated first part of one) of a fee, paid from prepaid credit."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="fee_charges")
    product = models.CharField(max_length=32, choices=Product.choices)
    # What the fee pays for, as the client knows it (a number, its country and type).
    description = models.CharField(max_length=200)
    # Local days covered, both included: the first period starts on the day the fee
    # started and ends with its month; later ones are whole calendar months.
    period_start = models.DateField()
    period_end = models.DateField()
    days = models.PositiveSmallIntegerField()
    month_days = models.PositiveSmallIntegerField()
    monthly_price_micros = models.BigIntegerField()
    amount_micros = models.BigIntegerField()
    currency = _currency_field()
    cause_type = models.CharField(max_length=40)
    cause_id = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=200)
    # The debit on the credit book (none for a free month).
    ledger_entry = models.OneToOneField(LedgerEntry, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="fee_charge")
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-created_at"]
        indexes = [models.Index(fields=["account", "-occurred_at"]),
                   models.Index(fields=["cause_type", "cause_id"])]
        constraints = [models.UniqueConstraint(fields=["account", "idempotency_key"],
                                               name="fee_once_per_key")]
        verbose_name = _("prepaid fee")

    def __str__(self) -> str:
        return (f"{self.product} {self.period_start:%Y-%m-%d}→{self.period_end:%Y-%m-%d} "
                f"{format_amount(self.amount_micros, self.currency)}")
