"""The billing fixtures (a price list in force, paid credits) for contact-center tests,
and the voice tests' rented number answered by a flow (the engine's directory tests)."""

from tests.billing.conftest import buy_credits, price_list  # noqa: F401
from tests.voice.conftest import data_dir, number_with  # noqa: F401
