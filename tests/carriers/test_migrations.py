"""The SMPP connector's tables moved from the `smpp` app to `carriers`, and
`Connector.type` went from class paths to slugs, by migration: on a database holding rows
in them, every row survives migrating forward, back and forward again (the test database
itself is the fresh-database case, on SQLite and PostgreSQL)."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("carriers", "0001_initial"), ("smpp", "0001_initial")]
PATHS = {"carrier-a": "chappe.carriers.smpp.connector.SmppConnector",
         "simulator": "chappe.carriers.simulator.connector.SimulatorConnector"}
AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _migrate(targets=None):
    """Migrate to `targets` (default: the latest of every app); the models as they are."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


def _fill(apps) -> None:
    apps.get_model("smpp", "SmppInbox").objects.create(
        connector="carrier-a", kind="mo", carrier_id="mo-1", at=AT, from_number="+33612345678",
        to="Chappe", data_coding=8, body="Été".encode("utf-16-be"))
    apps.get_model("smpp", "SmppPart").objects.create(connector="carrier-a", head="1a#2",
                                                      smsc_id="1b", seq=2, total=2)
    apps.get_model("smpp", "SmppBindState").objects.create(
        connector="carrier-a", process="gw:1", slot=0, mode="trx", state="bound",
        submitted=7, updated_at=AT)
    for name, path in PATHS.items():
        connector = apps.get_model("carriers", "Connector").objects.create(name=name, type=path)
        apps.get_model("carriers", "Route").objects.create(connector=connector)


def _rows(apps, app: str) -> tuple:
    inbox = apps.get_model(app, "SmppInbox").objects.get()
    part = apps.get_model(app, "SmppPart").objects.get()
    state = apps.get_model(app, "SmppBindState").objects.get()
    return ((inbox.carrier_id, bytes(inbox.body).decode("utf-16-be"), inbox.at),
            (part.head, part.smsc_id, part.seq), (state.process, state.submitted))


def test_rows_survive_the_move_both_ways():
    old = _migrate(BEFORE)
    _fill(old)
    before = _rows(old, "smpp")
    assert before == (("mo-1", "Été", AT), ("1a#2", "1b", 2), ("gw:1", 7))

    new = _migrate()
    assert _rows(new, "carriers") == before
    tables = set(connection.introspection.table_names())
    assert {"carriers_smppinbox", "carriers_smpppart", "carriers_smppbindstate"} <= tables
    assert not {"smpp_smppinbox", "smpp_smpppart", "smpp_smppbindstate"} & tables
    assert dict(new.get_model("carriers", "Connector").objects.values_list("name", "type")) \
        == {"carrier-a": "smpp", "simulator": "simulator"}

    back = _migrate(BEFORE)
    assert _rows(back, "smpp") == before
    assert dict(back.get_model("carriers", "Connector").objects.values_list("name", "type")) \
        == PATHS

    assert _rows(_migrate(), "carriers") == before


def test_an_unregistered_connector_type_stops_the_migration():
    old = _migrate(BEFORE)
    old.get_model("carriers", "Connector").objects.create(name="acme", type="acme.Connector")
    with pytest.raises(RuntimeError, match=r"acme \(acme\.Connector\)"):
        _migrate()
    old.get_model("carriers", "Connector").objects.filter(name="acme").delete()
    new = _migrate()
    assert not new.get_model("carriers", "Connector").objects.exists()
