"""Rating — the pure core: (usage event, price table) → amount in integer micros.

No database, no clock: the caller passes the price table of the version in force. Same
inputs, same output, always (property-tested in tests/billing/test_rating.py).

Billing units (M-8, M-14, M-15, C-9):

* SMS, long Time2Chat MT, unsubscribe confirmations: per **segment** (quantity = segments);
* RCS message / RCS session / Time2Chat MT / Time2Chat session: per message or session;
* TTS: per **call**;
* voice minutes: the price is **per minute**, the quantity is the call's duration in
  seconds and **every started second is billed** (C-9): billed seconds = ceil(duration),
  charge = billed_seconds x price_per_minute / 60, computed exactly and rounded **once per
  call, half up, to the micro** (0.000001 of the currency). A price that is a multiple of
  60 micros per minute is therefore exact to the micro; any other leaves at most half a
  micro per call, and invoices round their aggregated totals to cents.
* number rental, licence, user, plan fee: monthly fixed fees (quantity = units); a partial
  first month is prorated with `prorate` (same half-up rule).

Price lookup: a price row names a product and, optionally (empty = any), a destination
country, an operator (MCC+MNC), a number type and (for voice) an origin country. The most
specific row matching the event wins; specificity ranks destination country, then
operator, then number type, then origin country (M-9: one price per country by default,
an operator-specific price where the operator sets one).
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _


class Product(models.TextChoices):
    SMS = "sms", _("SMS (per segment)")
    TTS = "tts", _("Text-to-speech message (per call)")
    RCS_MESSAGE = "rcs_message", _("RCS message")
    RCS_SESSION = "rcs_session", _("RCS session")
    T2C_MT = "t2c_mt", _("Time2Chat MT")
    T2C_SESSION = "t2c_session", _("Time2Chat session")
    UNSUBSCRIBE_CONFIRMATION = "unsubscribe_confirmation", _("Unsubscribe confirmation")
    VOICE_MINUTE = "voice_minute", _("Outbound voice (per minute, billed per second)")
    NUMBER_RENTAL = "number_rental", _("Phone number rental (monthly)")
    LICENCE = "licence", _("Contact-center licence (monthly)")
    USER = "user", _("User (monthly)")
    PLAN_FEE = "plan_fee", _("Plan fee (monthly)")


# Products rated from usage events (the rest are monthly fees).
USAGE_PRODUCTS = frozenset({
    Product.SMS, Product.TTS, Product.RCS_MESSAGE, Product.RCS_SESSION, Product.T2C_MT,
    Product.T2C_SESSION, Product.UNSUBSCRIBE_CONFIRMATION, Product.VOICE_MINUTE,
})
FEE_PRODUCTS = frozenset(set(Product) - USAGE_PRODUCTS)
SECONDS_PER_MINUTE = 60


class NoPrice(LookupError):
    """No price row matches the event: the usage cannot be rated (and must be refused)."""


@dataclass(frozen=True)
class PriceEntry:
    product: str
    unit_price_micros: int
    country: str = ""
    operator: str = ""
    number_type: str = ""
    origin_country: str = ""

    def matches(self, event: "UsageEvent") -> bool:
        return (
            self.product == event.product
            and self.country in ("", event.destination_country)
            and self.operator in ("", event.operator)
            and self.number_type in ("", event.number_type)
            and self.origin_country in ("", event.origin_country)
        )

    @property
    def specificity(self) -> tuple[bool, bool, bool, bool]:
        return (bool(self.country), bool(self.operator), bool(self.number_type),
                bool(self.origin_country))


@dataclass(frozen=True)
class UsageEvent:
    product: str
    # Segments, messages, sessions, calls or units; for voice, the duration in seconds.
    quantity: int | Decimal
    destination_country: str = ""
    operator: str = ""
    number_type: str = ""
    origin_country: str = ""


@dataclass(frozen=True)
class Rating:
    amount_micros: int
    unit_price_micros: int
    # What was billed: units, or whole seconds for voice.
    billed_quantity: int
    entry: PriceEntry


def _check_quantity(event: UsageEvent) -> Decimal:
    if isinstance(event.quantity, float | bool):
        raise ValueError("quantities are int or Decimal, never float")
    quantity = Decimal(event.quantity)
    if not quantity.is_finite() or quantity < 0:
        raise ValueError("quantity must be a finite number >= 0")
    if event.product != Product.VOICE_MINUTE and quantity != quantity.to_integral_value():
        raise ValueError("only voice durations may be fractional")
    return quantity


def price_lookup(event: UsageEvent, prices: Iterable[PriceEntry]) -> PriceEntry:
    """The most specific price row matching `event`; NoPrice if none does."""
    best: PriceEntry | None = None
    for entry in prices:
        if entry.matches(event) and (best is None or entry.specificity > best.specificity):
            best = entry
    if best is None:
        raise NoPrice(
            f"no price for {event.product} to {event.destination_country or 'any country'}"
        )
    return best


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, exactly, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def billed_seconds(duration: int | Decimal) -> int:
    """Every started second is billed (C-9): 0 → 0, 0.2 → 1, 59 → 59, 60.001 → 61."""
    return math.ceil(Decimal(duration))


def rate(event: UsageEvent, prices: Iterable[PriceEntry]) -> Rating:
    """Price one usage event against one price table (see the module docstring)."""
    quantity = _check_quantity(event)
    entry = price_lookup(event, prices)
    unit = entry.unit_price_micros
    if unit < 0:
        raise ValueError("prices are never negative")
    if event.product == Product.VOICE_MINUTE:
        seconds = billed_seconds(quantity)
        return Rating(_half_up(seconds * unit, SECONDS_PER_MINUTE), unit, seconds, entry)
    units = int(quantity)
    return Rating(units * unit, unit, units, entry)


def prorate(micros: int, numerator: int, denominator: int) -> int:
    """`micros x numerator / denominator`, rounded half up to the micro (fees, penalties)."""
    if micros < 0 or numerator < 0 or denominator <= 0:
        raise ValueError("prorate takes non-negative amounts and a positive denominator")
    return _half_up(micros * numerator, denominator)


def scale(micros: int, factor: Decimal) -> int:
    """`micros x factor` (an exact Decimal), rounded half up to the micro."""
    if isinstance(factor, float):
        raise ValueError("factors are Decimal, never float")
    return int((Decimal(micros) * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def units_affordable(credit_micros: int, unit_price_micros: int) -> int | None:
    """How many whole units `credit_micros` buys at `unit_price_micros` (None if free)."""
    if unit_price_micros <= 0:
        return None
    return max(credit_micros, 0) // unit_price_micros
