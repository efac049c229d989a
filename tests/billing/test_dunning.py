"""Due dates, late penalties, contests and suspension for non-payment (P-7, P-8)."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from chappe.accounts.services import service_require
from chappe.audit.models import AuditEntry
from chappe.billing.models import BillingSettings, InvoiceKind
from chappe.billing.periods import zone
from chappe.billing.reconcile import reconcile
from chappe.billing.services import (
    dunning_run,
    invoice_contest_open,
    invoice_contest_resolve,
    invoice_penalties_charge,
    invoice_penalty_preview,
    invoice_run,
    payment_record,
    plan_create,
    subscription_create,
)
from chappe.common.errors import Conflict, ServiceRefused
from tests.billing.conftest import OPERATOR

PARIS = zone("Europe/Paris")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def _invoice(account, price_list, kind="messaging"):
    plan = plan_create(actor=OPERATOR, code=f"p-{kind}", name="Plan", service_kind=kind,
                       price_list=price_list)
    subscription_create(actor=OPERATOR, account=account, plan=plan,
                        started_at=paris(2025, 1, 1))
    [invoice] = invoice_run(month=date(2025, 1, 1), now=paris(2025, 2, 1, 9))
    return invoice


def pay(invoice, when, ref="VIR-1"):
    return payment_record(actor=OPERATOR, invoice=invoice,
                          amount=Decimal(invoice.outstanding_micros) / 1_000_000,
                          method="transfer", reference=ref, received_at=when)


def test_messaging_is_due_on_issue_and_late_payment_is_penalised(account, price_list):
    invoice = _invoice(account, price_list)
    assert invoice.due_at == invoice.issued_at
    assert invoice.total_micros == 58_800_000  # 49 + 20 % VAT
    pay(invoice, invoice.due_at + timedelta(days=30, hours=2))
    penalty = account.invoices.get(kind=InvoiceKind.PENALTY)
    lines = [(line.description, line.amount_micros) for line in penalty.lines.all()]
    # 58.80 x 15 % x 30 / 365 = 0.7249… → 0.72 ; + 40 € flat fee; no VAT.
    assert lines == [(f"Late-payment interest on {invoice.number} (30 days)", 720_000),
                     (f"Flat recovery fee ({invoice.number})", 40_000_000)]
    assert penalty.vat_micros == 0
    assert penalty.total_micros == 40_720_000
    assert penalty.penalised_invoice == invoice
    assert reconcile() == []


def test_paid_on_time_means_no_penalty(account, price_list):
    invoice = _invoice(account, price_list, "contact_center")
    assert invoice.due_at == invoice.issued_at + timedelta(days=30)
    pay(invoice, invoice.due_at - timedelta(seconds=1))
    assert not account.invoices.filter(kind=InvoiceKind.PENALTY).exists()


def test_contact_center_rate_is_three_times_the_legal_rate(account, price_list):
    billing = BillingSettings.load()
    billing.legal_interest_rate = Decimal("0.0365")
    billing.save()
    invoice = _invoice(account, price_list, "contact_center")
    preview = invoice_penalty_preview(invoice=invoice, until=invoice.due_at + timedelta(days=10))
    # 58.80 x 3 x 3.65 % x 10 / 365 = 0.1764
    assert preview.interest_micros == 176_400
    assert preview.recovery_fee_micros == 40_000_000


def test_a_contest_freezes_penalties(account, price_list, admin_actor):
    invoice = _invoice(account, price_list)
    contest = invoice_contest_open(actor=admin_actor, invoice=invoice, reason="Wrong fee",
                                   now=invoice.issued_at + timedelta(days=5))
    with pytest.raises(Conflict):
        invoice_contest_open(actor=admin_actor, invoice=invoice, reason="again",
                             now=invoice.issued_at + timedelta(days=6))
    with pytest.raises(Conflict):
        invoice_penalties_charge(actor=OPERATOR, invoice=invoice)
    invoice_contest_resolve(actor=OPERATOR, contest=contest, accepted=False,
                            now=invoice.issued_at + timedelta(days=15))
    preview = invoice_penalty_preview(invoice=invoice, until=invoice.due_at + timedelta(days=30))
    assert preview.days == 20  # 30 days late, 10 of them frozen
    assert AuditEntry.objects.filter(action__startswith="billing.contest").count() == 2


def test_an_accepted_contest_waives_penalties(account, price_list, admin_actor):
    invoice = _invoice(account, price_list)
    contest = invoice_contest_open(actor=admin_actor, invoice=invoice, reason="Not ours",
                                   now=invoice.issued_at + timedelta(days=1))
    invoice_contest_resolve(actor=OPERATOR, contest=contest, accepted=True)
    assert invoice_penalty_preview(invoice=invoice,
                                   until=invoice.due_at + timedelta(days=90)).total_micros == 0


@pytest.mark.parametrize(("kind", "days", "allowed"), [
    ("messaging", 15, True), ("messaging", 16, False),
    ("contact_center", 30, True), ("contact_center", 31, False),
])
def test_contest_windows(account, price_list, admin_actor, kind, days, allowed):
    invoice = _invoice(account, price_list, kind)
    when = invoice.issued_at + timedelta(days=days)
    if allowed:
        invoice_contest_open(actor=admin_actor, invoice=invoice, reason="?", now=when)
    else:
        with pytest.raises(Conflict):
            invoice_contest_open(actor=admin_actor, invoice=invoice, reason="?", now=when)


def test_operator_charges_penalties_in_steps(account, price_list):
    invoice = _invoice(account, price_list)
    first = invoice_penalties_charge(actor=OPERATOR, invoice=invoice,
                                     now=invoice.due_at + timedelta(days=10))
    assert first.total_micros == 40_000_000 + 240_000  # 58.80 x 15 % x 10/365 = 0.2416
    pay(invoice, invoice.due_at + timedelta(days=20))
    second = account.invoices.filter(kind=InvoiceKind.PENALTY).order_by("number").last()
    assert second.pk != first.pk
    assert [line.amount_micros for line in second.lines.all()] == [240_000]  # 10 more days
    assert reconcile() == []


def test_automatic_suspension_and_lifting_on_payment(account, price_list):
    billing = BillingSettings.load()
    billing.auto_suspend_after_days = 10
    billing.save()
    invoice = _invoice(account, price_list)
    assert dunning_run(now=invoice.due_at + timedelta(days=9)) == 0
    assert dunning_run(now=invoice.due_at + timedelta(days=10)) == 1
    with pytest.raises(ServiceRefused) as refused:
        service_require(account=account, kind="messaging")
    assert refused.value.details["reason"] == "non_payment"
    service_require(account=account, kind="contact_center")  # only that service
    assert dunning_run(now=invoice.due_at + timedelta(days=11)) == 0
    pay(invoice, invoice.due_at + timedelta(days=12))
    # Paying the overdue monthly invoice lifts it (the penalty invoice does not hold it).
    service_require(account=account, kind="messaging")
    actions = list(AuditEntry.objects.filter(account=account, action__startswith="service.")
                   .values_list("action", flat=True))
    assert sorted(actions) == ["service.order", "service.order", "service.reactivate",
                               "service.suspend"]


def test_open_contest_prevents_automatic_suspension(account, price_list, admin_actor):
    billing = BillingSettings.load()
    billing.auto_suspend_after_days = 1
    billing.save()
    invoice = _invoice(account, price_list)
    invoice_contest_open(actor=admin_actor, invoice=invoice, reason="?",
                         now=invoice.issued_at + timedelta(hours=1))
    assert dunning_run(now=invoice.due_at + timedelta(days=5)) == 0


def test_manual_suspension_only(account, price_list):
    invoice = _invoice(account, price_list)
    assert dunning_run(now=invoice.due_at + timedelta(days=365)) == 0  # policy: manual
    from chappe.billing.services import service_suspend_for_non_payment

    service_suspend_for_non_payment(actor=OPERATOR, account=account, service_kind="messaging")
    with pytest.raises(ServiceRefused):
        service_require(account=account, kind="messaging")
    pay(invoice, invoice.due_at + timedelta(days=3))
    service_require(account=account, kind="messaging")


def pay_part(invoice, amount, when, ref):
    return payment_record(actor=OPERATOR, invoice=invoice, amount=amount, method="transfer",
                          reference=ref, received_at=when)


def test_interest_runs_on_what_remained_unpaid_after_a_partial_payment(account, price_list):
    invoice = _invoice(account, price_list)  # 58.80, due on issue
    pay_part(invoice, "18.80", invoice.due_at + timedelta(days=10), "VIR-a")
    invoice.refresh_from_db()
    preview = invoice_penalty_preview(invoice=invoice, until=invoice.due_at + timedelta(days=30))
    assert [(s.unpaid_micros, s.days) for s in preview.stretches] == [
        (58_800_000, 10), (40_000_000, 20)]
    # 58.80 x 15 % x 10/365 = 0.241644 ; 40 x 15 % x 20/365 = 0.328767
    assert preview.interest_micros == 241_644 + 328_767
    assert preview.days == 30
    pay_part(invoice, "40", invoice.due_at + timedelta(days=30), "VIR-b")
    penalty = account.invoices.get(kind=InvoiceKind.PENALTY)
    assert [(line.description, line.quantity, line.amount_micros)
            for line in penalty.lines.all()] == [
        (f"Late-payment interest on {invoice.number}: 10 days on 58.80 EUR unpaid", "10",
         240_000),
        (f"Late-payment interest on {invoice.number}: 20 days on 40.00 EUR unpaid", "20",
         330_000),
        (f"Flat recovery fee ({invoice.number})", "1", 40_000_000)]
    assert penalty.total_micros == 40_570_000  # the whole total for 30 days was 0.72
    assert reconcile() == []


def test_partial_payment_contest_and_charging_in_steps(account, price_list, admin_actor):
    invoice = _invoice(account, price_list)
    due = invoice.due_at
    contest = invoice_contest_open(actor=admin_actor, invoice=invoice, reason="?",
                                   now=due + timedelta(days=5))
    pay_part(invoice, "28.80", due + timedelta(days=8), "VIR-a")
    invoice_contest_resolve(actor=OPERATOR, contest=contest, accepted=False,
                            now=due + timedelta(days=15))
    invoice.refresh_from_db()
    first = invoice_penalties_charge(actor=OPERATOR, invoice=invoice,
                                     now=due + timedelta(days=20, hours=6))
    # 20 days 6 hours after the due date, 10 days frozen: 10 whole days late. Days 0-4 on
    # 58.80 (before the contest), the contest froze 10 days during which 28.80 was paid,
    # then days 5-9 on 30.00.
    assert [(line.quantity, line.amount_micros) for line in first.lines.all()] == [
        ("5", 120_000),  # 58.80 x 15 % x 5/365 = 0.120822
        ("5", 60_000),  # 30 x 15 % x 5/365 = 0.061644
        ("1", 40_000_000)]
    pay_part(invoice, "30", due + timedelta(days=25), "VIR-b")
    second = account.invoices.filter(kind=InvoiceKind.PENALTY).exclude(pk=first.pk).get()
    # Days 10-14 (5 more, the charge at 10.25 days did not count day 10) on 30.00:
    # 0.061644; no second flat fee.
    assert [(line.quantity, line.amount_micros) for line in second.lines.all()] == [
        ("5", 60_000)]
    assert reconcile() == []


def test_penalties_due_in_the_api_follow_partial_payments(api, account, price_list):
    invoice = _invoice(account, price_list)
    pay_part(invoice, "18.80", invoice.due_at + timedelta(days=10), "VIR-a")
    from chappe.billing.services.dunning import invoice_penalty_preview as preview_of

    invoice.refresh_from_db()
    expected = preview_of(invoice=invoice).total_micros
    detail = api.get(f"/api/v1/billing/invoices/{invoice.pk}").json()
    assert Decimal(detail["penalties_due"]) * 1_000_000 == pytest.approx(expected, abs=2_000)
    assert detail["outstanding"] == "40.00"
