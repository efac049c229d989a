"""Fines passed on (P-18): recorded by the operator, re-billed in full (exact decimals)
on the client's next monthly invoice, once."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from chappe.accounts.actor import Actor
from chappe.audit.models import AuditEntry
from chappe.billing.models import Fine
from chappe.billing.money import from_micros
from chappe.billing.services.fines import fine_record
from chappe.billing.services.monthly import invoice_run
from chappe.common.errors import PermissionDenied, ValidationFailed

PARIS = ZoneInfo("Europe/Paris")
OPERATOR = Actor(account=None, is_operator=True, ip="192.0.2.9", user_agent="pytest")


def test_a_fine_is_rebilled_on_the_next_invoice_once(account, make_user):
    fine = fine_record(actor=OPERATOR, account=account, imposed_by="Orange",
                       reason="Unregistered sender ID", amount="1234.565", reference="OR-42",
                       imposed_on=date(2027, 3, 2),
                       now=datetime(2027, 3, 10, 12, tzinfo=PARIS))
    assert fine.amount_micros == 1_234_565_000
    assert AuditEntry.objects.filter(action="billing.fine.record", account=account).exists()
    assert invoice_run(month=date(2027, 2, 1), now=datetime(2027, 3, 11, tzinfo=PARIS)) == []
    [invoice] = invoice_run(month=date(2027, 3, 1), now=datetime(2027, 4, 1, 1, tzinfo=PARIS))
    [line] = invoice.lines.all()
    assert line.product == "fine"
    assert "Orange" in line.description
    assert "OR-42" in line.description
    assert from_micros(line.amount_micros) == Decimal("1234.57")  # rounded to cents
    assert from_micros(invoice.subtotal_micros) == Decimal("1234.57")
    fine.refresh_from_db()
    assert fine.invoice == invoice
    assert invoice_run(month=date(2027, 4, 1), now=datetime(2027, 5, 1, 1, tzinfo=PARIS)) == []


def test_only_the_operator_records_a_valid_fine(account, make_user):
    with pytest.raises(PermissionDenied):
        fine_record(actor=Actor(account=account, user=make_user(account)), account=account,
                    imposed_by="ARCEP", reason="x", amount="10", imposed_on=date(2027, 1, 1))
    with pytest.raises(ValidationFailed) as refused:
        fine_record(actor=OPERATOR, account=account, imposed_by=" ", reason="",
                    amount="-5", imposed_on=date(2027, 1, 1))
    assert set(refused.value.details) == {"amount", "imposed_by", "reason"}
    assert not Fine.objects.exists()
