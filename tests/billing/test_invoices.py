"""Subscriptions (P-6), the monthly invoice run (P-7, C-9), numbering, documents."""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from chappe.billing.documents import invoice_csv, invoice_json, invoice_pdf
from chappe.billing.models import Invoice, InvoiceKind, SubscriptionStatus
from chappe.billing.periods import zone
from chappe.billing.reconcile import reconcile
from chappe.billing.selectors import ledger_sum
from chappe.billing.services import (
    invoice_run,
    plan_create,
    subscription_cancel,
    subscription_create,
    subscriptions_close,
    usage_charge,
)
from chappe.billing.services.pricing import subscription_end_for_notice
from chappe.common.errors import Conflict
from tests.billing.conftest import OPERATOR

PARIS = zone("Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
def cc_plan(price_list):
    return plan_create(actor=OPERATOR, code="cc", name="Contact center",
                       service_kind="contact_center", price_list=price_list)


@pytest.fixture
def msg_plan(price_list):
    return plan_create(actor=OPERATOR, code="msg", name="Messaging Pro",
                       service_kind="messaging", price_list=price_list)


def call(account, key, seconds, when, **kw):
    return usage_charge(account=account, product="voice_minute", quantity=seconds,
                        destination_country="FR", cause_type="callcenter.call", cause_id=key,
                        idempotency_key=key, occurred_at=when, **kw)


def lines_of(invoice):
    return [(line.description, line.quantity, line.amount_micros) for line in invoice.lines.all()]


def test_contact_center_month_with_prorated_first_period(account, cc_plan):
    subscription_create(actor=OPERATOR, account=account, plan=cc_plan,
                        started_at=paris(2025, 1, 15, 10), licences=2, users=3,
                        numbers=[{"country": "FR", "number_type": "fixed", "count": 2}])
    call(account, "c1", 61, paris(2025, 1, 20, 9))
    call(account, "c2", Decimal("0.4"), paris(2025, 1, 20, 9), number_type="mobile")
    call(account, "c3", 59, paris(2025, 1, 31, 23, 59, 59))  # the month's last second
    call(account, "c4", 60, paris(2025, 2, 1, 0, 0, 0))  # next month's first second
    now = paris(2025, 2, 1, 0, 5)
    [invoice] = invoice_run(month=date(2025, 1, 1), now=now)
    assert invoice.kind == InvoiceKind.MONTHLY
    assert (invoice.period_start, invoice.period_end) == (date(2025, 1, 1), date(2025, 1, 31))
    assert lines_of(invoice) == [
        ("Plan fee: Contact center (prorated: 17/31 days)", "1", 26_870_000),  # 26.8709…
        ("Licences (prorated: 17/31 days)", "2", 27_420_000),  # 27.4193…
        ("Users (prorated: 17/31 days)", "3", 8_230_000),  # 8.2258…
        ("Phone numbers FR fixed (prorated: 17/31 days)", "2", 2_190_000),  # 2.1935…
        ("Outbound voice (per minute, billed per second) FR", "120 s", 20_000),  # 0.024
        ("Outbound voice (per minute, billed per second) FR mobile", "1 s", 0),  # 0.001
    ]
    assert invoice.subtotal_micros == 64_730_000
    assert invoice.vat_micros == 12_950_000  # 12.946 → 12.95
    assert invoice.total_micros == 77_680_000
    assert invoice.due_at == now + timedelta(days=30)
    # Idempotent: a second run (even a month later) issues nothing new.
    assert invoice_run(month=date(2025, 1, 1), now=now) == []
    assert invoice_run(month=date(2025, 1, 15), now=now + timedelta(days=20)) == []
    [february] = invoice_run(month=date(2025, 2, 1), now=paris(2025, 3, 1, 1))
    assert lines_of(february)[0] == ("Plan fee: Contact center", "1", 49_000_000)
    assert ("Outbound voice (per minute, billed per second) FR", "60 s", 10_000) \
        in lines_of(february)
    assert ledger_sum(account=account, book="receivable", currency="EUR") == (
        invoice.total_micros + february.total_micros)
    assert reconcile() == []


def test_leap_february_last_day_subscription(account, msg_plan):
    subscription_create(actor=OPERATOR, account=account, plan=msg_plan,
                        started_at=paris(2024, 2, 29, 18))
    [invoice] = invoice_run(month=date(2024, 2, 1), now=paris(2024, 3, 1, 0, 1))
    assert lines_of(invoice) == [
        ("Plan fee: Messaging Pro (prorated: 1/29 days)", "1", 1_690_000)]  # 1.6896…
    assert invoice.due_at == invoice.issued_at  # messaging: due on issue


def test_usage_arriving_late_goes_on_the_next_invoice(account, msg_plan):
    subscription_create(actor=OPERATOR, account=account, plan=msg_plan,
                        started_at=paris(2025, 1, 1))
    usage_charge(account=account, product="sms", quantity=2, destination_country="FR",
                 cause_type="m", cause_id="1", idempotency_key="m1",
                 occurred_at=paris(2025, 1, 10))
    [january] = invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 1))
    usage_charge(account=account, product="sms", quantity=1, destination_country="FR",
                 cause_type="m", cause_id="2", idempotency_key="m2",
                 occurred_at=paris(2025, 1, 31, 23))
    assert invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 2)) == []
    [february] = invoice_run(month=date(2025, 2, 1), now=paris(2025, 3, 1, 1))
    sms = [line for line in lines_of(january) + lines_of(february) if "SMS" in line[0]]
    assert sms == [("SMS (per segment) FR", "2", 90_000), ("SMS (per segment) FR", "1", 50_000)]
    assert reconcile() == []


