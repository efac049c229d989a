"""Aggregate usage records (decision 0036): the uses of one kind accepted together are one
record; each is still rated once, reversed at most once and exactly, within its own
account, and the monthly invoice is the same as with one record per use."""

from datetime import date, datetime

import pytest
from django.db import transaction

from chappe.billing.models import BillingMode, LedgerEntry, UsageRecord
from chappe.billing.periods import zone
from chappe.billing.reconcile import reconcile
from chappe.billing.selectors import ledger_sum
from chappe.billing.services import invoice_run, plan_create, subscription_create
from chappe.billing.services.usage import (
    NewUse,
    UsageItem,
    UseShare,
    usage_charge_many,
    usage_post_new,
    usage_rate_new,
    usage_reverse_many,
)
from tests.billing.conftest import OPERATOR
from tests.concurrency import race, skip_unless_postgres

PARIS = zone("Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def credit(account) -> int:
    return ledger_sum(account=account, book="credit", currency="EUR")


def fresh(account, uses, **kw):
    """Rate and post `uses` as a batch of new causes (what `messages_write` does)."""
    with transaction.atomic():
        rated = usage_rate_new(account=account, items=uses, batch_cause_type="messaging.send",
                               batch_cause_id="s", **kw)
        usage_post_new(rated)
    return rated


def share(usage_id, key):
    return UseShare(usage_id=usage_id, idempotency_key=key, cause_type="messaging.message",
                    cause_id=key)


SMS_FR = NewUse(product="sms", quantity=2, destination_country="FR")


def test_a_share_reversal_gives_back_one_use_exactly_once(account, buy_credits):
    buy_credits(account, "1")
    uses = fresh(account, [SMS_FR] * 3)
    [usage_id] = set(uses.usage_ids)
    assert credit(account) == 1_000_000 - 270_000
    written = usage_reverse_many(account=account, reason="canceled",
                                 shares=[share(usage_id, "m1"), share(usage_id, "m1")])
    assert written == ["m1:reversal"]
    assert credit(account) == 1_000_000 - 180_000
    [reversal] = UsageRecord.objects.filter(reverses_id=usage_id)
    assert (reversal.uses, reversal.quantity, reversal.billed_quantity, reversal.amount_micros,
            reversal.cause_id, reversal.idempotency_key) == (
        1, "2", -2, -90_000, "m1", "m1:reversal")
    assert reversal.ledger_entry.amount_micros == 90_000
    # Again, alone or among others: only what is left is reversed.
    assert usage_reverse_many(account=account, reason="again",
                              shares=[share(usage_id, "m1")]) == []
    assert usage_reverse_many(account=account, reason="again", shares=[
        share(usage_id, "m1"), share(usage_id, "m2")]) == ["m2:reversal"]
    assert credit(account) == 1_000_000 - 90_000
    # A reversal's key is not a use; nor is the aggregate's own key.
    assert usage_reverse_many(account=account, reason="x", shares=[
        share(usage_id, "m2:reversal")], idempotency_keys=[f"aggregate:{usage_id}"]) == []
    assert reconcile() == []


def test_an_aggregate_is_never_reversed_beyond_its_uses(account, buy_credits):
    buy_credits(account, "1")
    [usage_id] = set(fresh(account, [SMS_FR] * 2).usage_ids)
    written = usage_reverse_many(account=account, reason="canceled", shares=[
        share(usage_id, f"m{i}") for i in range(3)])
    assert written == ["m0:reversal", "m1:reversal"]
    assert usage_reverse_many(account=account, reason="canceled",
                              shares=[share(usage_id, "m9")]) == []
    assert credit(account) == 1_000_000
    assert UsageRecord.objects.filter(reverses_id=usage_id).count() == 2
    assert reconcile() == []


def test_another_account_cannot_reverse_an_aggregate(account, other_account, buy_credits):
    buy_credits(account, "1")
    buy_credits(other_account, "1")
    [usage_id] = set(fresh(account, [SMS_FR] * 2).usage_ids)
    assert usage_reverse_many(account=other_account, reason="canceled",
                              shares=[share(usage_id, "m1")]) == []
    assert (credit(account), credit(other_account)) == (1_000_000 - 180_000, 1_000_000)
    assert not UsageRecord.objects.filter(reverses_id=usage_id).exists()
    assert not LedgerEntry.objects.filter(account=other_account, reason="usage_reversal").exists()


def test_a_reversal_spanning_two_batches_credits_each_debit_back(account, buy_credits):
    buy_credits(account, "1")
    first = fresh(account, [SMS_FR, NewUse(product="sms", quantity=1,
                                           destination_country="BE")])
    second = fresh(account, [SMS_FR])
    assert credit(account) == 1_000_000 - 90_000 - 70_000 - 90_000
    written = usage_reverse_many(account=account, reason="canceled", shares=[
        share(first.usage_ids[1], "be"), share(second.usage_ids[0], "fr2")])
    assert sorted(written) == ["be:reversal", "fr2:reversal"]
    assert credit(account) == 1_000_000 - 90_000
    credits = LedgerEntry.objects.filter(account=account, reason="usage_reversal")
    assert sorted(e.amount_micros for e in credits) == [70_000, 90_000]  # one per debit
    assert reconcile() == []


def test_a_postpaid_share_reversal_nets_on_the_invoice(account, price_list):
    plan = plan_create(actor=OPERATOR, code="msg", name="Messaging Pro",
                       service_kind="messaging", price_list=price_list)
    subscription_create(actor=OPERATOR, account=account, plan=plan,
                        started_at=paris(2025, 1, 1))
    uses = fresh(account, [SMS_FR] * 3, occurred_at=paris(2025, 1, 10))
    [record] = UsageRecord.objects.filter(account=account)
    assert (record.billing_mode, record.ledger_entry_id) == (BillingMode.POSTPAID, None)
    usage_reverse_many(account=account, reason="canceled", now=paris(2025, 1, 12),
                       shares=[share(uses.usage_ids[0], "m1")])
    [invoice] = invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 9))
    assert [(line.description, line.quantity, line.amount_micros)
            for line in invoice.lines.all() if line.product == "sms"] == [
        ("SMS (per segment) FR", "4", 180_000)]
    assert reconcile() == []


