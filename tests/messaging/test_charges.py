"""A message's charge is its share of the usage record of its kind of use in its
acceptance batch (decision 0036): billed once, given back once and exactly when it is
canceled (alone, with its send, by an erasure), re-rated on its own when edited."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.billing.models import UsageRecord
from chappe.billing.reconcile import reconcile
from chappe.billing.selectors import ledger_sum
from chappe.billing.services.usage import UseShare, usage_reverse_many
from chappe.common.errors import Conflict
from chappe.messaging.models import Message, MessageKind, Send
from chappe.messaging.services.accept import Draft, messages_accept
from chappe.messaging.services.edit import message_cancel, message_edit, send_cancel
from chappe.messaging.services.erasure import messages_erase_number
from tests.messaging.conftest import assert_billed_once


def credit(account) -> int:
    return ledger_sum(account=account, book="credit", currency="EUR")


def scheduled_send(account, numbers, text="Hello", kind=MessageKind.TRANSACTIONAL):
    send = Send.objects.create(account=account, sender="Chappe", kind=kind, text=text,
                               send_at=timezone.now() + timedelta(days=1), created_by="test")
    drafts = [Draft(e164=number, country=country, operator="", text=text)
              for number, country in numbers]
    with transaction.atomic():
        answers = messages_accept(account=account, send=send, drafts=drafts)
    assert {a.status for a in answers} == {"scheduled"}
    return send, {a.e164: Message.objects.get(pk=a.message_id) for a in answers}


NUMBERS = [("+33612345601", "FR"), ("+33612345602", "FR"), ("+33612345603", "FR"),
           ("+32470123456", "BE")]


def test_canceling_gives_back_each_message_price_once(funded_account):
    actor = SYSTEM.on(funded_account)
    start = credit(funded_account)
    send, messages = scheduled_send(funded_account, NUMBERS)
    assert start - credit(funded_account) == 3 * 45_000 + 70_000
    assert UsageRecord.objects.filter(account=funded_account).count() == 2  # FR and BE
    assert_billed_once(funded_account)

    first = messages["+33612345601"]
    message_cancel(actor=actor, message=first)
    assert start - credit(funded_account) == 2 * 45_000 + 70_000
    [reversal] = UsageRecord.objects.filter(account=funded_account, billed_quantity__lt=0)
    assert (reversal.reverses_id, reversal.cause_id, reversal.amount_micros) == (
        first.usage_id, str(first.pk), -45_000)
    with pytest.raises(Conflict):
        message_cancel(actor=actor, message=first)
    # The same share asked again directly: refused by its reversal's key.
    assert usage_reverse_many(account=funded_account, reason="again", shares=[UseShare(
        usage_id=first.usage_id, idempotency_key=f"message:{first.pk}",
        cause_type="messaging.message", cause_id=str(first.pk))]) == []

    send_cancel(actor=actor, send=send)
    assert credit(funded_account) == start
    reversals = UsageRecord.objects.filter(account=funded_account, billed_quantity__lt=0)
    assert sorted((r.cause_id, r.reverses_id) for r in reversals) == sorted(
        (str(m.pk), m.usage_id) for m in messages.values())
    assert reconcile() == []


def test_an_edit_reverses_the_share_and_charges_the_message_alone(funded_account):
    actor = SYSTEM.on(funded_account)
    start = credit(funded_account)
    _send, messages = scheduled_send(funded_account, NUMBERS[:2])
    edited = message_edit(actor=actor, message=messages["+33612345601"], text="b" * 200)
    assert (edited.segments, edited.price_micros, edited.charge_version) == (2, 90_000, 1)
    assert start - credit(funded_account) == 45_000 + 90_000
    own = UsageRecord.objects.get(account=funded_account,
                                  idempotency_key=f"message:{edited.pk}:v1")
    assert (own.uses, own.amount_micros) == (1, 90_000)
    assert UsageRecord.objects.get(account=funded_account,
                                   idempotency_key=f"message:{edited.pk}:reversal"
                                   ).reverses_id == edited.usage_id
    # Canceled now, it gives back its own charge, not a second share of the aggregate.
    message_cancel(actor=actor, message=edited)
    assert start - credit(funded_account) == 45_000
    assert UsageRecord.objects.filter(reverses_id=edited.usage_id).count() == 1
    assert UsageRecord.objects.filter(reverses_id=own.pk).count() == 1
    message_cancel(actor=actor, message=messages["+33612345602"])
    assert credit(funded_account) == start
    assert reconcile() == []


def test_an_erasure_cancels_and_credits_back_the_share(funded_account):
    actor = SYSTEM.on(funded_account)
    start = credit(funded_account)
    _send, messages = scheduled_send(funded_account, NUMBERS)
    erased = messages_erase_number(actor=actor, account=funded_account, number="+32470123456")
    assert erased.canceled == 1
    assert start - credit(funded_account) == 3 * 45_000
    [reversal] = UsageRecord.objects.filter(account=funded_account, billed_quantity__lt=0)
    assert reversal.reverses_id == messages["+32470123456"].usage_id
    assert reconcile() == []


def test_messages_accepted_before_aggregates_are_still_reversed_by_their_key(
        funded_account):
    """A message written with a record of its own (no `usage`, before decision 0036)."""
    from chappe.billing.services.usage import usage_charge

    actor = SYSTEM.on(funded_account)
    start = credit(funded_account)
    _send, messages = scheduled_send(funded_account, NUMBERS[:1])
    message = messages["+33612345601"]
    # As an old message was: its own record, keyed by the message, and no `usage`.
    usage_reverse_many(account=funded_account, reason="test", shares=[UseShare(
        usage_id=message.usage_id, idempotency_key="setup", cause_type="t", cause_id="t")])
    usage_charge(account=funded_account, product="sms", quantity=1,
                 destination_country="FR", cause_type="messaging.message",
                 cause_id=str(message.pk), idempotency_key=f"message:{message.pk}")
    Message.objects.filter(pk=message.pk).update(usage=None)
    assert start - credit(funded_account) == 45_000
    message_cancel(actor=actor, message=Message.objects.get(pk=message.pk))
    assert credit(funded_account) == start
    assert UsageRecord.objects.get(idempotency_key=f"message:{message.pk}:reversal"
                                   ).reverses.idempotency_key == f"message:{message.pk}"
    assert reconcile() == []


def test_other_accounts_messages_are_not_touched(funded_account, other_account, buy_credits):
    buy_credits(other_account, "1")
    _send, messages = scheduled_send(funded_account, NUMBERS[:2])
    other_send, others = scheduled_send(other_account, NUMBERS[:2])
    start, other_start = credit(funded_account), credit(other_account)
    send_cancel(actor=SYSTEM.on(other_account), send=other_send)
    assert credit(other_account) == other_start + 2 * 45_000
    assert credit(funded_account) == start
    assert not UsageRecord.objects.filter(account=funded_account,
                                          billed_quantity__lt=0).exists()
    assert {m.usage_id for m in messages.values()}.isdisjoint(
        {m.usage_id for m in others.values()})
    assert_billed_once(funded_account)
    assert_billed_once(other_account)
    assert reconcile() == []
