"""Real `chappe gateway` processes on PostgreSQL: kill -9 mid-dispatch loses and doubles
nothing; two gateways share the work without submitting anything twice."""

import os
import signal
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from chappe.accounts.actor import SYSTEM
from chappe.carriers.models import SimulatorMessage
from chappe.carriers.services import simulator_ensure
from chappe.messaging.lifecycle import FINAL
from chappe.messaging.models import Message, MessageEvent
from chappe.messaging.services.accept import sms_send
from tests.processes import role_process, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("several gateway processes need PostgreSQL (SKIP LOCKED)")


def _numbers(count: int, start: int = 0) -> list[str]:
    return [f"+3361{n:07d}" for n in range(start, start + count)]


def _gateway(tmp_path: Path, name: str) -> subprocess.Popen:
    return role_process(tmp_path, name, "gateway", "--batch", "200")


def _wait(condition, timeout: float, what: str) -> None:
    wait_for(condition, timeout, what, every=0.2)


def _finals() -> int:
    return Message.objects.filter(status__in=list(FINAL)).count()


def _accept(account, count: int) -> None:
    for start in range(0, count, 5000):
        sms_send(actor=SYSTEM.on(account), account=account, text="Bonjour", sender="Chappe",
                 recipients=_numbers(min(5000, count - start), start))


def test_kill_9_mid_dispatch_loses_and_duplicates_nothing(
        postgres_only, account, buy_credits, tmp_path):
    buy_credits(account, "1000")
    simulator_ensure(config={"latency_ms": 0})
    total = 4000
    _accept(account, total)
    gateway = _gateway(tmp_path, "first")
    try:
        _wait(lambda: Message.objects.filter(status__in=["sent", "delivered"]).count() >= 600,
              120, "the first gateway to be mid-way")
        os.kill(gateway.pid, signal.SIGKILL)
        gateway.wait()
        assert _finals() < total, "the gateway finished before it could be killed"
        gateway = _gateway(tmp_path, "second")
        _wait(lambda: _finals() == total, 180, "every message to reach a final status")
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=30)
    assert Message.objects.exclude(status="delivered").count() == 0
    # The simulator accepted each message id exactly once (a resubmission after the crash
    # is recognised by id, never delivered twice) and sent one receipt each.
    assert SimulatorMessage.objects.count() == total
    assert SimulatorMessage.objects.filter(receipt_sent_at__isnull=True).count() == 0
    assert Message.objects.filter(events__status="delivered").count() == total


def test_two_gateways_share_the_work_without_double_submission(
        postgres_only, account, buy_credits, tmp_path):
    buy_credits(account, "1000")
    simulator_ensure(config={"latency_ms": 0})
    total = 4000
    _accept(account, total)
    gateways = [_gateway(tmp_path, "a"), _gateway(tmp_path, "b")]
    try:
        _wait(lambda: _finals() == total, 180, "every message to reach a final status")
    finally:
        for gateway in gateways:
            gateway.send_signal(signal.SIGTERM)
        for gateway in gateways:
            gateway.wait(timeout=30)
    assert SimulatorMessage.objects.count() == total
    assert SimulatorMessage.objects.filter(resubmissions__gt=0).count() == 0
    assert Message.objects.filter(status="delivered").count() == total
    senders = set(MessageEvent.objects.filter(status="sent").values_list("detail", flat=True))
    assert senders == {f"by {g.pid}" for g in gateways}, senders
