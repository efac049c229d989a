"""The gateway runs one dispatcher per connector: a slow (here: stuck) carrier delays
neither the other connectors nor receipts and replies, and the leases of a batch it holds
longer than the lease are kept alive, so another gateway never takes and resends it."""

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.carriers.base import Outbound, SubmitResult
from chappe.carriers.models import Connector, Route, SimulatorMessage
from chappe.carriers.simulator.connector import SimulatorConnector, simulator_inject_mo
from chappe.messaging.models import Message, Reply, UnattributedReply
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.dispatch import dispatch_claim
from chappe.runtime.gateway import run_gateway
from tests.billing.conftest import buy_credits, operator, price_list  # noqa: F401
from tests.processes import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
STUCK: dict[str, "StuckConnector"] = {}


class StuckConnector(SimulatorConnector):
    """The simulator, whose submits hang until the test lets them go."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.entered, self.release = threading.Event(), threading.Event()
        self.submitted: list[str] = []
        STUCK[self.name] = self

    def submit(self, batch: list[Outbound]) -> list[SubmitResult]:
        self.submitted += [out.message_id for out in batch]
        self.entered.set()
        self.release.wait(120)
        return super().submit(batch)


@pytest.fixture
def postgres_only():
    # Several threads writing at once: SQLite's shared in-memory test database answers
    # "table is locked" where a real file would wait its turn.
    if connection.vendor != "postgresql":
        pytest.skip("threads writing at once need PostgreSQL's test database")


@pytest.fixture
def carriers(settings, buy_credits, account) -> None:  # noqa: F811
    buy_credits(account, "100")
    settings.CHAPPE_CONNECTOR_TYPES = {**settings.CHAPPE_CONNECTOR_TYPES,
                                       "stuck": f"{__name__}.StuckConnector"}
    stuck = Connector.objects.create(name="stuck", type="stuck", config={"latency_ms": 0})
    fast = Connector.objects.create(name="fast", type="simulator", config={"latency_ms": 0})
    Route.objects.create(prefix="3361", connector=stuck)
    Route.objects.create(prefix="3362", connector=fast)


@pytest.fixture
def gateway() -> Iterator[Callable[..., None]]:
    running: list[tuple[threading.Event, threading.Thread]] = []

    def start(**options) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=run_gateway, kwargs={
            "stop": stop, "poll_seconds": 0.05, **options})
        thread.start()
        running.append((stop, thread))

    yield start
    for connector in STUCK.values():
        connector.release.set()
    for stop, thread in running:
        stop.set()
        thread.join(30)
    STUCK.clear()


def _send(account, recipients: list[str]) -> None:
    sms_send(actor=SYSTEM.on(account), account=account, recipients=recipients, text="Hi",
             sender="Chappe")


def _statuses(prefix: str) -> set[str]:
    return set(Message.objects.filter(recipient__startswith=prefix)
               .values_list("status", flat=True))


def test_a_stuck_connector_delays_neither_the_others_nor_receipts_and_replies(
        postgres_only, carriers, account, gateway):
    _send(account, [f"+336100000{n:02d}" for n in range(5)])
    _send(account, [f"+336200000{n:02d}" for n in range(5)])
    gateway()
    wait_for(lambda: "stuck" in STUCK and STUCK["stuck"].entered.is_set(), 30,
             "the stuck connector to hold its batch")
    simulator_inject_mo(connector="fast", from_number="+33620000001", to="Chappe",
                        text="Merci")

    wait_for(lambda: _statuses("+3362") == {"delivered"}, 30,
             "the other connector's messages to be sent and their receipts applied")
    wait_for(lambda: Reply.objects.exists() or UnattributedReply.objects.exists(), 30,
             "the reply to be received")
    assert _statuses("+3361") == {"queued"}

    STUCK["stuck"].release.set()
    wait_for(lambda: _statuses("+3361") == {"delivered"}, 30, "the stuck ones to leave")


def test_a_batch_held_longer_than_the_lease_is_not_resent_by_another_gateway(
        postgres_only, carriers, account, gateway):
    lease = timedelta(seconds=1)
    _send(account, ["+33610000001", "+33610000002"])
    gateway(lease=lease)
    wait_for(lambda: "stuck" in STUCK and STUCK["stuck"].entered.is_set(), 30,
             "the stuck connector to hold its batch")
    claimed_until = timezone.now() + lease
    wait_for(lambda: timezone.now() > claimed_until + lease, 10,
             "the first lease to have run out twice over")

    # Another gateway looks for work: the held batch is still leased (heartbeats).
    assert dispatch_claim(worker="another-gateway", now=timezone.now(), lease=lease) == []
    assert all(until > timezone.now() for until in
               Message.objects.values_list("locked_until", flat=True))

    STUCK["stuck"].release.set()
    wait_for(lambda: _statuses("+3361") == {"delivered"}, 30, "the batch to be delivered")
    assert sorted(STUCK["stuck"].submitted) == sorted(
        str(i) for i in Message.objects.values_list("id", flat=True))
    assert SimulatorMessage.objects.filter(resubmissions__gt=0).count() == 0
