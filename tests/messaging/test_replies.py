"""Replies (MO) through the simulator: stored, linked, pushed; STOP → red list (M-5,
M-10, M-16)."""

from django.utils import timezone

from chappe.billing.models import UsageRecord
from chappe.carriers.base import Inbound
from chappe.carriers.simulator.connector import simulator_inject_mo
from chappe.contacts.models import OptOut
from chappe.messaging.models import Message, Reply
from chappe.messaging.services.replies import inbound_receive
from chappe.webhooks.models import WebhookEvent
from chappe.webhooks.services import webhook_settings_for
from tests.messaging.test_pipeline import DELIVERED, run_gateway_once, send


def test_stop_reply_opts_out_confirms_and_next_marketing_send_skips(funded_account, simulator):
    send(funded_account, [DELIVERED], kind="marketing", text="Promo -20 %")
    run_gateway_once(simulator)
    simulator_inject_mo(connector="simulator", from_number=DELIVERED, to="36034", text="Stop")
    run_gateway_once(simulator)

    reply = Reply.objects.get()
    assert reply.is_stop
    assert reply.message.recipient == DELIVERED
    assert OptOut.objects.filter(account=funded_account, number=DELIVERED,
                                 source="stop_reply").exists()
    confirmation = Message.objects.filter(send__kind="transactional").get()
    assert confirmation.recipient == DELIVERED
    assert "unsubscribed" in confirmation.text or "désinscrit" in confirmation.text
    assert UsageRecord.objects.filter(product="unsubscribe_confirmation").count() == 1

    outcome = send(funded_account, [DELIVERED], kind="marketing", text="Promo -30 %")
    assert [r.status for r in outcome.recipients] == ["opted_out"]
    skipped = outcome.recipients[0].message
    assert skipped.status == "opted_out"
    assert not UsageRecord.objects.filter(cause_id=str(skipped.id)).exists()


def test_reply_is_stored_once_and_pushed(funded_account, simulator):
    webhook_settings_for(account=funded_account)
    outcome = send(funded_account, [DELIVERED], allow_reply=True,
                   callback_url="https://client.example/hook")
    run_gateway_once(simulator)
    mo = Inbound(carrier_id="mo-1", from_number="0600000001", to="Chappe", text="Oui merci",
                 received_at=outcome.send.created_at)
    inbound_receive(connector="simulator", inbound=[mo])
    inbound_receive(connector="simulator", inbound=[mo])  # the carrier repeats itself
    reply = Reply.objects.get()
    assert reply.from_number == DELIVERED
    assert not reply.is_stop
    assert reply.message == outcome.recipients[0].message
    assert not OptOut.objects.exists()
    event = WebhookEvent.objects.get(type="message.reply")
    assert event.url == "https://client.example/hook"
    assert event.payload["text"] == "Oui merci"


def test_reply_from_an_unknown_number_is_dropped(funded_account, simulator):
    mo = Inbound(carrier_id="mo-2", from_number="+33612345678", to="Chappe", text="STOP",
                 received_at=timezone.now())
    assert inbound_receive(connector="simulator", inbound=[mo]) == []
    assert not OptOut.objects.exists()
