"""Wire-test fixtures: the SMSC simulator on an ephemeral port in a thread, and SMPP
connectors bound to it (stopped after each test); the client-facing SMPP server in a
thread, and SMPP credentials of the test account."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chappe.accounts.actor import SYSTEM
from chappe.carriers.registry import connector_build
from chappe.carriers.smpp.connector import SmppConnector
from chappe.smpp.simulator import SimConfig, SimulatorThread
from chappe.smpp_server.protocol import ServerThread
from chappe.smpp_server.services import smpp_account_create
from tests.billing.conftest import buy_credits, operator, price_list  # noqa: F401
from tests.processes import wait_for


@pytest.fixture
def smsc() -> Iterator[Callable[..., SimulatorThread]]:
    started: list[SimulatorThread] = []

    def start(**config: Any) -> SimulatorThread:
        sim = SimulatorThread(SimConfig(**config))
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def smpp_start() -> Iterator[Callable[..., SmppConnector]]:
    """Build an SMPP connector from (name, config) as the gateway does, and start it;
    every one started is stopped after the test."""
    started: list[SmppConnector] = []

    def start(name: str, config: dict[str, Any]) -> SmppConnector:
        connector = connector_build(name=name, type="smpp", config=config)
        assert isinstance(connector, SmppConnector)
        connector.start(process="test")
        started.append(connector)
        return connector

    yield start
    for connector in started:
        connector.stop()


@pytest.fixture
def smpp_connector(smpp_start) -> Callable[..., SmppConnector]:
    def make(sim: SimulatorThread, name: str = "smpp-test", **config: Any) -> SmppConnector:
        settings = {"host": "127.0.0.1", "port": sim.port, "system_id": "chappe",
                    "password": "secret", "reconnect_min": 0.1, "reconnect_max": 0.5,
                    "response_timeout": 2.0, "bind_wait": 3.0, **config}
        connector = smpp_start(name, settings)
        wait_for(lambda: not connector.engine.is_down() and connector.engine.transmitters,
                 5, "the connector to bind")
        return connector

    return make


def retry_locked(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """SQLite's shared-cache in-memory test database answers "table is locked" at once
    when another thread (a bind's inbox writer, the server) holds it: try again."""
    from django.db import OperationalError

    for attempt in range(100):
        try:
            return fn(*args, **kwargs)
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.02)
    return None


@pytest.fixture
def server_with() -> Iterator[Callable[..., Any]]:
    """Start the client-facing SMPP server with these options; stopped after the test."""
    started: list[ServerThread] = []

    def start(**options: Any) -> Any:
        thread = ServerThread(**options)
        thread.start()
        started.append(thread)
        return thread.server

    yield start
    for thread in started:
        thread.stop()


@pytest.fixture
def server(server_with):
    return server_with()


@pytest.fixture
def credentials(account, buy_credits):  # noqa: F811 (the fixture imported above)
    buy_credits(account, "100")
    smpp_account_create(actor=SYSTEM.on(account), account=account, system_id="acme",
                        password="pw123", max_msg_per_s=1000)
    return "acme", "pw123"
