"""Prepaid monthly fees (`fee_charge`, decision 0019): prorated first month, whole later
months, exactly once per (cause, month), refused without enough credit, reconciled."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chappe.audit.models import AuditEntry
from chappe.billing.errors import InsufficientCredit
from chappe.billing.models import EntryReason, FeeCharge, LedgerEntry
from chappe.billing.rating import Product
from chappe.billing.reconcile import reconcile
from chappe.billing.services import fee_charge, fee_period
from chappe.common.errors import ValidationFailed
from tests.web.support import usable

NOW = datetime(2026, 3, 15, 9, tzinfo=UTC)


def charge(account, month=date(2026, 3, 1), started_on=date(2026, 3, 15), price=2_000_000,
           cause_id="rental-1", now=NOW):
    return fee_charge(account=account, product=Product.NUMBER_RENTAL,
                      cause_type="callcenter.numberrental", cause_id=cause_id,
                      description="+33189000001 (FR, Geographic)", month=month,
                      started_on=started_on, monthly_price_micros=price, currency="EUR",
                      now=now)


def test_fee_period_prorates_only_the_first_month():
    first = fee_period(month=date(2026, 3, 1), started_on=date(2026, 3, 15))
    assert (first.start, first.end, first.days, first.month_days) == (
        date(2026, 3, 15), date(2026, 3, 31), 17, 31)
    later = fee_period(month=date(2026, 4, 20), started_on=date(2026, 3, 15))
    assert (later.start, later.end, later.days, later.month_days) == (
        date(2026, 4, 1), date(2026, 4, 30), 30, 30)
    with pytest.raises(ValidationFailed):
        fee_period(month=date(2026, 2, 1), started_on=date(2026, 3, 15))


def test_first_month_is_prorated_and_debited_once(account, buy_credits):
    buy_credits(account, "10", when=datetime(2026, 3, 1, tzinfo=UTC))
    first = charge(account)
    assert not first.replayed
    # 17 of 31 days of 2.00 EUR, rounded half up to the micro.
    assert first.charge.amount_micros == 1_096_774
    assert (first.charge.period_start, first.charge.period_end) == (date(2026, 3, 15),
                                                                   date(2026, 3, 31))
    again = charge(account)
    assert again.replayed
    assert again.charge.pk == first.charge.pk
    assert FeeCharge.objects.filter(account=account).count() == 1
    entry = LedgerEntry.objects.get(account=account, reason=EntryReason.FEE)
    assert entry.amount_micros == -1_096_774
    assert entry.cause_id == "rental-1"
    assert first.charge.ledger_entry_id == entry.pk
    assert usable(account) == Decimal("8.903226")
    assert AuditEntry.objects.filter(account=account, action="billing.fee.charge").count() == 1
    assert reconcile() == []


def test_later_months_are_whole_and_separate(account, buy_credits):
    buy_credits(account, "10", when=datetime(2026, 3, 1, tzinfo=UTC))
    charge(account)
    april = charge(account, month=date(2026, 4, 1), now=datetime(2026, 4, 1, tzinfo=UTC))
    assert not april.replayed
    assert april.charge.amount_micros == 2_000_000
    assert april.charge.days == april.charge.month_days == 30
    # Another cause in the same month is another fee.
    assert not charge(account, cause_id="rental-2").replayed
    assert FeeCharge.objects.filter(account=account).count() == 3
    assert reconcile() == []


def test_not_enough_credit_refuses_and_writes_nothing(account, buy_credits):
    buy_credits(account, "1", when=datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(InsufficientCredit) as refused:
        charge(account)
    assert refused.value.code == "insufficient_credit"
    assert refused.value.details == {"currency": "EUR", "required": "1.096774",
                                     "available": "1.000000"}
    assert not FeeCharge.objects.exists()
    assert not LedgerEntry.objects.filter(reason=EntryReason.FEE).exists()
    assert usable(account) == Decimal("1")
    assert reconcile() == []


def test_a_free_month_is_recorded_without_a_debit(account, price_list):
    free = charge(account, price=0)
    assert free.charge.amount_micros == 0
    assert free.charge.ledger_entry is None
    assert charge(account, price=0).replayed


def test_only_monthly_fee_products(account, price_list):
    with pytest.raises(ValidationFailed):
        fee_charge(account=account, product=Product.SMS, cause_type="x", cause_id="1",
                   description="", month=date(2026, 3, 1), started_on=date(2026, 3, 1),
                   monthly_price_micros=1, currency="EUR", now=NOW)


def test_fee_records_are_append_only(account, buy_credits):
    buy_credits(account, "10", when=datetime(2026, 3, 1, tzinfo=UTC))
    record = charge(account).charge
    with pytest.raises(ValueError, match="append-only"):
        record.save()
    with pytest.raises(ValueError, match="append-only"):
        record.delete()
