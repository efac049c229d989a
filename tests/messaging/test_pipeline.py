"""Acceptance → dispatch → receipt on the built-in simulator, through the services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.billing.models import UsageRecord
from chappe.carriers.models import SimulatorMessage
from chappe.messaging.models import Message
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.dispatch import dispatch_batch, messages_expire
from chappe.runtime.gateway import gateway_poll

DELIVERED, UNDELIVERED, SILENT, REJECTED = (
    "+33600000001", "+33600000002", "+33600000003", "+33600000004")


def send(account, recipients, **kwargs):
    kwargs.setdefault("text", "Hello")
    kwargs.setdefault("sender", "Chappe")
    return sms_send(actor=SYSTEM.on(account), account=account, recipients=recipients, **kwargs)


def run_gateway_once(simulator):
    connectors, routes = simulator
    dispatch_batch(worker="test", connectors=connectors, routes=routes)
    gateway_poll(connectors)


def test_message_reaches_each_final_status(funded_account, simulator):
    outcome = send(funded_account, [DELIVERED, UNDELIVERED, SILENT, REJECTED])
    run_gateway_once(simulator)
    statuses = dict(Message.objects.values_list("recipient", "status"))
    assert statuses == {DELIVERED: "delivered", UNDELIVERED: "undelivered", SILENT: "sent",
                        REJECTED: "rejected"}
    undelivered = Message.objects.get(recipient=UNDELIVERED)
    assert undelivered.error_code == "001"
    history = [event.status for event in undelivered.history()]
    assert history == ["accepted", "queued", "sent", "undelivered"]
    # Every accepted message is billed once, whatever its final status (M-8).
    [usage] = UsageRecord.objects.filter(account=funded_account)  # one kind of use
    assert usage.uses == 4
    assert set(Message.objects.values_list("usage_id", flat=True)) == {usage.pk}
    assert len(outcome.recipients) == 4


def test_silent_number_expires_after_validity(funded_account, simulator):
    send(funded_account, [SILENT])
    run_gateway_once(simulator)
    assert messages_expire(now=timezone.now() + timedelta(hours=23)) == 0
    assert messages_expire(now=timezone.now() + timedelta(hours=24, seconds=1)) == 1
    assert Message.objects.get().status == "expired"


def test_scheduled_message_waits_for_its_time(funded_account, simulator):
    send(funded_account, [DELIVERED], send_at=timezone.now() + timedelta(hours=1))
    run_gateway_once(simulator)
    message = Message.objects.get()
    assert message.status == "scheduled"
    assert not SimulatorMessage.objects.exists()


def test_resubmission_after_a_crash_reaches_the_simulator_once(funded_account, simulator):
    connectors, _routes = simulator
    send(funded_account, [DELIVERED])
    message = Message.objects.get()
    # A gateway submitted it, then died before recording the submission.
    connectors["simulator"].submit([_outbound(message)])
    assert SimulatorMessage.objects.count() == 1
    Message.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    run_gateway_once(simulator)
    assert SimulatorMessage.objects.count() == 1
    assert Message.objects.get().status == "delivered"


def _outbound(message):
    from chappe.carriers.base import Outbound

    return Outbound(message_id=str(message.id), recipient=message.recipient,
                    sender=message.sender, text=message.text, encoding=message.encoding,
                    segments=message.segments)


@pytest.mark.parametrize("recipients", [[DELIVERED, "06 00 00 00 01"]])
def test_duplicates_and_invalid_numbers_are_reported_per_recipient(funded_account, recipients):
    outcome = send(funded_account, [*recipients, "not a number"])
    statuses = [r.status for r in outcome.recipients]
    assert statuses == ["queued", "duplicate", "invalid"]
    assert Message.objects.count() == 1
