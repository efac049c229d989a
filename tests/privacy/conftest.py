"""The billing fixtures (a price list in force, paid credits) for the purge tests, and the
address book's (an administrator actor, a funded account) for the rights tests."""

from tests.billing.conftest import buy_credits, price_list  # noqa: F401
from tests.contacts.conftest import actor, funded_account  # noqa: F401
