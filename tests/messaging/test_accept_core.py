"""`messages_accept`, the acceptance core under sms_send, SMPP and campaigns: a text per
draft, each message rated and billed once, rows written without model instances — and
the same rules as `sms_send` (sender per country, red list, one per number, hours)."""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.billing.errors import InsufficientCredit
from chappe.billing.models import EntryReason, LedgerEntry, UsageRecord
from chappe.billing.selectors import ledger_sum
from chappe.contacts.models import OptOut
from chappe.messaging.models import Message, MessageEvent, MessageKind, Send
from chappe.messaging.services.accept import MESSAGE_ROW, Draft, messages_accept

PARIS_NOON_MONDAY = datetime.fromisoformat("2026-12-07T12:00:00+01:00")


def draft(number: str, text: str = "Hello", country: str = "FR", **kw) -> Draft:
    return Draft(e164=number, country=country, operator="Orange", text=text, **kw)


def new_send(account, *, sender="Chappe", kind=MessageKind.TRANSACTIONAL, send_at=None):
    return Send.objects.create(account=account, sender=sender, kind=kind, text="",
                               send_at=send_at, created_by="test")


def accept(account, drafts, **kw):
    send = kw.pop("send", None) or new_send(account)
    with transaction.atomic():
        return messages_accept(account=account, send=send, drafts=drafts, **kw)


def credit(account) -> int:
    return ledger_sum(account=account, book="credit", currency="EUR")


def test_each_draft_keeps_its_own_text_encoding_and_price(funded_account):
    before = credit(funded_account)
    answers = accept(funded_account, [
        draft("+33612345601", "Bonjour Jean", key="c1"),
        draft("+33612345602", "Bonjour Łukasz", key="c2"),  # Ł is not GSM-7: UCS-2
        draft("+32470123456", "x" * 161, country="BE", key="c3"),  # two GSM-7 segments
    ])
    assert [a.key for a in answers] == ["c1", "c2", "c3"]
    assert [(a.status, a.encoding, a.segments) for a in answers] == [
        ("queued", "gsm7", 1), ("queued", "ucs2", 1), ("queued", "gsm7", 2)]
    # FR 0.045 per segment, BE 0.07 per segment (tests/billing/conftest.py prices).
    assert [a.price_micros for a in answers] == [45_000, 45_000, 140_000]
    messages = {m.id: m for m in Message.objects.filter(account=funded_account)}
    for answer in answers:
        message = messages[answer.message_id]
        assert (message.text, message.encoding, message.segments, message.price_micros,
                message.currency) == (MESSAGE_ROW.values(answer.row)["text"], answer.encoding,
                                      answer.segments, answer.price_micros, "EUR")
    assert messages[answers[1].message_id].text == "Bonjour Łukasz"
    assert before - credit(funded_account) == 230_000
    # One usage record per kind of use (the two one-segment FR messages share one), each
    # message naming its own; one ledger entry for the call (decision 0036).
    records = {r.pk: r for r in UsageRecord.objects.filter(account=funded_account)}
    assert sorted((r.destination_country, r.uses, r.billed_quantity, r.amount_micros)
                  for r in records.values()) == [("BE", 1, 2, 140_000), ("FR", 2, 2, 90_000)]
    for answer in answers:
        record = records[messages[answer.message_id].usage_id]
        assert record.amount_micros == answer.price_micros * record.uses
    assert LedgerEntry.objects.filter(account=funded_account, reason=EntryReason.USAGE).count() == 1
    # No history rows at acceptance: the first two statuses come from the row itself.
    assert not MessageEvent.objects.filter(message_id=answers[0].message_id).exists()
    first = messages[answers[0].message_id]
    assert [(e.status, e.at) for e in first.history()] == [
        ("accepted", first.created_at), ("queued", first.created_at)]


def test_rules_apply_per_draft(funded_account):
    OptOut.objects.create(account=funded_account, number="+33612345603", source="manual")
    answers = accept(funded_account, [
        draft("+33612345601"),
        draft("+33612345601", "again"),  # same number in one call: M-6
        draft("+33612345603"),  # red list: a message, not billed
        draft("+33612345604", "y" * 400),  # 3 segments > max 2
    ], max_segments=2)
    assert [a.status for a in answers] == ["queued", "duplicate", "opted_out",
                                           "too_many_segments"]
    assert answers[1].message_id is None
    assert answers[3].message_id is None
    assert answers[2].price_micros == 0
    assert Message.objects.filter(account=funded_account).count() == 2
    assert UsageRecord.objects.filter(account=funded_account).count() == 1


def test_sender_rule_rejects_per_country(funded_account):
    answers = accept(funded_account, [draft("+33612345601")],
                     send=new_send(funded_account, sender="0612345678"))
    assert answers[0].status == "sender_rejected"
    assert answers[0].error_code == "sender_all_digits"
    assert not Message.objects.filter(account=funded_account).exists()


def test_marketing_outside_hours_is_scheduled(funded_account):
    sunday = datetime.fromisoformat("2026-12-06T12:00:00+01:00")
    # The Sunday must lie ahead of "now" whatever today's date is.
    with time_machine.travel(sunday - timedelta(days=3), tick=False):
        send = new_send(funded_account, kind=MessageKind.MARKETING, send_at=sunday)
        answers = accept(funded_account, [draft("+33612345601", "Promo\nSTOP au 36034")],
                         send=send)
    message = Message.objects.get(pk=answers[0].message_id)
    assert answers[0].status == "scheduled"
    assert timezone.localtime(message.due_at).date().isoformat() == "2026-12-07"


def test_not_enough_credit_writes_nothing(account, buy_credits):
    buy_credits(account, "1")  # 22 messages at 0.045, not 23
    with pytest.raises(InsufficientCredit):
        accept(account, [draft(f"+336123456{n:02}") for n in range(23)])
    assert not Message.objects.filter(account=account).exists()
    assert not UsageRecord.objects.filter(account=account).exists()


@pytest.mark.django_db(transaction=True)
def test_must_run_in_the_callers_transaction(funded_account):
    send = new_send(funded_account)
    with pytest.raises(RuntimeError, match="transaction"):
        messages_accept(account=funded_account, send=send, drafts=[draft("+33612345601")])


def test_sms_send_answers_with_the_written_rows(funded_account):
    from chappe.messaging.services.accept import sms_send

    outcome = sms_send(actor=SYSTEM.on(funded_account), account=funded_account,
                       recipients=["0612345601", "+33 6 12 34 56 01", "nope"], text="Hi",
                       sender="Chappe")
    first, duplicate, invalid = outcome.recipients
    assert first.message.pk == Message.objects.get(account=funded_account).pk
    assert (first.message.price_micros, first.message.status) == (45_000, "queued")
    assert duplicate.status == "duplicate"
    assert invalid.status == "invalid"
