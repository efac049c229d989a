"""Platform-wide billing settings (one row, edited by the operator)."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


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
    prepaid_fee_grace_days = models.PositiveIntegerField(
        default=30,
        help_text=_("A prepaid monthly fee that cannot be paid suspends what it pays for "
                    "(a phone number); after this many days still unpaid, it ends (the "
                    "number is released)."))

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")

    def __str__(self) -> str:
        return str(_("Billing settings"))

    @classmethod
    def load(cls) -> "BillingSettings":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj
