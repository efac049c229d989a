"""The billing fixtures (a price list in force, paid credits), and the agents' and the voice
engine's (the softphone scenarios), for the browser scenarios."""

from tests.agents.conftest import licences, make_agent  # noqa: F401
from tests.billing.conftest import buy_credits, price_list  # noqa: F401
from tests.voice.conftest import data_dir, number_with  # noqa: F401
