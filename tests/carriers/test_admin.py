"""Carriers → Connectors and Routes in the operator back-office: settings checked against
the type's schema with an error per setting, changes through the audited services, and
"Test connection" binding for real to the SMSC simulator."""

import socket

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from chappe.accounts.models import User
from chappe.audit.models import AuditEntry
from chappe.carriers.models import Connector, Route
from chappe.carriers.services import connector_test
from tests.processes import wait_for
from tests.protocol.conftest import smsc  # noqa: F401

STAFF = "ops@operator.example"


@pytest.fixture
def staff(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(STAFF, "correct-horse-battery-9"))
    return client


def _smpp(port: int, **changes) -> dict:
    return {"host": "127.0.0.1", "port": port, "system_id": "chappe", "password": "secret",
            **changes}


def _test_connection(staff: Client, *connectors: Connector) -> list[tuple[str, str]]:
    response = staff.post(reverse("admin:carriers_connector_changelist"), {
        "action": "test_connection", "_selected_action": [c.pk for c in connectors]},
        follow=True)
    assert response.status_code == 200
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def test_every_carriers_screen_opens(staff):
    Connector.objects.create(name="simulator", type="simulator", config={})
    for model in admin.site._registry:
        if model._meta.app_label == "carriers":
            name = f"admin:carriers_{model._meta.model_name}_changelist"
            assert staff.get(reverse(name)).status_code == 200, name
    for name in ("connector", "route"):
        assert staff.get(reverse(f"admin:carriers_{name}_add")).status_code == 200, name
    page = staff.get(reverse("admin:carriers_connector_add")).content.decode()
    assert "<b>smpp</b>: host*, port*, system_id*, password=&#x27;&#x27;" in page


def test_add_shows_an_error_per_setting_then_saves_through_the_service(staff):
    url = reverse("admin:carriers_connector_add")
    response = staff.post(url, {"name": "carrier-a", "type": "smpp", "enabled": "on",
                                "config": '{"host": "smsc.example", "port": 70000}'})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["config"]
    assert errors == ["port: Must be at most 65535.", "system_id: This setting is required."]
    assert "port: Must be at most 65535." in response.content.decode()
    response = staff.post(url, {"name": "carrier-a", "type": "pigeon", "config": "{}"})
    assert "type" in response.context["adminform"].form.errors
    assert not Connector.objects.exists()

    response = staff.post(url, {"name": "carrier-a", "type": "smpp", "enabled": "on",
                                "config": '{"host": "smsc.example", "port": "2775", '
                                          '"system_id": "chappe", "window": 50}'})
    assert response.status_code == 302
    connector = Connector.objects.get()
    assert connector.config == {"host": "smsc.example", "port": 2775, "system_id": "chappe",
                                "window": 50}
    entry = AuditEntry.objects.get(action="carriers.connector.create")
    assert (entry.actor_label, entry.is_operator, entry.target_id) == (
        STAFF, True, str(connector.pk))

    response = staff.post(reverse("admin:carriers_connector_change", args=[connector.pk]), {
        "name": "carrier-a", "type": "smpp", "config": '{"host": "smsc.example", '
        '"port": 2775, "system_id": "chappe", "window": 0}'})
    assert response.context["adminform"].form.errors["config"] == ["window: Must be at least 1."]
    response = staff.post(reverse("admin:carriers_connector_change", args=[connector.pk]), {
        "name": "carrier-a", "type": "simulator", "config": '{"latency_ms": 0}'})
    assert response.status_code == 302
    assert Connector.objects.values_list("type", "config", "enabled").get() == (
        "simulator", {"latency_ms": 0}, False)
    assert AuditEntry.objects.filter(action="carriers.connector.update").count() == 1


def test_routes_through_the_service(staff):
    carrier = Connector.objects.create(name="carrier-a", type="simulator", config={})
    url = reverse("admin:carriers_route_add")
    response = staff.post(url, {"priority": 10, "country": "fr", "prefix": "+33",
                                "connector": carrier.pk, "fallback": carrier.pk})
    form = response.context["adminform"].form
    assert set(form.errors) == {"country", "prefix", "fallback"}
    response = staff.post(url, {"priority": 10, "country": "FR", "prefix": "336",
                                "connector": carrier.pk, "fallback": ""})
    assert response.status_code == 302
    route = Route.objects.get()
    assert (route.country, route.prefix, route.priority) == ("FR", "336", 10)
    staff.post(reverse("admin:carriers_route_delete", args=[route.pk]), {"post": "yes"})
    staff.post(reverse("admin:carriers_connector_delete", args=[carrier.pk]), {"post": "yes"})
    assert not Connector.objects.exists()
    assert [e.action for e in AuditEntry.objects.exclude(action="user.login").order_by("id")] == [
        "carriers.route.create", "carriers.route.delete", "carriers.connector.delete"]


@pytest.mark.django_db(transaction=True)
def test_test_connection_binds_for_real(staff, smsc):  # noqa: F811
    sim = smsc()
    good = Connector.objects.create(name="carrier-good", type="smpp", config=_smpp(sim.port))
    wrong = Connector.objects.create(name="carrier-wrong", type="smpp",
                                     config=_smpp(sim.port, password="nope"))
    both = Connector.objects.create(name="carrier-txrx", type="smpp",
                                    config=_smpp(sim.port, bind_mode="tx+rx"))
    simulator = Connector.objects.create(name="simulator", type="simulator", config={})
    found = dict((m.split(":", 1)[0], (level, m.split(": ", 1)[1]))
                 for level, m in _test_connection(staff, good, wrong, both, simulator))
    level, detail = found["carrier-good"]
    assert level == "success"
    assert detail.startswith(f"Bound to 127.0.0.1:{sim.port} as chappe (trx) and unbound in")
    assert found["carrier-txrx"][1].startswith(f"Bound to 127.0.0.1:{sim.port} as chappe (tx)")
    assert found["carrier-wrong"] == ("error", "Bind refused by the SMSC: ESME_RINVPASWD.")
    assert found["simulator"] == ("success", "The simulator is always reachable.")
    # Two binds accepted, each closed again: nothing is left bound to the SMSC.
    assert sim.sim.stats["binds"] == 2
    wait_for(lambda: sim.call(lambda: not sim.sim.sessions), 5, "the test binds to close")


@pytest.mark.django_db(transaction=True)
def test_test_connection_reports_refusals_and_silence():
    with socket.socket() as nowhere:
        nowhere.bind(("127.0.0.1", 0))
        closed_port = nowhere.getsockname()[1]
    refused = Connector(name="carrier-down", type="smpp", config=_smpp(closed_port))
    check = connector_test(connector=refused, timeout=2)
    assert not check.ok
    assert check.detail.startswith(f"Could not connect to 127.0.0.1:{closed_port}:")
    with socket.socket() as silent:  # accepts the connection, never answers the bind
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        mute = Connector(name="carrier-mute", type="smpp", config=_smpp(port))
        check = connector_test(connector=mute, timeout=0.5)
    assert not check.ok
    assert check.detail == f"No answer from 127.0.0.1:{port} within 0.5 s."