@pytest.mark.django_db(transaction=True)
def test_parallel_share_reversals_credit_back_once(make_account, buy_credits):
    skip_unless_postgres()
    account = make_account("Cancel")
    buy_credits(account, "1")
    [usage_id] = set(fresh(account, [SMS_FR] * 3).usage_ids)

    def cancel(i):
        # Each thread reverses m1 (the same use) and one use of its own: at most 3 in all.
        return usage_reverse_many(account=account, reason="canceled",
                                  shares=[share(usage_id, "m1"), share(usage_id, f"n{i}")])

    outcomes = race(6, cancel)
    assert not [o for o in outcomes if isinstance(o, Exception)]
    written = [key for keys in outcomes for key in keys]
    assert written.count("m1:reversal") == 1
    assert len(written) == 3
    assert credit(account) == 1_000_000
    assert reconcile() == []


# --- the same usage, one record per use or aggregated: the same invoices and credit ------

# (key, day, product, quantity, country, operator): a month of mixed messaging use.
USES = [
    ("a1", (2025, 1, 10), "sms", 1, "FR", ""),
    ("a2", (2025, 1, 10), "sms", 1, "FR", ""),
    ("a3", (2025, 1, 10), "sms", 1, "FR", ""),
    ("a4", (2025, 1, 10), "sms", 2, "FR", ""),
    ("a5", (2025, 1, 10), "sms", 1, "FR", "20801"),
    ("a6", (2025, 1, 10), "sms", 3, "BE", ""),
    ("a7", (2025, 1, 10), "sms", 1, "US", ""),
    ("a8", (2025, 1, 10), "tts", 1, "FR", ""),
    ("a9", (2025, 1, 10), "unsubscribe_confirmation", 1, "FR", ""),
    ("b1", (2025, 1, 20), "sms", 1, "FR", ""),
    ("b2", (2025, 1, 20), "sms", 1, "FR", ""),
    ("b3", (2025, 1, 20), "sms", 1, "BE", ""),
    ("c1", (2025, 1, 31, 23), "sms", 1, "FR", ""),
    ("c2", (2025, 1, 31, 23), "sms", 1, "FR", ""),
    ("d1", (2025, 2, 5), "sms", 1, "FR", ""),
    ("d2", (2025, 2, 5), "sms", 2, "FR", "20801"),
]
# (key, when): before the invoice, after the month but before its invoice, after it,
# twice, and the last use of an aggregate of one.
REVERSALS = [("a2", (2025, 1, 12)), ("a6", (2025, 1, 12)), ("b3", (2025, 2, 1, 8)),
             ("c1", (2025, 2, 2)), ("a5", (2025, 2, 2)), ("a2", (2025, 2, 3)),
             ("d1", (2025, 2, 6))]


