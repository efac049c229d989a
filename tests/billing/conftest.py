"""Billing fixtures: a default price list in force, operator actor, paid credits."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account
from chappe.billing.models import CreditLot, PriceList
from chappe.billing.services import (
    credit_order_create,
    payment_record,
    price_list_create,
    price_list_version_create,
)

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

DEFAULT_PRICES = [
    {"product": "sms", "country": "FR", "unit_price": "0.045"},
    {"product": "sms", "country": "FR", "operator": "20801", "unit_price": "0.05"},
    {"product": "sms", "country": "BE", "unit_price": "0.07"},
    {"product": "sms", "unit_price": "0.10"},
    {"product": "tts", "country": "FR", "unit_price": "0.12"},
    {"product": "rcs_message", "unit_price": "0.03"},
    {"product": "rcs_session", "unit_price": "0.06"},
    {"product": "t2c_mt", "unit_price": "0.04"},
    {"product": "t2c_session", "unit_price": "0.08"},
    {"product": "unsubscribe_confirmation", "unit_price": "0.045"},
    {"product": "voice_minute", "country": "FR", "unit_price": "0.012"},
    {"product": "voice_minute", "country": "FR", "number_type": "mobile", "unit_price": "0.06"},
    {"product": "voice_minute", "country": "US", "origin_country": "FR", "unit_price": "0.03"},
    {"product": "plan_fee", "unit_price": "49.00"},
    {"product": "licence", "unit_price": "25.00"},
    {"product": "user", "unit_price": "5.00"},
    {"product": "number_rental", "country": "FR", "unit_price": "2.00"},
]

OPERATOR = Actor(account=None, is_operator=True, ip="198.51.100.7", user_agent="pytest-operator")


@pytest.fixture
def operator() -> Actor:
    return OPERATOR


@pytest.fixture
def price_list(db) -> PriceList:
    price_list = price_list_create(actor=SYSTEM, code="standard", name="Standard",
                                   is_default=True)
    price_list_version_create(actor=SYSTEM, price_list=price_list, effective_from=EPOCH,
                              prices=DEFAULT_PRICES)
    return price_list


@pytest.fixture
def buy_credits(price_list) -> Callable[..., CreditLot]:
    """Order and pay `amount` EUR of credits for `account` (optionally at `when`)."""

    def buy(account: Account, amount: str | Decimal = "100", when: datetime | None = None,
            currency: str = "EUR") -> CreditLot:
        order = credit_order_create(actor=OPERATOR.on(account), account=account, amount=amount,
                                    currency=currency, now=when)
        payment_record(actor=OPERATOR, invoice=order.invoice,
                       amount=str(Decimal(order.invoice.total_micros) / 1_000_000),
                       method="transfer", reference=f"VIR-{order.pk}", received_at=when)
        order.refresh_from_db()
        return order.lots.get()

    return buy
