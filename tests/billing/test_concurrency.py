"""N parallel debits on one prepaid account never overdraw it; a usage event charged by
several workers at once is debited once. Real threads on PostgreSQL (row locks); SQLite
serializes writers with IMMEDIATE transactions and is not exercised here."""

import pytest

from chappe.billing.errors import InsufficientCredit
from chappe.billing.models import UsageRecord
from chappe.billing.reconcile import reconcile
from chappe.billing.selectors import ledger_sum
from chappe.billing.services import usage_charge
from tests.concurrency import race, skip_unless_postgres

pytestmark = pytest.mark.postgres


def _run_threads(count, target):
    """The successes, and each failure as "insufficient" or its repr."""
    outcomes = race(count, target)
    errors = ["insufficient" if isinstance(o, InsufficientCredit) else repr(o)
              for o in outcomes if isinstance(o, Exception)]
    return [o for o in outcomes if not isinstance(o, Exception)], errors


@pytest.mark.django_db(transaction=True)
def test_parallel_debits_never_overdraw(make_account, buy_credits):
    skip_unless_postgres()
    account = make_account("Busy")
    buy_credits(account, "1")  # exactly 10 SMS to Japan at 0.10

    def send(i):
        return usage_charge(account=account, product="sms", quantity=1,
                            destination_country="JP", cause_type="t", cause_id=str(i),
                            idempotency_key=f"par-{i}")

    results, errors = _run_threads(16, send)
    assert len(results) == 10
    assert errors == ["insufficient"] * 6
    assert ledger_sum(account=account, book="credit", currency="EUR") == 0
    assert reconcile() == []


@pytest.mark.django_db(transaction=True)
def test_duplicate_usage_events_debit_once(make_account, buy_credits):
    skip_unless_postgres()
    account = make_account("Dup")
    buy_credits(account, "1")

    def send(_i):
        return usage_charge(account=account, product="sms", quantity=2,
                            destination_country="FR", cause_type="t", cause_id="same",
                            idempotency_key="same-message")

    results, errors = _run_threads(8, send)
    assert errors == []
    assert sum(1 for r in results if not r.replayed) == 1
    assert len({r.record.pk for r in results}) == 1
    assert UsageRecord.objects.filter(account=account).count() == 1
    assert ledger_sum(account=account, book="credit", currency="EUR") == 1_000_000 - 90_000


@pytest.mark.django_db(transaction=True)
def test_parallel_invoices_get_gap_free_numbers(make_account, price_list):
    skip_unless_postgres()
    from chappe.billing.models import Invoice
    from chappe.billing.services import credit_order_create
    from tests.billing.conftest import OPERATOR

    accounts = [make_account(f"Buyer {i}") for i in range(8)]

    def order(i):
        return credit_order_create(actor=OPERATOR, account=accounts[i], amount="10")

    _results, errors = _run_threads(8, order)
    assert errors == []
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    year = numbers[0].split("-")[1]
    assert numbers == [f"INV-{year}-{n:06d}" for n in range(1, 9)]


@pytest.mark.django_db(transaction=True)
def test_parallel_reversals_credit_back_once(make_account, buy_credits):
    skip_unless_postgres()
    from chappe.billing.services.usage import UsageItem, usage_charge_many, usage_reverse

    account = make_account("Cancel")
    buy_credits(account, "1")
    usage_charge_many(account=account, items=[
        UsageItem(product="sms", quantity=2, destination_country="FR", cause_type="t",
                  cause_id=k, idempotency_key=k) for k in ("a", "b", "c")])

    def cancel(_i):
        return usage_reverse(account=account, idempotency_key="b", reason="canceled")

    results, errors = _run_threads(8, cancel)
    assert errors == []
    assert sum(1 for r in results if r is not None) == 1
    assert ledger_sum(account=account, book="credit", currency="EUR") == 1_000_000 - 180_000
    assert reconcile() == []


@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_charge_each_key_once(make_account, buy_credits):
    skip_unless_postgres()
    from chappe.billing.services.usage import UsageItem, usage_charge_many

    account = make_account("Overlap")
    buy_credits(account, "10")

    def send(i):
        keys = [f"k{j}" for j in range(i, i + 4)]  # each batch shares keys with the next
        return usage_charge_many(account=account, items=[
            UsageItem(product="sms", quantity=1, destination_country="FR", cause_type="t",
                      cause_id=k, idempotency_key=k) for k in keys])

    results, errors = _run_threads(8, send)
    assert errors == []
    assert UsageRecord.objects.filter(account=account).count() == 11  # k0 … k10
    assert sum(1 for batch in results for c in batch if not c.replayed) == 11
    assert ledger_sum(account=account, book="credit", currency="EUR") == 10_000_000 - 11 * 45_000
    assert reconcile() == []
