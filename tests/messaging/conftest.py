from collections import Counter

import pytest

from chappe.billing.models import UsageRecord
from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.selectors import routes_load
from chappe.carriers.services import simulator_ensure
from chappe.messaging.models import Message
from tests.billing.conftest import buy_credits, operator, price_list  # noqa: F401


@pytest.fixture
def funded_account(account, buy_credits):  # noqa: F811
    buy_credits(account, "100")
    return account


@pytest.fixture
def simulator(db):
    simulator_ensure(config={"latency_ms": 0})
    return ConnectorFleet(process="test").refresh(), routes_load()


def assert_billed_once(account) -> None:
    """Every billed message of `account` is counted in exactly one of its usage records,
    and each record is the sum of its messages' prices."""
    messages = Message.objects.filter(account=account, usage__isnull=False)
    records = {r.pk: r for r in UsageRecord.objects.filter(
        account=account, idempotency_key__startswith="aggregate:")}
    counted = Counter(messages.values_list("usage_id", flat=True))
    assert {pk: r.uses for pk, r in records.items()} == dict(counted)
    priced = Counter()
    for usage_id, price in messages.values_list("usage_id", "price_micros"):
        priced[usage_id] += price
    for pk, record in records.items():
        assert record.amount_micros == priced[pk]
    assert not Message.objects.filter(account=account, usage__isnull=True,
                                      price_micros__gt=0, charge_version=0).exists()
