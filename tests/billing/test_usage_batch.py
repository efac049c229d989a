"""usage_charge_many (one send to many recipients) and usage_reverse (a use canceled
before it happened): all or nothing, replays, one entry per batch, credit given back to
the same lots exactly once, postpaid reversals netted on the monthly invoice."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from chappe.billing.errors import InsufficientCredit
from chappe.billing.models import (
    BillingMode,
    CreditLot,
    EntryReason,
    InvoiceKind,
    InvoiceStatus,
    LedgerEntry,
    LotMovement,
    UsageRecord,
)
from chappe.billing.periods import zone
from chappe.billing.reconcile import reconcile
from chappe.billing.selectors import ledger_sum
from chappe.billing.services import (
    invoice_run,
    plan_create,
    price_list_create,
    price_list_version_create,
    subscription_create,
    usage_charge,
)
from chappe.billing.services.usage import UsageItem, usage_charge_many, usage_reverse
from chappe.common.errors import ValidationFailed
from tests.billing.conftest import EPOCH, OPERATOR

PARIS = zone("Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def item(key, segments=1, country="FR", product="sms"):
    return UsageItem(product=product, quantity=segments, destination_country=country,
                     cause_type="messaging.message", cause_id=key, idempotency_key=key)


def batch(account, keys, segments=1, **kw):
    return usage_charge_many(account=account, items=[item(k, segments) for k in keys],
                             batch_cause_type="messaging.send", batch_cause_id="send-1", **kw)


def credit(account) -> int:
    return ledger_sum(account=account, book="credit", currency="EUR")


def usage_entries(account):
    return LedgerEntry.objects.filter(account=account, reason=EntryReason.USAGE)


# --- usage_charge_many ----------------------------------------------------------------


def test_one_ledger_entry_for_a_batch_of_n_records(account, buy_credits):
    buy_credits(account, "1")
    charges = batch(account, ["a", "b", "c"], segments=2)
    assert [c.replayed for c in charges] == [False] * 3
    assert [c.amount_micros for c in charges] == [90_000] * 3
    [entry] = usage_entries(account)
    assert entry.amount_micros == -270_000
    assert (entry.cause_type, entry.cause_id, entry.memo) == ("messaging.send", "send-1",
                                                            "3 uses")
    assert sorted(entry.usage_records.values_list("idempotency_key", flat=True)) == [
        "a", "b", "c"]
    assert {c.record.ledger_entry_id for c in charges} == {entry.pk}
    assert credit(account) == 1_000_000 - 270_000
    assert reconcile() == []


def test_a_batch_is_all_or_nothing(account, buy_credits):
    buy_credits(account, "1")
    with pytest.raises(InsufficientCredit) as caught:
        batch(account, [f"m{i}" for i in range(23)])  # 23 x 0.045 = 1.035 > 1
    assert caught.value.details["required"] == "1.035000"
    assert not UsageRecord.objects.filter(account=account).exists()
    assert not usage_entries(account).exists()
    assert credit(account) == 1_000_000
    assert len(batch(account, [f"m{i}" for i in range(22)])) == 22  # 0.99 fits
    assert reconcile() == []


def test_a_refused_batch_leaves_earlier_charges_alone(account, buy_credits):
    buy_credits(account, "1")
    usage_charge(account=account, product="sms", quantity=1, destination_country="FR",
                 cause_type="t", cause_id="first", idempotency_key="first")
    with pytest.raises(InsufficientCredit):
        batch(account, ["first", *[f"m{i}" for i in range(22)]])  # 22 new: 0.99 > 0.955
    assert list(UsageRecord.objects.values_list("idempotency_key", flat=True)) == ["first"]
    assert credit(account) == 955_000


def test_keys_already_charged_are_replayed_within_a_batch(account, buy_credits):
    buy_credits(account, "1")
    [first] = batch(account, ["a"])
    charges = batch(account, ["a", "b", "c"])
    assert [c.replayed for c in charges] == [True, False, False]
    assert charges[0].record.pk == first.record.pk
    # Only the new ones are debited, in one entry.
    assert [e.amount_micros for e in usage_entries(account).order_by("id")] == [-45_000,
                                                                              -90_000]
    assert credit(account) == 1_000_000 - 135_000
    again = batch(account, ["c", "b", "a"])
    assert all(c.replayed for c in again)
    assert [c.record.idempotency_key for c in again] == ["c", "b", "a"]
    assert usage_entries(account).count() == 2
    assert reconcile() == []


def test_a_replay_with_no_credit_left_is_still_a_replay(account, buy_credits):
    buy_credits(account, "1")
    batch(account, [f"m{i}" for i in range(22)])
    assert all(c.replayed for c in batch(account, [f"m{i}" for i in range(22)]))


def test_a_key_repeated_within_a_batch_is_refused(account, buy_credits):
    buy_credits(account, "1")
    with pytest.raises(ValidationFailed):
        batch(account, ["a", "a"])


def test_free_items_in_a_batch_have_no_entry(account, price_list, buy_credits):
    buy_credits(account, "1")
    charges = usage_charge_many(account=account, items=[
        item("paid"), UsageItem(product="sms", quantity=0, destination_country="FR",
                                cause_type="t", cause_id="zero", idempotency_key="zero")])
    assert charges[0].record.ledger_entry_id is not None
    assert charges[1].record.ledger_entry_id is None
    assert charges[1].amount_micros == 0


def test_a_batch_for_a_subscriber_is_postpaid_and_writes_no_entry(account, price_list):
    plan = plan_create(actor=OPERATOR, code="pro", name="Pro", service_kind="messaging",
                       price_list=price_list)
    subscription_create(actor=OPERATOR, account=account, plan=plan,
                        started_at=timezone.now() - timedelta(days=1))
    charges = batch(account, ["a", "b"])
    assert {c.record.billing_mode for c in charges} == {BillingMode.POSTPAID}
    assert not LedgerEntry.objects.filter(account=account).exists()


# --- usage_reverse: prepaid -------------------------------------------------------------


def test_reversal_gives_the_credit_back_exactly_once(account, buy_credits):
    lot = buy_credits(account, "1")
    batch(account, ["a", "b", "c"], segments=2)
    record = usage_reverse(account=account, idempotency_key="b", reason="message canceled")
    assert record.amount_micros == -90_000
    assert record.billed_quantity == -2
    assert record.idempotency_key == "b:reversal"
    entry = record.ledger_entry
    assert (entry.reason, entry.amount_micros, entry.memo) == (
        EntryReason.USAGE_REVERSAL, 90_000, "message canceled")
    assert credit(account) == 1_000_000 - 180_000
    lot.refresh_from_db()
    assert lot.remaining_micros == 1_000_000 - 180_000
    assert usage_reverse(account=account, idempotency_key="b", reason="again") is None
    assert usage_reverse(account=account, idempotency_key="never", reason="?") is None
    assert credit(account) == 1_000_000 - 180_000
    assert reconcile() == []


def test_a_reversal_is_never_reversed(account, buy_credits):
    buy_credits(account, "1")
    batch(account, ["a"])
    usage_reverse(account=account, idempotency_key="a", reason="canceled")
    assert usage_reverse(account=account, idempotency_key="a:reversal", reason="?") is None
    assert credit(account) == 1_000_000
    assert UsageRecord.objects.filter(account=account).count() == 2
    assert reconcile() == []


def test_reversal_goes_back_to_the_same_lots_latest_expiry_first(account, buy_credits,
                                                                 make_account):
    now = timezone.now()
    old = buy_credits(account, "1", when=now - timedelta(days=300))
    new = buy_credits(account, "1", when=now - timedelta(days=10))
    other = buy_credits(make_account("Other"), "5")
    batch(account, ["a", "b", "c"], segments=10)  # 3 x 0.45 = 1.35: 1.00 old + 0.35 new
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.remaining_micros, new.remaining_micros) == (0, 650_000)
    usage_reverse(account=account, idempotency_key="a", reason="canceled")
    old.refresh_from_db()
    new.refresh_from_db()
    # 0.45 back: the newer lot's 0.35 first, then 0.10 to the older one.
    assert (old.remaining_micros, new.remaining_micros) == (100_000, 1_000_000)
    movements = LotMovement.objects.filter(entry__reason=EntryReason.USAGE_REVERSAL)
    assert sorted((m.lot_id, m.amount_micros) for m in movements) == sorted(
        [(new.pk, 350_000), (old.pk, 100_000)])
    # Later, after the older lot expired: what came from it is lost (P-5).
    later = old.expires_at + timedelta(hours=1)
    record = usage_reverse(account=account, idempotency_key="b", reason="canceled", now=later)
    assert record.amount_micros == -450_000  # the use is undone…
    assert record.ledger_entry is None  # …but its credit came from the expired lot: lost
    assert credit(account) == 1_100_000
    other.refresh_from_db()
    assert other.remaining_micros == 5_000_000  # never another account's lot
    assert reconcile() == []


def test_reversal_splits_between_a_live_and_an_expired_lot(account, buy_credits):
    now = timezone.now()
    old = buy_credits(account, "1", when=now - timedelta(days=300))
    new = buy_credits(account, "1", when=now - timedelta(days=10))
    usage_charge(account=account, product="sms", quantity=30, destination_country="FR",
                 cause_type="t", cause_id="x", idempotency_key="x")  # 1.35
    record = usage_reverse(account=account, idempotency_key="x", reason="canceled",
                           now=old.expires_at)
    assert record.ledger_entry.amount_micros == 350_000  # the live lot's part only
    new.refresh_from_db()
    assert new.remaining_micros == 1_000_000
    assert reconcile() == []


def test_transferred_credit_is_not_taken_back_from_the_sub_account(account, buy_credits,
                                                                    make_account,
                                                                    admin_actor):
    from chappe.billing.services import credit_transfer

    sub = make_account("Sub", parent=account)
    lot = buy_credits(account, "1")
    batch(account, ["a"], segments=10)
    credit_transfer(actor=admin_actor, from_account=account, to_account=sub, amount="0.55")
    usage_reverse(account=account, idempotency_key="a", reason="canceled")
    lot.refresh_from_db()
    assert lot.remaining_micros == 450_000
    assert credit(account) == 450_000
    assert credit(sub) == 550_000
    assert reconcile() == []


def test_charge_reverse_and_recharge_an_edited_message(account, buy_credits):
    buy_credits(account, "1")
    usage_charge(account=account, product="sms", quantity=1, destination_country="FR",
                 cause_type="messaging.message", cause_id="m", idempotency_key="message:m")
    usage_reverse(account=account, idempotency_key="message:m", reason="message edited")
    usage_charge(account=account, product="sms", quantity=3, destination_country="FR",
                 cause_type="messaging.message", cause_id="m", idempotency_key="message:m:v1")
    assert credit(account) == 1_000_000 - 135_000
    assert reconcile() == []


# --- usage_reverse: postpaid ------------------------------------------------------------


@pytest.fixture
def subscriber(account, price_list):
    plan = plan_create(actor=OPERATOR, code="msg", name="Messaging Pro",
                       service_kind="messaging", price_list=price_list)
    subscription_create(actor=OPERATOR, account=account, plan=plan,
                        started_at=paris(2025, 1, 1))
    return account


def sms_lines(invoice):
    return [(line.description, line.quantity, line.amount_micros)
            for line in invoice.lines.all() if line.product == "sms"]


def test_a_postpaid_reversal_nets_out_of_the_monthly_invoice(subscriber):
    batch(subscriber, ["a", "b", "c"], segments=2, occurred_at=paris(2025, 1, 10))
    reversal = usage_reverse(account=subscriber, idempotency_key="b", reason="canceled",
                             now=paris(2025, 1, 12))
    assert reversal.billing_mode == BillingMode.POSTPAID
    assert reversal.ledger_entry is None
    assert not LedgerEntry.objects.filter(account=subscriber, book="credit").exists()
    [invoice] = invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 9))
    assert sms_lines(invoice) == [("SMS (per segment) FR", "4", 180_000)]
    assert reconcile() == []


def test_a_reversal_after_the_month_but_before_its_invoice_nets_on_that_invoice(subscriber):
    batch(subscriber, ["a", "b"], occurred_at=paris(2025, 1, 31, 23))
    usage_reverse(account=subscriber, idempotency_key="a", reason="canceled",
                  now=paris(2025, 2, 1, 8))
    [january] = invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 9))
    assert sms_lines(january) == [("SMS (per segment) FR", "1", 50_000)]  # 0.045 → 0.05
    [february] = invoice_run(month=date(2025, 2, 1), now=paris(2025, 3, 1, 9))
    assert sms_lines(february) == []  # nothing billed twice, nothing left over


def test_a_fully_reversed_use_leaves_no_line(subscriber):
    batch(subscriber, ["a"], occurred_at=paris(2025, 1, 10))
    usage_reverse(account=subscriber, idempotency_key="a", reason="canceled",
                  now=paris(2025, 1, 11))
    [invoice] = invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 9))
    assert sms_lines(invoice) == []


def test_a_reversal_after_the_invoice_is_credited_on_the_next_one(subscriber):
    batch(subscriber, ["a", "b"], occurred_at=paris(2025, 1, 10))
    invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 9))
    usage_reverse(account=subscriber, idempotency_key="a", reason="canceled",
                  now=paris(2025, 2, 2))
    [february] = invoice_run(month=date(2025, 2, 1), now=paris(2025, 3, 1, 9))
    # Lines round to cents half away from zero: -0.045 is -0.05, as +0.045 would be 0.05.
    assert sms_lines(february) == [("SMS (per segment) FR", "-1", -50_000)]
    assert reconcile() == []


def test_an_invoice_with_nothing_to_pay_is_born_paid(account):
    # A plan without a fixed fee: a month whose only line is a reversal owes nothing.
    free = price_list_create(actor=OPERATOR, code="nofee", name="No fee")
    price_list_version_create(actor=OPERATOR, price_list=free, effective_from=EPOCH,
                              prices=[{"product": "sms", "country": "FR", "unit_price": "0.05"}])
    plan = plan_create(actor=OPERATOR, code="nofee", name="No fee", service_kind="messaging",
                       price_list=free)
    subscription_create(actor=OPERATOR, account=account, plan=plan,
                        started_at=paris(2025, 1, 1))
    batch(account, ["a"], occurred_at=paris(2025, 1, 10))
    [january] = invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 9))
    assert january.total_micros == 60_000  # 0.05 + VAT
    usage_reverse(account=account, idempotency_key="a", reason="canceled",
                  now=paris(2025, 2, 2))
    [february] = invoice_run(month=date(2025, 2, 1), now=paris(2025, 3, 1, 9))
    assert february.total_micros == -60_000
    assert february.status == InvoiceStatus.PAID  # nothing to collect, never dunned
    assert february.outstanding_micros == -60_000
    from chappe.billing.services import dunning_run

    assert dunning_run(now=paris(2026, 1, 1)) == 0
    assert not account.invoices.filter(kind=InvoiceKind.PENALTY).exists()
    assert reconcile() == []


def test_reversal_records_are_append_only(account, buy_credits):
    buy_credits(account, "1")
    batch(account, ["a"])
    record = usage_reverse(account=account, idempotency_key="a", reason="canceled")
    with pytest.raises(ValueError, match="append-only"):
        record.delete()
    assert CreditLot.objects.get(account=account).remaining_micros == 1_000_000


def test_fresh_batch_rates_once_per_kind_and_records_one_aggregate_per_kind(
        account, buy_credits):
    """usage_rate_new then usage_post_new (causes created in the caller's transaction):
    one debit, one record per kind of use with the quantities and amounts summed, each
    use told its record and its own price (decision 0036)."""
    from django.db import transaction

    from chappe.billing.services.usage import NewUse, usage_post_new, usage_rate_new

    buy_credits(account, "10")
    before = credit(account)
    fr1, fr2, be1 = (NewUse(product="sms", quantity=1, destination_country="FR"),
                     NewUse(product="sms", quantity=2, destination_country="FR"),
                     NewUse(product="sms", quantity=1, destination_country="BE"))
    with transaction.atomic():
        uses = usage_rate_new(account=account, batch_cause_type="messaging.send",
                              batch_cause_id="s", items=[fr1, fr2, fr1, be1, fr1])
        assert credit(account) == before  # rated, not yet debited
        usage_post_new(uses)
    assert [(p.amount_micros, p.currency) for p in uses.prices] == [
        (45_000, "EUR"), (90_000, "EUR"), (45_000, "EUR"), (70_000, "EUR"), (45_000, "EUR")]
    assert before - credit(account) == 295_000
    [entry] = usage_entries(account)
    assert (entry.amount_micros, entry.cause_type, entry.cause_id) == (
        -295_000, "messaging.send", "s")
    records = {r.pk: r for r in UsageRecord.objects.filter(account=account)}
    assert len(records) == 3
    ids = uses.usage_ids
    assert ids[0] == ids[2] == ids[4]
    assert len({ids[0], ids[1], ids[3]}) == 3
    assert [(records[i].uses, records[i].quantity, records[i].billed_quantity,
             records[i].amount_micros, records[i].ledger_entry_id) for i in ids[:2]] == [
        (3, "3", 3, 135_000, entry.pk), (1, "2", 2, 90_000, entry.pk)]
    assert {r.cause_type for r in records.values()} == {"messaging.send"}
    assert reconcile() == []


def test_fresh_batch_refuses_a_kind_it_cannot_rate_and_writes_nothing(account, buy_credits):
    from django.db import transaction

    from chappe.billing.errors import NoPriceError
    from chappe.billing.services.usage import NewUse, usage_rate_new

    buy_credits(account, "10")
    with pytest.raises(NoPriceError), transaction.atomic():
        usage_rate_new(account=account, items=[NewUse(product="tts", quantity=1,
                                                      destination_country="BE")])
    with pytest.raises(ValidationFailed), transaction.atomic():
        usage_rate_new(account=account, items=[NewUse(product="sms", quantity=1.0)])
    assert not UsageRecord.objects.filter(account=account).exists()


def test_batch_reversal_one_entry_per_debit_and_exactly_once(account, buy_credits):
    """usage_reverse_many: the uses of two sends reversed at once give back exactly what
    they cost, in one ledger entry per debit; a repeated or partly done call only reverses
    what is left; unknown keys and reversals are ignored."""
    from chappe.billing.services.usage import usage_reverse_many

    buy_credits(account, "10")
    start = credit(account)
    batch(account, ["a1", "a2", "a3"])
    batch(account, ["b1", "b2"], segments=2)
    assert start - credit(account) == 3 * 45_000 + 2 * 90_000
    first = usage_reverse_many(account=account, idempotency_keys=["a1", "b2"], reason="cancel")
    assert sorted(first) == ["a1:reversal", "b2:reversal"]
    assert sorted(UsageRecord.objects.filter(idempotency_key__in=first).values_list(
        "amount_micros", "billed_quantity")) == [(-90_000, -2), (-45_000, -1)]
    assert start - credit(account) == 2 * 45_000 + 90_000
    reversals = LedgerEntry.objects.filter(account=account, reason=EntryReason.USAGE_REVERSAL)
    assert reversals.count() == 2  # one per debit (each send had one)
    again = usage_reverse_many(account=account, reason="cancel", idempotency_keys=[
        "a1", "a2", "a3", "b1", "b2", "nope", "a1:reversal"])
    assert sorted(again) == ["a2:reversal", "a3:reversal", "b1:reversal"]
    assert credit(account) == start
    assert not usage_reverse_many(account=account, idempotency_keys=["a1", "b1"], reason="x")
    assert credit(account) == start
    assert reconcile() == []
