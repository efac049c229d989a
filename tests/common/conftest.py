"""The billing fixtures (a price list in force, paid credits) for the export tests."""

import pytest

from tests.billing.conftest import buy_credits, operator, price_list  # noqa: F401


@pytest.fixture
def funded_account(account, buy_credits):  # noqa: F811
    buy_credits(account, "100")
    return account
