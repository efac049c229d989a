"""Connector types by slug, their settings schemas, the services that store connectors
and routes, and the fleet a gateway owns (built, rebuilt on change, stopped)."""

from typing import get_args

import pytest
from django.utils import translation

from chappe.accounts.actor import SYSTEM, Actor
from chappe.audit.models import AuditEntry
from chappe.carriers.base import ConnectionCheck
from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.models import Connector, Route
from chappe.carriers.rbm.connector import RbmConnector
from chappe.carriers.rcs_simulator.connector import RcsSimulatorConnector
from chappe.carriers.registry import config_validate, connector_build, connector_types
from chappe.carriers.services import (
    connector_delete,
    connector_save,
    connector_test,
    route_save,
    simulator_ensure,
)
from chappe.carriers.simulator.connector import SimulatorConnector
from chappe.carriers.smpp.config import SmppConfig
from chappe.carriers.smpp.connector import SmppConnector
from chappe.common.errors import Conflict, PermissionDenied, ValidationFailed
from chappe.smpp import text as T

SMPP = {"host": "smsc.example", "port": 2775, "system_id": "chappe", "password": "secret"}


def _details(type: str, config: object) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as error:
        config_validate(type=type, config=config)
    return error.value.details


def test_the_registered_types_by_slug():
    assert connector_types() == {"simulator": SimulatorConnector, "smpp": SmppConnector,
                                 "rcs_simulator": RcsSimulatorConnector, "rbm": RbmConnector}
    assert _details("acme", {}) == {"type": [
        "Unknown connector type “acme”; known types: rbm, rcs_simulator, simulator, smpp."]}


def test_smpp_settings_are_checked_per_setting():
    assert _details("smpp", {**SMPP, "port": 70000, "system_id": "x" * 16, "window": "ten",
                             "bind_mode": "rx", "colour": "blue"}) == {
        "config.port": ["Must be at most 65535."],
        "config.system_id": ["At most 15 characters."],
        "config.window": ["Enter a whole number."],
        "config.bind_mode": ["Choose one of: 'trx' or 'tx+rx'."],
        "config.colour": ["Unknown setting."],
    }
    assert _details("smpp", {"port": 2775}) == {
        "config.host": ["This setting is required."],
        "config.system_id": ["This setting is required."]}
    assert _details("smpp", {**SMPP, "reconnect_min": 5, "reconnect_max": 1}) == {
        "config": ["reconnect_max must not be below reconnect_min."]}
    assert _details("smpp", ["not", "an", "object"]) == {"config": ["Enter a JSON object."]}
    valid = config_validate(type="smpp", config={**SMPP, "port": "2776", "max_mps": 50})
    assert isinstance(valid, SmppConfig)
    assert (valid.port, valid.window, valid.long_method) == (2776, 10, "udh8")


def test_errors_in_the_operators_language():
    with translation.override("fr"):
        assert _details("smpp", {**SMPP, "port": 70000, "colour": "blue"}) == {
            "config.port": ["Au plus 65535."], "config.colour": ["Paramètre inconnu."]}


def test_the_smpp_schema_offers_what_the_library_does():
    fields = SmppConfig.model_fields
    assert set(get_args(fields["long_method"].annotation)) == set(T.METHODS)


def test_simulator_settings():
    assert _details("simulator", {"latency_ms": -1, "outcomes": {"lost": 1}}) == {
        "config.latency_ms": ["Must be at least 0."],
        "config.outcomes.lost.[key]": [
            "Choose one of: 'delivered', 'undelivered', 'expired', 'rejected', 'silent', "
            "'slow' or 'throttled_once'."]}
    assert _details("simulator", {"outcomes": {"delivered": 0}}) == {
        "config.outcomes": ["Weights are zero or more, and not all zero."]}
    connector = connector_build(name="sim", type="simulator",
                                config={"latency_ms": "0", "outcomes": {"undelivered": 1}})
    assert isinstance(connector, SimulatorConnector)
    assert connector.outcomes == {"undelivered": 1}
    assert connector.test(timeout=1) == ConnectionCheck(
        ok=True, detail="The simulator is always reachable.")


