"""Group commit of single sends (decision 0028): the requests waiting together are
accepted in one transaction with one debit, each keeps its own outcome, Idempotency-Key
and error, and the prepaid balance stays exact however many senders race for it.

A batcher built and fed before it is started takes everything queued as one batch: the
tests form their batches that way, with no timing involved."""


import pytest
from django.db import connection

from chappe.accounts.actor import SYSTEM
from chappe.billing.errors import InsufficientCredit
from chappe.billing.models import EntryReason, LedgerEntry
from chappe.billing.reconcile import reconcile
from chappe.billing.selectors import ledger_sum
from chappe.common.errors import ValidationFailed
from chappe.messaging.group_commit import SmsGroupCommit
from chappe.messaging.models import Message, Send
from chappe.messaging.services.accept import SmsRequest, sms_send
from tests.concurrency import race
from tests.messaging.conftest import assert_billed_once

# JP: 0.10 EUR a message in tests/billing/conftest.py, so 1 EUR buys exactly 10.
JP_PRICE = 100_000


def jp(i: int) -> str:
    return f"+8190{12345600 + i}"


def request(account, i: int, **kw) -> SmsRequest:
    fields = {"recipients": [jp(i)], "text": f"Code {i}", "sender": "Chappe", **kw}
    return SmsRequest(actor=SYSTEM.on(account), account=account, **fields)


def one_batch(requests: list[SmsRequest]) -> tuple[SmsGroupCommit, list]:
    """Accept `requests` as one batch; each one's outcome or error, in order."""
    batcher = SmsGroupCommit()
    futures = [batcher.submit(r, language="en") for r in requests]
    batcher.start()
    results = []
    for future in futures:
        try:
            results.append(future.result(timeout=120))
        except Exception as exc:
            results.append(exc)
    batcher.stop()
    return batcher, results


def usage_debits(account) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(account=account, reason=EntryReason.USAGE))


def credit(account) -> int:
    return ledger_sum(account=account, book="credit", currency="EUR")


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_one_debit_and_each_request_its_own_send(account, buy_credits):
    buy_credits(account, "1")
    batcher, results = one_batch([request(account, i) for i in range(8)])
    assert list(batcher.batches) == [8]
    assert [r.recipients[0].status for r in results] == ["queued"] * 8
    assert len({r.send.pk for r in results}) == 8
    for i, result in enumerate(results):
        message = Message.objects.get(pk=result.recipients[0].message.pk)
        assert (message.recipient, message.send_id, message.price_micros) == (
            jp(i), result.send.pk, JP_PRICE)
        assert Send.objects.get(pk=result.send.pk).report  # a replay answers the same
    [debit] = usage_debits(account)
    assert debit.amount_micros == -8 * JP_PRICE
    assert credit(account) == 1_000_000 - 8 * JP_PRICE
    assert reconcile() == []


@pytest.mark.django_db(transaction=True)
def test_one_bad_request_fails_alone_and_keys_stay_exactly_once(account, buy_credits):
    buy_credits(account, "1")
    batcher, results = one_batch([
        request(account, 0),
        request(account, 1, text=""),  # refused before anything is written
        request(account, 2, idempotency_key="k-2"),
        request(account, 2, idempotency_key="k-2"),  # the same request twice in a batch
        request(account, 3, idempotency_key="k-2"),  # the same key, another request
        request(account, 4),
    ])
    assert list(batcher.batches) == [6]
    assert isinstance(results[1], ValidationFailed)
    assert results[4].code == "idempotency_conflict"
    assert [results[i].replayed for i in (0, 2, 3, 5)] == [False, False, True, False]
    assert results[3].send.pk == results[2].send.pk
    assert results[3].recipients[0].message.pk == results[2].recipients[0].message.pk
    assert Send.objects.filter(account=account, idempotency_key="k-2").count() == 1
    assert Message.objects.filter(account=account).count() == 3
    assert credit(account) == 1_000_000 - 3 * JP_PRICE
    assert reconcile() == []


