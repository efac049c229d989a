"""The pure rating core: boundaries (C-9 per second, M-8 per segment) and properties."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chappe.billing.money import to_micros
from chappe.billing.rating import (
    USAGE_PRODUCTS,
    NoPrice,
    PriceEntry,
    Product,
    UsageEvent,
    billed_seconds,
    price_lookup,
    prorate,
    rate,
    units_affordable,
)

PER_MINUTE = to_micros("0.012")  # 12_000 micros/min = 200 micros/s: exact per second
TABLE = [
    PriceEntry(Product.SMS, to_micros("0.045"), country="FR"),
    PriceEntry(Product.SMS, to_micros("0.05"), country="FR", operator="20801"),
    PriceEntry(Product.SMS, to_micros("0.10")),
    PriceEntry(Product.VOICE_MINUTE, PER_MINUTE, country="FR"),
    PriceEntry(Product.VOICE_MINUTE, to_micros("0.06"), country="FR", number_type="mobile"),
    PriceEntry(Product.VOICE_MINUTE, to_micros("0.0133"), country="DE"),
    PriceEntry(Product.VOICE_MINUTE, to_micros("0.03"), country="US", origin_country="FR"),
    PriceEntry(Product.VOICE_MINUTE, to_micros("0.05"), country="US"),
    PriceEntry(Product.TTS, to_micros("0.12")),
    PriceEntry(Product.RCS_SESSION, to_micros("0.06")),
]


def call(seconds, country="FR", **kw) -> int:
    return rate(UsageEvent(Product.VOICE_MINUTE, seconds, destination_country=country, **kw),
                TABLE).amount_micros


@pytest.mark.parametrize(("seconds", "billed", "micros"), [
    (0, 0, 0),
    (1, 1, 200),
    (59, 59, 11_800),
    (60, 60, 12_000),
    (61, 61, 12_200),
    (Decimal("0.2"), 1, 200),
    (Decimal("60.001"), 61, 12_200),
])
def test_every_started_second_is_billed(seconds, billed, micros):
    rating = rate(UsageEvent(Product.VOICE_MINUTE, seconds, destination_country="FR"), TABLE)
    assert rating.billed_quantity == billed == billed_seconds(seconds)
    assert rating.amount_micros == micros


def test_per_second_rounding_is_half_up_to_the_micro():
    # 0.0133 €/min = 13_300 micros/min: 1 s = 221.666… → 222; 61 s = 13_521.666… → 13_522
    assert call(1, "DE") == 222
    assert call(61, "DE") == 13_522
    assert call(60, "DE") == 13_300


def test_one_vs_two_sms_segments():
    one = rate(UsageEvent(Product.SMS, 1, destination_country="FR"), TABLE)
    two = rate(UsageEvent(Product.SMS, 2, destination_country="FR"), TABLE)
    assert one.amount_micros == 45_000
    assert two.amount_micros == 90_000


def test_most_specific_price_wins():
    assert rate(UsageEvent(Product.SMS, 1, "FR", operator="20801"), TABLE).amount_micros == 50_000
    assert rate(UsageEvent(Product.SMS, 1, "FR", operator="20810"), TABLE).amount_micros == 45_000
    assert rate(UsageEvent(Product.SMS, 1, "JP"), TABLE).amount_micros == 100_000
    assert call(60, number_type="mobile") == 60_000
    assert call(60, "US", origin_country="FR") == 30_000
    assert call(60, "US", origin_country="BE") == 50_000


def test_unpriced_use_raises():
    with pytest.raises(NoPrice):
        price_lookup(UsageEvent(Product.T2C_MT, 1, "FR"), TABLE)
    with pytest.raises(NoPrice):
        rate(UsageEvent(Product.VOICE_MINUTE, 10, "JP"), TABLE)


@pytest.mark.parametrize("quantity", [-1, 1.5, Decimal("-0.1"), Decimal("NaN")])
def test_bad_quantities_are_refused(quantity):
    with pytest.raises(ValueError, match="quant"):
        rate(UsageEvent(Product.VOICE_MINUTE, quantity, "FR"), TABLE)


def test_fractional_segments_are_refused():
    with pytest.raises(ValueError, match="fractional"):
        rate(UsageEvent(Product.SMS, Decimal("1.5"), "FR"), TABLE)


def test_prorate_and_affordable_units():
    assert prorate(49_000_000, 17, 31) == 26_870_968  # 26.870967.7… half up
    assert prorate(10, 1, 4) == 3  # 2.5 → 3
    assert units_affordable(1_000_000, 45_000) == 22
    assert units_affordable(1_000_000, 0) is None


prices = st.integers(min_value=0, max_value=10**9)
products = st.sampled_from(sorted(USAGE_PRODUCTS))
countries = st.sampled_from(["FR", "BE", "US", "DE", ""])
durations = st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False,
                        allow_infinity=False)


def _quantity(product, q):
    return q if product == Product.VOICE_MINUTE else int(q)


@given(products, prices, countries, durations)
def test_never_negative_and_deterministic(product, price, country, quantity):
    table = [PriceEntry(product, price), PriceEntry(product, price * 2 + 1, country="FR")]
    event = UsageEvent(product, _quantity(product, quantity), destination_country=country)
    first = rate(event, table)
    assert first.amount_micros >= 0
    assert rate(event, list(reversed(table))) == first


@given(products, prices, durations, durations)
def test_monotonic_in_quantity(product, price, a, b):
    low, high = sorted((a, b))
    table = [PriceEntry(product, price)]
    assert (rate(UsageEvent(product, _quantity(product, low)), table).amount_micros
            <= rate(UsageEvent(product, _quantity(product, high)), table).amount_micros)


@given(prices, st.integers(min_value=0, max_value=10**6))
def test_voice_charge_is_exact_within_half_a_micro(price, seconds):
    amount = rate(UsageEvent(Product.VOICE_MINUTE, seconds), [PriceEntry(
        Product.VOICE_MINUTE, price)]).amount_micros
    exact = Decimal(seconds * price) / 60
    assert abs(Decimal(amount) - exact) <= Decimal("0.5")
