"""Fixtures of the web app tests: a logged-in administrator, and the billing fixtures (a
price list in force, paid credits) for the SMS and billing pages."""

import pytest
from django.test import Client

from chappe.accounts.models import User
from tests.billing.conftest import buy_credits, operator, price_list  # noqa: F401
from tests.web.support import client_for


@pytest.fixture
def funded_account(account, buy_credits):  # noqa: F811
    buy_credits(account, "100")
    return account


@pytest.fixture
def admin(account, make_user) -> User:
    return make_user(account, email="admin@acme.example", first_name="Ada", last_name="Admin")


@pytest.fixture
def web(admin) -> Client:
    return client_for(admin)
