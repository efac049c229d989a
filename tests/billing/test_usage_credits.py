"""usage_charge, prepaid credits (P-5), expiry, transfers (P-2), card payments."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from chappe.audit.models import AuditEntry
from chappe.billing.errors import InsufficientCredit, NoPriceError, PaymentDeclined
from chappe.billing.gateways import FakeGateway
from chappe.billing.models import (
    BillingMode,
    CreditLot,
    EntryReason,
    LedgerEntry,
    OrderStatus,
    UsageRecord,
)
from chappe.billing.reconcile import reconcile
from chappe.billing.selectors import balance_summary, credit_estimate, ledger_sum
from chappe.billing.services import (
    credit_order_create,
    credit_order_pay_card,
    credit_transfer,
    credits_expire,
    payment_record,
    plan_create,
    price_list_version_create,
    price_quote,
    subscription_create,
    usage_charge,
)
from chappe.billing.services.credits import credit_order_cancel
from chappe.common.errors import PermissionDenied, ValidationFailed
from tests.billing.conftest import OPERATOR


def sms(account, key, segments=1, country="FR", **kw):
    return usage_charge(account=account, product="sms", quantity=segments,
                        destination_country=country, cause_type="test.message", cause_id=key,
                        idempotency_key=key, **kw)


def credit(account) -> int:
    return ledger_sum(account=account, book="credit", currency="EUR")


def test_prepaid_usage_debits_credits_once(account, buy_credits):
    buy_credits(account, "1")
    charge = sms(account, "m1", segments=2)
    assert not charge.replayed
    assert charge.amount_micros == 90_000
    assert charge.record.billing_mode == BillingMode.PREPAID
    again = sms(account, "m1", segments=2)
    assert again.replayed
    assert again.record.pk == charge.record.pk
    assert credit(account) == 1_000_000 - 90_000
    assert UsageRecord.objects.filter(account=account).count() == 1
    entry = charge.record.ledger_entry
    assert (entry.cause_type, entry.cause_id, entry.reason) == ("test.message", "m1", "usage")
    assert reconcile() == []


def test_insufficient_credit_refuses_and_debits_nothing(account, buy_credits):
    buy_credits(account, "1")
    for i in range(22):  # 22 x 0.045 = 0.99
        sms(account, f"m{i}")
    with pytest.raises(InsufficientCredit) as caught:
        sms(account, "too-much", segments=1)
    assert caught.value.status == 402
    assert caught.value.code == "insufficient_credit"
    assert caught.value.details == {"currency": "EUR", "required": "0.045000",
                                    "available": "0.010000"}
    assert credit(account) == 10_000
    assert not UsageRecord.objects.filter(idempotency_key="too-much").exists()


def test_credits_are_usable_only_once_paid(account, price_list):
    order = credit_order_create(actor=OPERATOR, account=account, amount="50")
    assert order.status == OrderStatus.PENDING
    assert order.invoice.total_micros == 60_000_000  # 50 € + 20 % VAT
    with pytest.raises(InsufficientCredit):
        sms(account, "m1")
    payment_record(actor=OPERATOR, invoice=order.invoice, amount="20", method="cheque",
                   reference="CHQ-1")
    with pytest.raises(InsufficientCredit):
        sms(account, "m1")  # partly paid: still nothing
    payment_record(actor=OPERATOR, invoice=order.invoice, amount="40", method="cheque",
                   reference="CHQ-2")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert sms(account, "m1").amount_micros == 45_000
    assert ledger_sum(account=account, book="receivable", currency="EUR") == 0
    assert reconcile() == []


def test_only_the_operator_records_transfer_payments(account, admin_actor, price_list):
    order = credit_order_create(actor=admin_actor, account=account, amount="10")
    with pytest.raises(PermissionDenied):
        payment_record(actor=admin_actor, invoice=order.invoice, amount="12", method="transfer",
                       reference="x")


def test_card_payment_through_the_fake_gateway(account, admin_actor, price_list):
    order = credit_order_create(actor=admin_actor, account=account, amount="10.50")
    with pytest.raises(PaymentDeclined):
        credit_order_pay_card(actor=admin_actor, order=order, card_token="decline-me")
    payment = credit_order_pay_card(actor=admin_actor, order=order, card_token="tok_visa",
                                    gateway=FakeGateway())
    assert payment.method == "card"
    assert payment.amount_micros == 12_600_000
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert credit(account) == 10_500_000
    actions = set(AuditEntry.objects.filter(account=account).values_list("action", flat=True))
    assert {"billing.credit_order.create", "billing.payment.declined", "billing.payment.record",
            "billing.credit.grant"} <= actions


def test_order_amounts_are_validated(account, admin_actor, price_list):
    for bad in ("0", "10.001", "abc", "-5"):
        with pytest.raises(ValidationFailed):
            credit_order_create(actor=admin_actor, account=account, amount=bad)


def test_cancelled_order_keeps_its_invoice_number(account, price_list):
    order = credit_order_create(actor=OPERATOR, account=account, amount="10")
    credit_order_cancel(actor=OPERATOR, order=order)
    order.invoice.refresh_from_db()
    assert order.invoice.status == "cancelled"
    assert ledger_sum(account=account, book="receivable", currency="EUR") == 0
    assert reconcile() == []


def test_oldest_lots_are_consumed_first(account, buy_credits):
    now = timezone.now()
    newer = buy_credits(account, "1", when=now - timedelta(days=10))
    older = buy_credits(account, "1", when=now - timedelta(days=100))
    sms(account, "a", segments=30)  # 1.35 €: all of the older lot, 0.35 of the newer
    older.refresh_from_db()
    newer.refresh_from_db()
    assert older.remaining_micros == 0
    assert newer.remaining_micros == 650_000


def test_credits_expire_at_the_twelve_month_boundary(account, buy_credits):
    ordered = datetime(2024, 2, 29, 10, tzinfo=UTC)
    lot = buy_credits(account, "5", when=ordered)
    # Paris: usable through 2025-02-28, lost at 2025-03-01 00:00 (= 2025-02-28 23:00 UTC).
    assert lot.expires_at == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)
    assert credits_expire(now=lot.expires_at - timedelta(microseconds=1)) == 0
    assert credits_expire(now=lot.expires_at) == 1
    assert credits_expire(now=lot.expires_at) == 0  # idempotent
    lot.refresh_from_db()
    assert lot.remaining_micros == 0
    assert lot.expired_at is not None
    entry = LedgerEntry.objects.get(account=account, reason=EntryReason.EXPIRY)
    assert entry.amount_micros == -5_000_000
    assert entry.cause_id == str(lot.pk)
    assert AuditEntry.objects.filter(account=account, action="billing.credit.expire").exists()
    assert credit(account) == 0
    assert reconcile() == []


def test_a_lot_past_its_date_is_never_spent(account, buy_credits):
    buy_credits(account, "5", when=timezone.now() - timedelta(days=400))
    with pytest.raises(InsufficientCredit):
        sms(account, "late")
    assert credit(account) == 5_000_000  # the refused charge rolled the expiry back too
    credits_expire()
    assert credit(account) == 0


def test_transfers_both_ways_keep_expiry(account, make_account, buy_credits, admin_actor):
    sub = make_account("Sub", parent=account)
    now = timezone.now()
    old = buy_credits(account, "3", when=now - timedelta(days=200))
    buy_credits(account, "10", when=now - timedelta(days=5))
    transfer = credit_transfer(actor=admin_actor, from_account=account, to_account=sub,
                               amount="4")
    lots = list(CreditLot.objects.filter(account=sub).order_by("expires_at"))
    assert [lot.remaining_micros for lot in lots] == [3_000_000, 1_000_000]
    assert lots[0].expires_at == old.expires_at
    assert lots[0].source_lot_id == old.pk
    assert credit(sub) == 4_000_000
    assert credit(account) == 9_000_000
    back = credit_transfer(actor=admin_actor, from_account=sub, to_account=account,
                           amount="3.5")
    assert credit(sub) == 500_000
    assert credit(account) == 12_500_000
    assert CreditLot.objects.filter(account=account, source_lot__isnull=False).first() \
        .expires_at == old.expires_at
    audits = AuditEntry.objects.filter(action="billing.credit.transfer")
    assert audits.filter(target_id=str(transfer.pk)).count() == 2
    assert audits.filter(target_id=str(back.pk)).count() == 2
    with pytest.raises(InsufficientCredit):
        credit_transfer(actor=admin_actor, from_account=sub, to_account=account, amount="1")
    assert reconcile() == []


def test_transfers_only_within_a_family(account, other_account, admin_actor, buy_credits):
    buy_credits(account, "5")
    with pytest.raises(ValidationFailed):
        credit_transfer(actor=admin_actor, from_account=account, to_account=other_account,
                        amount="1")


def test_subscribers_are_not_blocked_by_balance(account, price_list):
    plan = plan_create(actor=OPERATOR, code="pro", name="Pro", service_kind="messaging",
                       price_list=price_list)
    subscription_create(actor=OPERATOR, account=account, plan=plan,
                        started_at=timezone.now() - timedelta(days=1))
    charge = sms(account, "post-1", segments=3)
    assert charge.record.billing_mode == BillingMode.POSTPAID
    assert charge.record.ledger_entry is None
    assert charge.amount_micros == 135_000
    assert sms(account, "post-1", segments=3).replayed


def test_unpriced_use_is_refused(account, buy_credits):
    buy_credits(account, "5")
    with pytest.raises(NoPriceError):
        usage_charge(account=account, product="voice_minute", quantity=10,
                     destination_country="JP", cause_type="call", cause_id="c",
                     idempotency_key="c")


def test_voice_usage_is_billed_per_started_second(account, buy_credits):
    buy_credits(account, "1")
    charge = usage_charge(account=account, product="voice_minute", quantity=Decimal("61.2"),
                          destination_country="FR", cause_type="callcenter.call",
                          cause_id="call-1", idempotency_key="call-1")
    assert charge.record.billed_quantity == 62
    assert charge.amount_micros == 62 * 200


def test_price_change_changes_the_sms_estimate(account, buy_credits, price_list):
    buy_credits(account, "9")
    assert credit_estimate(account=account, country="FR") == 200
    now = timezone.now()
    with pytest.raises(ValidationFailed):
        price_list_version_create(actor=OPERATOR, price_list=price_list,
                                  effective_from=now + timedelta(days=3),
                                  prices=[{"product": "sms", "country": "FR",
                                           "unit_price": "0.09"}])
    price_list_version_create(actor=OPERATOR, price_list=price_list,
                              effective_from=now + timedelta(days=31),
                              prices=[{"product": "sms", "country": "FR", "unit_price": "0.09"}],
                              message="SMS to France go up.")
    notice = price_list.notices.get()
    assert not notice.short_notice
    assert credit_estimate(account=account, country="FR") == 200
    later = now + timedelta(days=32)
    assert credit_estimate(account=account, country="FR", at=later) == 100
    assert price_quote(account=account, product="sms", quantity=2, destination_country="FR",
                       at=later).amount_micros == 180_000


def test_balance_summary_groups_expiring_amounts_by_day(account, buy_credits):
    when = datetime(2025, 6, 10, 8, tzinfo=UTC)
    buy_credits(account, "5", when=when)
    buy_credits(account, "7", when=when + timedelta(hours=2))
    [summary] = balance_summary(account=account, at=when + timedelta(days=1))
    assert summary["credit_micros"] == summary["usable_micros"] == 12_000_000
    assert summary["expiring"] == [{"usable_until": datetime(2026, 6, 10).date(),
                                    "amount_micros": 12_000_000}]


def test_reconcile_command_detects_tampering(account, buy_credits, capsys):
    buy_credits(account, "5")
    call_command("billing_reconcile")
    from chappe.billing.models import AccountBalance

    AccountBalance.objects.filter(account=account, book="credit").update(balance_micros=1)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("billing_reconcile")


def test_a_refused_charge_leaves_the_callers_transaction_usable(account, buy_credits):
    from django.db import transaction

    buy_credits(account, "1")
    with transaction.atomic():
        sms(account, "inside-1")
        with pytest.raises(InsufficientCredit):
            sms(account, "inside-2", segments=100)
        sms(account, "inside-3")
    assert credit(account) == 1_000_000 - 2 * 45_000
    assert set(UsageRecord.objects.values_list("idempotency_key", flat=True)) == {
        "inside-1", "inside-3"}


def test_price_changes_are_never_retroactive(price_list):
    from chappe.common.errors import Conflict

    with pytest.raises(Conflict):
        price_list_version_create(actor=OPERATOR, price_list=price_list,
                                  effective_from=timezone.now() - timedelta(hours=1),
                                  prices=[{"product": "sms", "unit_price": "0.01"}],
                                  allow_short_notice=True)