def test_connector_save_validates_stores_and_audits(db):
    with pytest.raises(ValidationFailed) as error:
        connector_save(actor=SYSTEM, name="carrier a", type="smpp", config={"port": 0})
    assert set(error.value.details) == {"name"}
    with pytest.raises(ValidationFailed) as error:
        connector_save(actor=SYSTEM, name="carrier-a", type="smpp", config={**SMPP, "port": 0})
    assert error.value.details == {"config.port": ["Must be at least 1."]}
    with pytest.raises(PermissionDenied):
        connector_save(actor=Actor(account=None), name="carrier-a", type="smpp", config=SMPP)
    assert not Connector.objects.exists()

    connector = connector_save(actor=SYSTEM, name="carrier-a", type="smpp",
                               config={**SMPP, "port": "2776"})
    assert connector.config == {**SMPP, "port": 2776}  # as validated; defaults not frozen in
    entry = AuditEntry.objects.get(action="carriers.connector.create")
    assert entry.details == {"type": "smpp", "enabled": True,
                             "settings": ["host", "password", "port", "system_id"]}
    assert "secret" not in str(entry.details)
    with pytest.raises(Conflict):
        connector_save(actor=SYSTEM, name="carrier-a", type="simulator", config={})
    connector_save(actor=SYSTEM, connector=connector, name="carrier-a", type="simulator",
                   config={}, enabled=False)
    assert Connector.objects.values_list("type", "enabled").get() == ("simulator", False)


def test_routes_are_checked_and_protect_their_connectors(db):
    carrier = connector_save(actor=SYSTEM, name="carrier-a", type="smpp", config=SMPP)
    with pytest.raises(ValidationFailed) as error:
        route_save(actor=SYSTEM, connector=carrier, fallback=carrier, country="fr",
                   prefix="+33")
    assert set(error.value.details) == {"country", "prefix", "fallback"}
    route = route_save(actor=SYSTEM, connector=carrier, country="FR", prefix="336")
    assert str(route) == "FR +336 → carrier-a"
    with pytest.raises(Conflict):
        connector_delete(actor=SYSTEM, connector=carrier)
    route.delete()
    connector_delete(actor=SYSTEM, connector=carrier)
    assert [e.action for e in AuditEntry.objects.order_by("id")] == [
        "carriers.connector.create", "carriers.route.create", "carriers.connector.delete"]


def test_connection_test_of_an_invalid_stored_config(db):
    row = Connector.objects.create(name="broken", type="smpp", config={"port": "x"})
    check = connector_test(connector=row)
    assert not check.ok
    assert "config.port: Enter a whole number." in check.detail
    unknown = Connector.objects.create(name="gone", type="acme", config={})
    assert "Unknown connector type" in connector_test(connector=unknown).detail


class Recorded:
    """A connector type that records its lifecycle (registered by the test)."""

    Config = SimulatorConnector.Config
    label = "recorded"
    down = False
    events: list[tuple[str, str, int]] = []

    def __init__(self, *, name, config):
        self.name, self.latency = name, config.latency_ms

    def start(self, *, process):
        self.events.append(("start", self.name, self.latency))

    def stop(self):
        self.events.append(("stop", self.name, self.latency))


@pytest.fixture
def recorded(settings):
    settings.CHAPPE_CONNECTOR_TYPES = {**settings.CHAPPE_CONNECTOR_TYPES,
                                       "recorded": f"{__name__}.Recorded"}
    Recorded.events = []
    return Recorded.events


def test_the_fleet_rebuilds_what_changed_and_stops_the_rest(db, recorded, caplog):
    a = Connector.objects.create(name="a", type="recorded", config={"latency_ms": 1})
    Connector.objects.create(name="b", type="recorded", config={"latency_ms": 1})
    Connector.objects.create(name="bad", type="recorded", config={"latency_ms": -1})
    with ConnectorFleet(process="gw:1") as fleet:
        first = fleet.refresh()
        assert sorted(first) == ["a", "b"]  # "bad" left out, and said so
        assert "connector bad left out" in caplog.text
        assert sorted(recorded) == [("start", "a", 1), ("start", "b", 1)]
        recorded.clear()
        assert fleet.refresh() == first  # nothing changed: the same instances
        assert recorded == []
        Connector.objects.filter(name="a").update(config={"latency_ms": 2})
        Connector.objects.filter(name="b").update(enabled=False)
        second = fleet.refresh()
        assert sorted(second) == ["a"]
        assert second["a"] is not first["a"]
        assert recorded == [("stop", "b", 1), ("stop", "a", 1), ("start", "a", 2)]
        recorded.clear()
        a.delete()
        assert fleet.refresh() == {}
        assert recorded == [("stop", "a", 2)]
    assert recorded == [("stop", "a", 2)]  # nothing was left to stop


def test_the_fleet_stops_everything_with_the_gateway(db, recorded):
    Connector.objects.create(name="a", type="recorded", config={})
    with ConnectorFleet(process="gw:1") as fleet:
        fleet.refresh()
    assert recorded == [("start", "a", 200), ("stop", "a", 200)]


def test_simulator_ensure_is_a_valid_simulator(db):
    connector = simulator_ensure(config={"latency_ms": 0})
    assert (connector.type, connector.config) == ("simulator", {"latency_ms": 0})
    assert Route.objects.get().connector == connector
    with pytest.raises(ValidationFailed):
        simulator_ensure(name="other", config={"latency": 0})
