"""The operator back-office: every billing screen opens, and the forms and actions go
through the services (audited with the staff user)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chappe.accounts.models import User
from chappe.audit.models import AuditEntry
from chappe.billing.models import (
    BillingSettings,
    ContestStatus,
    InvoiceContest,
    OrderStatus,
    PriceChangeNotice,
)
from chappe.billing.services import (
    billing_settings_update,
    credit_order_create,
    invoice_contest_open,
    plan_create,
    plan_update,
    subscription_create,
    subscription_update,
)
from chappe.common.errors import PermissionDenied, ValidationFailed
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


def _form(obj, fields, **changes) -> dict:
    """The POST of an admin change form showing `fields` of `obj`, with `changes`."""
    values = {**model_to_dict(obj, fields=fields), **changes}
    return {name: ("" if value is None else value) for name, value in values.items()
            if value is not False}  # an unchecked box is not sent


def test_change_forms_save_through_the_services(staff, account, price_list):
    """Settings, price lists, plans and subscriptions edited in the back-office are
    changed by their services: audited with the staff user, only what changed."""
    settings_fields = [f.name for f in BillingSettings._meta.concrete_fields
                       if not f.primary_key]
    response = staff.post(reverse("admin:billing_billingsettings_add"),
                          _form(BillingSettings(), settings_fields, vat_rate="0.0550"))
    assert response.status_code == 302, response.content[:2000]
    assert BillingSettings.load().vat_rate == Decimal("0.0550")
    plan = plan_create(actor=OPERATOR, code="cc", name="CC", service_kind="contact_center",
                       price_list=price_list)
    response = staff.post(reverse("admin:billing_plan_change", args=[plan.pk]),
                          _form(plan, ["name", "notice_days", "is_active"], name="CC 2026",
                                is_active=False))
    assert response.status_code == 302, response.content[:2000]
    subscription = subscription_create(actor=OPERATOR, account=account, plan=plan, users=3)
    response = staff.post(reverse("admin:billing_subscription_change", args=[subscription.pk]),
                          _form(subscription, ["users", "licences", "numbers", "payment_days"],
                                users=5, numbers="[]"))
    assert response.status_code == 302, response.content[:2000]
    versions = list(price_list.versions.values_list("pk", flat=True))
    inline = {"versions-TOTAL_FORMS": len(versions), "versions-INITIAL_FORMS": len(versions),
              **{f"versions-{n}-id": pk for n, pk in enumerate(versions)},
              **{f"versions-{n}-price_list": price_list.pk for n in range(len(versions))}}
    response = staff.post(reverse("admin:billing_pricelist_change", args=[price_list.pk]),
                          {**_form(price_list, ["name", "is_default"], name="Public 2026"),
                           **inline})
    assert response.status_code == 302, response.content[:2000]

    plan.refresh_from_db()
    subscription.refresh_from_db()
    price_list.refresh_from_db()
    assert (plan.name, plan.is_active, subscription.users, price_list.name) == (
        "CC 2026", False, 5, "Public 2026")
    entries = {e.action: e for e in AuditEntry.objects.filter(action__in=[
        "billing.settings.update", "billing.plan.update", "billing.subscription.update",
        "billing.price_list.update"])}
    assert {action: e.details["fields"] for action, e in entries.items()} == {
        "billing.settings.update": ["vat_rate"],
        "billing.plan.update": ["is_active", "name"],
        "billing.subscription.update": ["users"],
        "billing.price_list.update": ["name"]}
    assert {e.actor_label for e in entries.values()} == {"ops@operator.example"}


def test_update_services_are_for_the_operator_and_their_own_fields(account, price_list,
                                                                  admin_actor):
    plan = plan_create(actor=OPERATOR, code="cc", name="CC", service_kind="contact_center",
                       price_list=price_list)
    subscription = subscription_create(actor=OPERATOR, account=account, plan=plan)
    with pytest.raises(PermissionDenied):
        subscription_update(actor=admin_actor, subscription=subscription, changes={"users": 2})
    with pytest.raises(ValidationFailed) as refused:
        subscription_update(actor=OPERATOR, subscription=subscription,
                            changes={"status": "ended", "users": 2})
    assert list(refused.value.details) == ["status"]
    with pytest.raises(ValidationFailed) as invalid:
        billing_settings_update(actor=OPERATOR, changes={"invoice_prefix": "X" * 11})
    assert list(invalid.value.details) == ["invoice_prefix"]
    subscription.refresh_from_db()
    assert (subscription.users, subscription.status) == (0, "active")
    assert plan_update(actor=OPERATOR, plan=plan, changes={"name": "CC"}) == plan
    assert not AuditEntry.objects.filter(action="billing.plan.update").exists()  # no change


def test_balances_show_cents_and_only_the_decimals_they_have(staff, account, buy_credits):
    buy_credits(account, "50")
    page = staff.get(reverse("admin:billing_accountbalance_changelist")).content.decode()
    assert "50.00 EUR" in page
    assert "50.000000" not in page