def _per_use(account):
    """Before aggregates: one record per use, keyed by it."""
    for day in sorted({u[1] for u in USES}):
        usage_charge_many(account=account, occurred_at=paris(*day), items=[
            UsageItem(product=product, quantity=quantity, destination_country=country,
                      operator=op, cause_type="messaging.message", cause_id=key,
                      idempotency_key=key)
            for key, when, product, quantity, country, op in USES if when == day],
            batch_cause_type="messaging.send", batch_cause_id=str(day))

    def reverse(key, when):
        usage_reverse_many(account=account, idempotency_keys=[key], reason="canceled",
                           now=paris(*when))
    return reverse


def _aggregated(account):
    """Now: one record per kind of use per batch (a day's), each use knowing its record."""
    records = {}
    for day in sorted({u[1] for u in USES}):
        batch = [u for u in USES if u[1] == day]
        rated = fresh(account, [NewUse(product=product, quantity=quantity,
                                       destination_country=country, operator=op)
                                for _key, _when, product, quantity, country, op in batch],
                      occurred_at=paris(*day))
        records.update(zip([u[0] for u in batch], rated.usage_ids, strict=True))

    def reverse(key, when):
        usage_reverse_many(account=account, shares=[share(records[key], key)],
                           reason="canceled", now=paris(*when))
    return reverse


def _lines(invoice):
    return [(line.description, line.quantity, line.unit_price_micros, line.amount_micros)
            for line in invoice.lines.order_by("position", "pk")]


def test_invoices_are_the_same_with_one_record_per_use_or_aggregates(make_account,
                                                                      price_list):
    plan = plan_create(actor=OPERATOR, code="msg", name="Messaging Pro",
                       service_kind="messaging", price_list=price_list)
    before, after = make_account("Per use"), make_account("Aggregated")
    for account in (before, after):
        subscription_create(actor=OPERATOR, account=account, plan=plan,
                            started_at=paris(2025, 1, 1))
    reversers = {before.pk: _per_use(before), after.pk: _aggregated(after)}
    assert UsageRecord.objects.filter(account=after).count() < len(USES)
    invoices = {}
    for key, when in REVERSALS:
        if when >= (2025, 2, 1, 9) and not invoices:
            invoices["jan"] = invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 9))
        for reverse in reversers.values():
            reverse(key, when)
    invoices["feb"] = invoice_run(month=date(2025, 2, 1), now=paris(2025, 3, 1, 9))
    for month, issued in invoices.items():
        by_account = {invoice.account_id: invoice for invoice in issued}
        old, new = by_account[before.pk], by_account[after.pk]
        assert _lines(new) == _lines(old), month
        assert (new.subtotal_micros, new.vat_micros, new.total_micros) == (
            old.subtotal_micros, old.vat_micros, old.total_micros), month
    # January's FR line at 0.045: a1-a3, a4 (two segments), b1, b2, c1, c2, less a2
    # (reversed in January); c1, reversed after January's invoice, is on February's.
    jan = {invoice.account_id: invoice for invoice in invoices["jan"]}[after.pk]
    assert ("SMS (per segment) FR", "8", 45_000, 360_000) in _lines(jan)
    feb = {invoice.account_id: invoice for invoice in invoices["feb"]}[after.pk]
    assert ("SMS (per segment) FR", "-1", 45_000, -50_000) in _lines(feb)  # d1 - d1 - c1
    # Everything reversed was reversed once, in both.
    assert (UsageRecord.objects.filter(account=before, billed_quantity__lt=0).count()
            == UsageRecord.objects.filter(account=after, billed_quantity__lt=0).count()
            == len({key for key, _when in REVERSALS}))
    assert reconcile() == []


def test_prepaid_credit_is_the_same_with_one_record_per_use_or_aggregates(make_account,
                                                                          buy_credits):
    before, after = make_account("Per use"), make_account("Aggregated")
    reversers = {}
    for account, build in ((before, _per_use), (after, _aggregated)):
        buy_credits(account, "10")
        reversers[account.pk] = build(account)
    charged = 10_000_000 - credit(before)
    assert charged == 10_000_000 - credit(after) == 1_145_000
    for key, when in REVERSALS:
        for reverse in reversers.values():
            reverse(key, when)
    # a2 0.045, a6 3 x 0.07, b3 0.07, c1 0.045, a5 0.05, d1 0.045 given back once each.
    assert credit(before) == credit(after) == 10_000_000 - charged + 465_000
    assert reconcile() == []
