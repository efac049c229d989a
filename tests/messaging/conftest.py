import pytest

from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.selectors import routes_load
from chappe.carriers.services import simulator_ensure
from tests.billing.conftest import buy_credits, operator, price_list  # noqa: F401


@pytest.fixture
def funded_account(account, buy_credits):  # noqa: F811
    buy_credits(account, "100")
    return account


@pytest.fixture
def simulator(db):
    simulator_ensure(config={"latency_ms": 0})
    return ConnectorFleet(process="test").refresh(), routes_load()
