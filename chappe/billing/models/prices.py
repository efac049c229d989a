"""Price lists and their versions, change notices (P-14), plans, account overrides and
subscriptions (P-6)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from chappe.accounts.models import ServiceKind
from chappe.billing.models._base import _currency_field
from chappe.billing.money import format_amount
from chappe.billing.rating import Product


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
