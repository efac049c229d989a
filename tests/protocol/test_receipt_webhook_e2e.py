"""End to end on PostgreSQL, every hop real: a message accepted here, sent by a
`chappe gateway` process over SMPP to a `chappe smsc-sim` process, whose delivery
receipt (a deliver_sm) moves it to its final status, which a `chappe worker` process
announces as a signed `message.status` webhook to an HTTP receiver on 127.0.0.1."""

import signal
import subprocess
import sys

import pytest
from django.db import connection

from chappe.accounts.actor import SYSTEM
from chappe.carriers.models import Connector, Route
from chappe.messaging.models import Message
from chappe.messaging.services.accept import sms_send
from chappe.webhooks.services import webhook_settings_for
from tests.processes import REPO, role_env, role_process, wait_for
from tests.webhooks.test_delivery import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DELIVERED, UNDELIVERED = "+33600000001", "+33600000002"


def test_a_real_receipt_reaches_the_clients_webhook(account, buy_credits, tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("role processes need the test database on PostgreSQL")
    buy_credits(account, "10")
    # The receiver listens on loopback, which the operator must allow (refused by default).
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"
    receiver = Receiver(webhook_settings_for(account=account).secret)
    port_file = tmp_path / "port"
    sim = subprocess.Popen(
        [sys.executable, "-m", "chappe.runtime.cli", "smsc-sim", "--port", "0", "--port-file",
         str(port_file), "--latency", "0.01"],
        cwd=REPO, env=role_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    roles = []
    try:
        wait_for(lambda: port_file.exists() and port_file.read_text(), 15, "smsc-sim")
        Route.objects.create(connector=Connector.objects.create(
            name="carrier-a", type="smpp",
            config={"host": "127.0.0.1", "port": int(port_file.read_text()),
                    "system_id": "chappe", "password": "secret",
                    "message_id_format": "hex"}))
        sms_send(actor=SYSTEM.on(account), account=account, recipients=[DELIVERED, UNDELIVERED],
                 text="Bonjour", sender="Chappe", callback_url=receiver.url, reference="e2e-1")
        roles = [role_process(tmp_path, "gateway", "gateway"),
                 role_process(tmp_path, "worker", "worker", "--poll", "0.1",
                              CHAPPE_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8")]

        def finals() -> dict[str, dict]:
            return {body["data"]["recipient"]: body["data"]
                    for body in list(receiver.accepted.values())
                    if body["data"]["status"] in ("delivered", "undelivered")}

        wait_for(lambda: len(finals()) == 2, 60, "both final statuses at the receiver")
    finally:
        for role in roles:
            role.send_signal(signal.SIGTERM)
        for role in roles:
            role.wait(timeout=30)
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
        receiver.close()

    messages = {m.recipient: m for m in Message.objects.all()}
    assert finals()[DELIVERED] | {"at": None} == {
        "message_id": str(messages[DELIVERED].id), "send_id": str(messages[DELIVERED].send_id),
        "recipient": DELIVERED, "status": "delivered", "error_code": "",
        "reference": "e2e-1", "at": None}
    assert finals()[UNDELIVERED]["status"] == "undelivered"
    assert finals()[UNDELIVERED]["error_code"] == messages[UNDELIVERED].error_code != ""
    assert all(request["valid"] for request in receiver.requests)
    # The events came from the receipts the SMSC sent over the bind.
    assert {m.connector for m in messages.values()} == {"carrier-a"}
    assert all(m.carrier_message_id for m in messages.values())
