"""The operator back-office: every billing screen opens, and the forms and actions go
through the services (audited with the staff user)."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chappe.accounts.models import User
from chappe.audit.models import AuditEntry
from chappe.billing.models import (
    ContestStatus,
    InvoiceContest,
    OrderStatus,
    PriceChangeNotice,
)
from chappe.billing.services import credit_order_create, invoice_contest_open
from tests.billing.conftest import OPERATOR


@pytest.fixture
def staff(db) -> Client:
    user = User.objects.create_superuser("ops@operator.example", "correct-horse-battery-9")
    client = Client()
    client.force_login(user)
    return client


def test_every_billing_screen_opens(staff, account, buy_credits):
    buy_credits(account, "5")
    for model in admin.site._registry:
        if model._meta.app_label != "billing":
            continue
        name = f"admin:billing_{model._meta.model_name}_changelist"
        assert staff.get(reverse(name)).status_code == 200, name
    lot = account.credit_lots.get()
    assert staff.get(reverse("admin:billing_invoice_change",
                             args=[lot.order.invoice_id])).status_code == 200
    pdf = staff.get(reverse("admin:billing_invoice_pdf", args=[lot.order.invoice_id]))
    assert pdf.content.startswith(b"%PDF")
    for name in ("pricelistversion", "payment", "plan", "subscription"):
        assert staff.get(reverse(f"admin:billing_{name}_add")).status_code == 200, name


def test_operator_records_a_transfer_payment(staff, account, price_list):
    order = credit_order_create(actor=OPERATOR, account=account, amount="100")
    response = staff.post(reverse("admin:billing_payment_add"), {
        "invoice": str(order.invoice_id), "amount": "120.00", "method": "transfer",
        "reference": "VIR-2025-0001", "received_at_0": "", "received_at_1": ""})
    assert response.status_code == 302, response.content[:2000]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    entry = AuditEntry.objects.get(action="billing.payment.record")
    assert entry.actor_label == "ops@operator.example"
    assert entry.is_operator


def test_operator_schedules_a_price_change(staff, price_list):
    effective = (timezone.now() + timedelta(days=40)).strftime("%Y-%m-%d")
    response = staff.post(reverse("admin:billing_pricelistversion_add"), {
        "price_list": price_list.pk, "effective_from_0": effective, "effective_from_1": "00:00:00",
        "note": "2026 prices", "message": "SMS to France: 0.05",
        "prices_csv": "sms,FR,,,,0.05\nsms,,,,,0.11\n"})
    assert response.status_code == 302, response.content[:3000]
    notice = PriceChangeNotice.objects.get()
    assert notice.message == "SMS to France: 0.05"
    assert notice.version.prices.count() == 2


def test_invoice_run_screen_and_contest_actions(staff, account, buy_credits, admin_actor):
    assert staff.get(reverse("admin:billing_invoice_run")).status_code == 200
    response = staff.post(reverse("admin:billing_invoice_run"), {"month": "2025-01-01"})
    assert response.status_code == 302
    lot = buy_credits(account, "5")
    contest = invoice_contest_open(actor=admin_actor, invoice=lot.order.invoice, reason="?")
    response = staff.post(reverse("admin:billing_invoicecontest_changelist"), {
        "action": "reject", "_selected_action": [str(contest.pk)]})
    assert response.status_code == 302
    assert InvoiceContest.objects.get().status == ContestStatus.REJECTED
