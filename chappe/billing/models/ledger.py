"""The ledger: append-only entries on two books per account, and the cached balance
every writer locks."""


from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.billing.models._base import AppendOnly, _currency_field
from chappe.billing.money import format_amount


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
    # A monthly fee paid from prepaid credit (models/fees.py).
    FEE = "fee", _("Monthly fee")


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
