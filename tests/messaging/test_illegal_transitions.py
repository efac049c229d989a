"""A status change the lifecycle forbids is logged and counted on /metrics, and the
figure is shared by every process (it is kept in the database)."""

import logging

from django.test import Client
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.carriers.base import Receipt
from chappe.messaging.lifecycle import MessageStatus as S
from chappe.messaging.models import Message
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.dispatch import dispatch_batch, receipts_apply
from chappe.messaging.services.status import messages_transition

SILENT = "+33600000003"  # the simulator never sends its receipt


def _metric(body: str, current: str, new: str) -> float:
    prefix = (f'chappe_message_illegal_transitions_total{{from_status="{current}",'
              f'to_status="{new}"}} ')
    lines = [line for line in body.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


def test_late_receipt_is_logged_and_counted(funded_account, simulator, caplog):
    connectors, routes = simulator
    sms_send(actor=SYSTEM.on(funded_account), account=funded_account, recipients=[SILENT],
             text="Hello", sender="Chappe")
    dispatch_batch(worker="test", connectors=connectors, routes=routes)
    message = Message.objects.get()
    messages_transition([message.id], S.EXPIRED, at=timezone.now())
    late = Receipt(message.carrier_message_id, "delivered")

    with caplog.at_level(logging.WARNING, logger="chappe.messaging"):
        receipts_apply(connector="simulator", receipts=[late])
        receipts_apply(connector="simulator", receipts=[late])

    message.refresh_from_db()
    assert message.status == "expired"
    assert f"message {message.id}" in caplog.text
    body = Client().get("/metrics").content.decode()
    assert _metric(body, "expired", "delivered") == 2


def test_a_callers_narrowing_is_not_counted(funded_account, simulator):
    connectors, routes = simulator
    sms_send(actor=SYSTEM.on(funded_account), account=funded_account, recipients=[SILENT],
             text="Hello", sender="Chappe")
    dispatch_batch(worker="test", connectors=connectors, routes=routes)
    message = Message.objects.get()
    # "Cancel what has not left yet": the sent message is simply not among them.
    assert messages_transition([message.id], S.CANCELED, at=timezone.now(),
                               allowed_from=(S.ACCEPTED, S.SCHEDULED)) == []
    assert _metric(Client().get("/metrics").content.decode(), "sent", "canceled") == 0
