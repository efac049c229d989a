"""Replies (MO) through the simulator: stored, linked, pushed; STOP → red list (M-5,
M-10, M-16)."""

from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.billing.models import UsageRecord
from chappe.carriers.base import Inbound
from chappe.carriers.simulator.connector import simulator_inject_mo
from chappe.contacts.models import OptOut
from chappe.messaging.models import Message, Reply, UnattributedReply
from chappe.messaging.services.replies import inbound_receive
from chappe.webhooks.models import WebhookEvent
from chappe.webhooks.services import webhook_settings_for, webhook_settings_update
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


def test_a_reply_matching_nothing_is_kept_for_the_operator(funded_account, simulator):
    mo = Inbound(carrier_id="mo-2", from_number="+33612345678", to="Chappe", text="STOP",
                 received_at=timezone.now())
    assert inbound_receive(connector="simulator", inbound=[mo]) == []
    inbound_receive(connector="simulator", inbound=[mo])  # repeated: kept once
    assert not OptOut.objects.exists()
    kept = UnattributedReply.objects.get()
    assert (kept.from_number, kept.to, kept.text) == ("+33612345678", "Chappe", "STOP")
    assert not Reply.objects.exists()


def test_stop_after_a_transactional_send_opts_out(funded_account, simulator):
    """The README's example: a transactional SMS, then STOP to the short code."""
    send(funded_account, [DELIVERED], text="Your code is 1234")
    run_gateway_once(simulator)
    simulator_inject_mo(connector="simulator", from_number=DELIVERED, to="36034", text="STOP")
    run_gateway_once(simulator)
    assert Reply.objects.get().is_stop
    assert OptOut.objects.filter(account=funded_account, number=DELIVERED).exists()


def _mo(n: int, to: str, text: str = "Hello") -> Inbound:
    return Inbound(carrier_id=f"mo-{n}", from_number=DELIVERED, to=to, text=text,
                   received_at=timezone.now())


def test_a_shared_code_goes_to_the_latest_sender_and_an_owned_number_to_its_owner(
        funded_account, make_account, buy_credits, simulator):
    other = make_account("Globex")
    buy_credits(other, "10")
    owned = "+33756000001"  # a long number funded_account owns
    webhook_settings_update(actor=SYSTEM.on(funded_account), account=funded_account,
                            default_url="https://client.example/hook")

    def owner(number: str):
        return funded_account.pk if number == owned else None

    send(funded_account, [DELIVERED], sender="36111")
    send(other, [DELIVERED], sender="36111")  # the latest from that code to that handset
    send(other, [DELIVERED], sender="36222")
    inbound_receive(connector="t", inbound=[_mo(1, "36111")], number_owner=owner)
    assert Reply.objects.get(carrier_id="mo-1").account == other
    # To the owned number: the owner's alone, though the other account wrote last.
    inbound_receive(connector="t", inbound=[_mo(2, "0756000001", "STOP")],
                    number_owner=owner)
    reply = Reply.objects.get(carrier_id="mo-2")
    assert reply.account == funded_account
    assert reply.message.account == funded_account
    assert OptOut.objects.filter(account=funded_account, number=DELIVERED).exists()
    assert not OptOut.objects.filter(account=other).exists()
    event = WebhookEvent.objects.get(type="message.reply", account=funded_account)
    assert event.payload["text"] == "STOP"
