"""The web CSV downloads go through chappe.common.csv_export: client text that a
spreadsheet would run comes out with a leading apostrophe, numbers stay numbers."""

import csv
import io
from decimal import Decimal

from django.urls import reverse

from chappe.accounts.actor import SYSTEM
from chappe.messaging.export import MESSAGE_CSV_HEADER
from chappe.messaging.models import Message
from chappe.messaging.services.accept import sms_send

HYPERLINK = '=HYPERLINK("http://evil.example","x")'


def rows_of(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_sms_export_escapes_the_reference_and_the_sender(web, funded_account):
    outcome = sms_send(actor=SYSTEM.on(funded_account), account=funded_account,
                       recipients=["+33600000001"], text="Hello", sender="Chappe",
                       reference=HYPERLINK)
    Message.objects.filter(pk=outcome.recipients[0].message.pk).update(
        sender='=HYPERLINK("x")')
    response = web.get(reverse("web:sms_export"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="sms.csv"'
    [row] = rows_of(response)
    assert list(row) == MESSAGE_CSV_HEADER  # the same columns as the API export
    assert row["reference"] == "'" + HYPERLINK
    assert row["sender"] == "'=HYPERLINK(\"x\")"
    assert row["recipient"] == "+33600000001"
    assert Decimal(row["price"]) == Decimal("0.045")


def test_ledger_export_writes_a_charge_as_a_negative_number(web, funded_account):
    sms_send(actor=SYSTEM.on(funded_account), account=funded_account,
             recipients=["+33600000001"], text="Hello", sender="Chappe")
    rows = rows_of(web.get(reverse("web:ledger_export"), {"reason": "usage"}))
    assert [row["amount"] for row in rows] == ["-0.045000"]
