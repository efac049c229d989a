"""End to end on PostgreSQL: a real `chappe gateway` process with an SmppConnector bound
to a real `chappe smsc-sim` process, which drops the bind once mid-way and throttles a
test number: every message reaches its final status, none is delivered twice."""

import json
import signal
import subprocess
import sys

import pytest
from django.db import connection

from chappe.accounts.actor import SYSTEM
from chappe.carriers.models import Connector, Route
from chappe.messaging.models import Message
from chappe.messaging.services.accept import sms_send
from tests.processes import REPO, role_env, role_process, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LONG = "Votre code de confirmation est valable dix minutes; ne le partagez pas. " * 3


def test_gateway_delivers_through_the_smsc_simulator(account, buy_credits, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("a gateway process needs the test database on PostgreSQL")
    buy_credits(account, "1000")
    port_file = tmp_path / "port"
    sim = subprocess.Popen(
        [sys.executable, "-m", "chappe.runtime.cli", "smsc-sim", "--port", "0", "--port-file",
         str(port_file), "--latency", "0.01", "--drop-after", "250"],
        cwd=REPO, env=role_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    gateway = None
    try:
        wait_for(lambda: port_file.exists() and port_file.read_text(), 15, "smsc-sim")
        connector = Connector.objects.create(
            name="carrier-a", type="smpp",
            config={"host": "127.0.0.1", "port": int(port_file.read_text()),
                    "system_id": "chappe", "password": "secret", "window": 20,
                    "message_id_format": "hex", "reconnect_min": 0.2})
        Route.objects.create(connector=connector)
        actor = SYSTEM.on(account)
        short = [f"+3361{n:07d}" for n in range(600)]
        sms_send(actor=actor, account=account, recipients=short, text="Bonjour", sender="Chappe")
        sms_send(actor=actor, account=account, recipients=[f"+3362{n:07d}" for n in range(100)],
                 text=LONG, sender="Chappe")
        sms_send(actor=actor, account=account, text="Test", sender="Chappe",
                 recipients=["+33600000002", "+33600000004", "+33600000006"])
        total = Message.objects.count()
        gateway = role_process(tmp_path, "gateway", "gateway")
        finals = ["delivered", "undelivered", "rejected"]
        wait_for(lambda: Message.objects.filter(status__in=finals).count() == total, 90,
                 "every message to reach a final status")
    finally:
        if gateway is not None:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(timeout=30)
        sim.send_signal(signal.SIGTERM)
        output, _ = sim.communicate(timeout=30)
    stats = json.loads(output.strip().splitlines()[-1])
    statuses = dict(Message.objects.values_list("recipient", "status"))
    assert statuses.pop("+33600000002") == "undelivered"
    assert statuses.pop("+33600000004") == "rejected"
    assert set(statuses.values()) == {"delivered"}  # including the throttled-once number
    assert Message.objects.get(recipient="+33600000004").error_code == "0x0000000B"
    # The bind was dropped once with a submit accepted but unanswered: it was resent, and
    # recognised; the SMSC accepted each part exactly once.
    assert stats["stats"]["dropped_binds"] == 1
    assert stats["stats"]["duplicates"] >= 1
    assert stats["messages"] == 600 + 100 * 2 + 2
    log = (tmp_path / "gateway.log").read_text()
    assert "bind #0 lost" in log