def test_the_month_must_be_over(account, msg_plan):
    subscription_create(actor=OPERATOR, account=account, plan=msg_plan,
                        started_at=paris(2025, 1, 1))
    assert invoice_run(month=date(2025, 1, 1), now=paris(2025, 1, 31, 23, 59, 59)) == []


def test_numbering_is_sequential_and_gap_free(make_account, msg_plan, buy_credits):
    accounts = [make_account(f"Client {i}") for i in range(4)]
    for account in accounts:
        subscription_create(actor=OPERATOR, account=account, plan=msg_plan,
                            started_at=paris(2025, 1, 1))
    buy_credits(accounts[0], "10", when=paris(2025, 1, 5))
    invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 1))
    invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 2))
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"INV-2025-{n:06d}" for n in range(1, 6)]


def test_contact_center_cancellation_owes_every_started_month(account, cc_plan):
    subscription = subscription_create(actor=OPERATOR, account=account, plan=cc_plan,
                                       started_at=paris(2025, 1, 1))
    subscription_cancel(actor=OPERATOR, subscription=subscription,
                        asked_at=paris(2025, 3, 10, 12))
    subscription.refresh_from_db()
    assert subscription.ends_at == paris(2025, 4, 10)
    [april] = invoice_run(month=date(2025, 4, 1), now=paris(2025, 5, 1, 1))
    assert lines_of(april)[0] == ("Plan fee: Contact center", "1", 49_000_000)
    assert invoice_run(month=date(2025, 5, 1), now=paris(2025, 6, 1, 1)) == []
    assert subscriptions_close(now=paris(2025, 4, 10)) == 1
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ENDED
    with pytest.raises(Conflict):
        subscription_cancel(actor=OPERATOR, subscription=subscription)


@pytest.mark.parametrize(("asked", "ends"), [
    (paris(2025, 12, 1), paris(2026, 1, 15)),     # at least a month before the term
    (paris(2025, 12, 15), paris(2026, 1, 15)),    # exactly one month before
    (paris(2025, 12, 16), paris(2027, 1, 15)),    # too late: renewed for a year
    (paris(2025, 2, 1), paris(2026, 1, 15)),
])
def test_messaging_term_and_tacit_renewal(account, msg_plan, asked, ends):
    subscription = subscription_create(actor=OPERATOR, account=account, plan=msg_plan,
                                       started_at=paris(2025, 1, 15, 9))
    assert subscription_end_for_notice(subscription=subscription, asked_at=asked) == ends


def test_invoice_documents(account, buy_credits):
    account.billing_email = "billing@acme.example"
    account.vat_number = "FR12345678901"
    account.save()
    lot = buy_credits(account, "12.34")
    invoice = lot.order.invoice
    pdf = invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert invoice.number.encode() in pdf
    assert b"14.81" in pdf  # 12.34 + 20 % VAT (2.468 → 2.47)
    rows = invoice_csv(invoice).splitlines()
    assert rows[0].startswith("invoice,issued_at")
    assert rows[-1].endswith(",14.81")
    data = invoice_json(invoice)
    assert json.loads(json.dumps(data))["total"] == "14.81"
    assert data["bill_to"]["vat_number"] == "FR12345678901"
    assert data["lines"][0]["unit_price"] == "12.34"


def test_invoices_are_emailed_to_the_billing_address(account, price_list, mailoutbox):
    from chappe.billing.services import credit_order_create
    from chappe.queue.jobs import jobs_run_due

    account.billing_email = "billing@acme.example"
    account.save()
    order = credit_order_create(actor=OPERATOR, account=account, amount="10")
    jobs_run_due()
    [mail] = mailoutbox
    assert mail.to == ["billing@acme.example"]
    assert order.invoice.number in mail.subject
    assert mail.attachments[0][0] == f"{order.invoice.number}.pdf"


def test_reverse_charge_and_export_vat(make_account, msg_plan):
    german = make_account("GmbH", country="DE", vat_number="DE123456789")
    american = make_account("Inc", country="US")
    for client in (german, american):
        subscription_create(actor=OPERATOR, account=client, plan=msg_plan,
                            started_at=paris(2025, 1, 1))
    invoices = invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 1))
    assert [i.vat_micros for i in invoices] == [0, 0]
    assert [i.total_micros for i in invoices] == [49_000_000, 49_000_000]
