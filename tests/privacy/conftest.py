"""The billing fixtures (a price list in force, paid credits) for the purge tests."""

from tests.billing.conftest import buy_credits, price_list  # noqa: F401