@pytest.mark.django_db(transaction=True)
def test_a_batch_beyond_the_credit_accepts_what_it_can_pay(account, buy_credits):
    buy_credits(account, "1")
    _batcher, results = one_batch([request(account, i) for i in range(13)])
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 3
    assert all(isinstance(r, InsufficientCredit) for r in refused)
    assert Message.objects.filter(account=account).count() == 10
    assert credit(account) == 0
    assert_billed_once(account)  # the failed batch's records rolled back with it
    assert reconcile() == []


@pytest.mark.django_db(transaction=True)
def test_a_request_whose_client_left_is_dropped_and_the_others_answered(account,
                                                                       buy_credits):
    buy_credits(account, "1")
    batcher = SmsGroupCommit()
    gone = batcher.submit(request(account, 0), language="en")
    stays = batcher.submit(request(account, 1), language="en")
    assert gone.cancel()  # what awaiting it does when the client disconnects
    batcher.start()
    assert stays.result(timeout=120).recipients[0].e164 == jp(1)
    batcher.stop()
    assert list(batcher.batches) == [1]
    assert list(Message.objects.filter(account=account).values_list("recipient", flat=True)) \
        == [jp(1)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_concurrent_senders_never_overdraw_nor_charge_twice(account, buy_credits):
    """Two batchers (two web processes) and direct senders (SMPP, the web form) race for
    one account that can pay for 10 messages: exactly 10 are accepted and paid, once."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    buy_credits(account, "1")
    batchers = [SmsGroupCommit().start(), SmsGroupCommit().start()]

    def send(i: int):
        same = i % 30  # senders 30 to 35 repeat the requests of 0 to 5, key and all
        if i % 3 == 2:
            return sms_send(actor=SYSTEM.on(account), account=account, recipients=[jp(same)],
                            text=f"Code {same}", sender="Chappe", idempotency_key=f"k-{same}")
        return batchers[i % 2].submit(request(account, same, idempotency_key=f"k-{same}"),
                                      language="en").result(timeout=120)

    try:
        results = race(36, send)
    finally:
        for batcher in batchers:
            batcher.stop()
    outcomes = [r for r in results if not isinstance(r, Exception)]
    accepted = {r.send.pk for r in outcomes if not r.replayed}
    assert all(isinstance(r, InsufficientCredit) for r in results if r not in outcomes)
    assert {r.send.pk for r in outcomes if r.replayed} <= accepted
    assert len(accepted) == Message.objects.filter(account=account).count() == 10
    assert Send.objects.filter(account=account, report__gt="").count() == 10
    assert credit(account) == 0
    assert_billed_once(account)
    assert reconcile() == []


@pytest.mark.django_db(transaction=True)
def test_the_balance_lock_is_taken_last_and_only_the_debit_runs_under_it(account,
                                                                         buy_credits):
    """Decision 0028: messages, sends, the debit entry and the usage records are written
    before the account's balance row is locked; under the lock only the balance and its
    lots move, then the transaction commits."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    buy_credits(account, "1")
    with CaptureQueriesContext(db) as queries:
        sms_send(actor=SYSTEM.on(account), account=account, recipients=[jp(1), jp(2)],
                 text="Code", sender="Chappe")
    sql = [q["sql"] for q in queries.captured_queries]
    locked = next(i for i, q in enumerate(sql) if q.startswith("SELECT")
                  and 'FROM "billing_accountbalance"' in q)
    written_before = " ".join(sql[:locked])
    assert 'INSERT INTO "messaging_send"' in written_before
    assert 'INSERT INTO "billing_ledgerentry"' in written_before
    under_lock = [q for q in sql[locked:] if not q.startswith(("SAVEPOINT", "RELEASE", "COMMIT"))]
    assert all(any(f'"{table}"' in q for table in (
        "billing_accountbalance", "billing_creditlot", "billing_lotmovement"))
        for q in under_lock), under_lock
    assert credit(account) == 1_000_000 - 2 * JP_PRICE
