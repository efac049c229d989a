"""Call records kept 10 years from the invoice that billed them (C-10), at the boundary,
with a frozen clock; a record no invoice references is kept; a transfer's legs go
together."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from chappe.billing.models import Invoice, InvoicedUsage, UsageRecord
from chappe.callcenter.call_retention import call_records_expire
from chappe.callcenter.models import CallRecord, Voicemail
from chappe.callcenter.services import call_charge
from tests.billing.conftest import buy_credits, price_list  # noqa: F401

pytestmark = pytest.mark.django_db
ISSUED = datetime.fromisoformat("2026-02-01T09:00:00+01:00")


def call(account, name: str, *, parent=None, billed=True) -> CallRecord:
    answered = datetime.fromisoformat("2026-01-05T10:00:00+01:00")
    record = CallRecord.objects.create(
        account=account, sip_call_id=name, direction="outbound", from_number="+33189000001",
        to_number="+33612345678", started_at=answered, answered_at=answered,
        ended_at=answered + timedelta(seconds=30), parent=parent)
    if billed:
        call_charge(record=record)
    return record


def invoice_of(account, records, *, number: str, issued_at=ISSUED) -> Invoice:
    invoice = Invoice.objects.create(
        account=account, number=number, kind="monthly", service_kind="contact_center",
        issued_at=issued_at, due_at=issued_at, subtotal_micros=0, vat_rate=Decimal("0.2"),
        vat_micros=0, total_micros=0, period_start=issued_at.date())
    for record in records:
        usage = UsageRecord.objects.get(cause_type="callcenter.callrecord",
                                        cause_id=str(record.pk))
        InvoicedUsage.objects.create(usage=usage, invoice=invoice)
    return invoice


@pytest.fixture
def funded(account, buy_credits):  # noqa: F811
    buy_credits(account, Decimal("10"))
    return account


def test_ten_years_after_the_invoice_date_and_not_a_second_before(funded):
    invoiced, alone = call(funded, "a"), call(funded, "b")
    Voicemail.objects.create(account=funded, call=invoiced, path="voice/none.wav")
    invoice_of(funded, [invoiced], number="F-1")
    before = call_records_expire(now=ISSUED + timedelta(days=3652) - timedelta(seconds=1))
    assert before["call_records"] == 0
    assert call_records_expire(now=datetime.fromisoformat("2036-02-01T09:00:00+01:00"),
                               dry_run=True) == {"dry_run": True, "call_records": 1}
    report = call_records_expire(now=datetime.fromisoformat("2036-02-01T09:00:00+01:00"))
    assert (report["call_records"], report["voicemails"]) == (1, 1)
    assert not CallRecord.objects.filter(pk=invoiced.pk).exists()
    # No invoice references it (billed from prepaid credit): kept, however old.
    assert CallRecord.objects.filter(pk=alone.pk).exists()
    assert call_records_expire(now=datetime(2099, 1, 1, tzinfo=ISSUED.tzinfo))[
        "call_records"] == 0


def test_a_parent_stays_while_a_leg_is_kept_and_goes_with_its_legs(funded):
    parent = call(funded, "in", billed=False)
    leg = call(funded, "out", parent=parent)
    invoice_of(funded, [leg], number="F-2")
    later = datetime(2040, 1, 1, tzinfo=ISSUED.tzinfo)
    # The inbound parent has no invoice of its own: kept, so is nothing of it deleted
    # but the leg.
    assert call_records_expire(now=later)["call_records"] == 1
    assert CallRecord.objects.filter(pk=parent.pk).exists()
    assert not CallRecord.objects.filter(pk=leg.pk).exists()
