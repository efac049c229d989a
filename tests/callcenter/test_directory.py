"""The engine's database directory: number → flow routing and trunks, cached a few
seconds, dropped at once when this process changes them
(chappe.callcenter.routing_changes)."""

import asyncio

import pytest

from chappe.accounts.actor import SYSTEM
from chappe.callcenter.directory import DjangoDirectory
from chappe.callcenter.models import CallFlow, NumberRental, Trunk
from chappe.callcenter.services import flow_update
from tests.voice.sipp_tools import NUMBER, db_directory

P = {"text": "Bonjour.", "language": "fr"}
ONE = {"start": "a", "nodes": {"a": {"type": "play", "prompt": P}}}
TWO = {"start": "b", "nodes": {"b": {"type": "hangup", "prompt": P}}}

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def directory():
    made = []

    def make(routing_ttl: float, **kwargs) -> DjangoDirectory:
        made.append(db_directory(routing_ttl=routing_ttl, **kwargs))
        return made[-1]

    yield make
    # Each directory's database thread gives its connection back.
    for each in made:
        asyncio.run(each.close())


def test_a_flow_change_reaches_the_cached_routing_at_once(number_with, directory):
    account = number_with(ONE)
    cache = directory(60)
    first = asyncio.run(cache.resolve(NUMBER.lstrip("+"), ""))
    flow_update(actor=SYSTEM.on(account), account=account,
                flow_id=CallFlow.objects.get(account=account).pk, definition=TWO)
    second = asyncio.run(cache.resolve(NUMBER.lstrip("+"), ""))
    assert first.definition.start == "a"
    assert second.definition.start == "b"


def test_changes_made_elsewhere_are_seen_when_the_cache_expires(number_with, directory):
    number_with(ONE)
    clock = [1000.0]
    cache = directory(30, clock=lambda: clock[0])
    before = asyncio.run(cache.resolve(NUMBER, ""))
    # A queryset update sends no signal: as if another process had made it.
    NumberRental.objects.update(status="released")
    clock[0] += 29.9
    assert asyncio.run(cache.resolve(NUMBER, "")) is before
    clock[0] += 0.2
    assert asyncio.run(cache.resolve(NUMBER, "")) is None


def test_outbound_routes_come_from_the_active_trunks(data_dir, directory):
    Trunk.objects.create(name="fr", host="192.0.2.1", number_prefixes=["+33"])
    Trunk.objects.create(name="fr-mobile", host="192.0.2.2", number_prefixes=["+336"])
    Trunk.objects.create(name="off", host="192.0.2.3", is_active=False)
    cache = directory(60)
    mobile = asyncio.run(cache.routes("+33612345678"))
    Trunk.objects.create(name="any", host="192.0.2.4")  # a signal: the cache is dropped
    fixed = asyncio.run(cache.routes("+33145000000"))
    assert [t.name for t in mobile] == ["fr-mobile", "fr"]
    assert [t.name for t in fixed] == ["fr", "any"]
