"""Declarations: required fields and SIRET, export, end and quarantine."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chappe.accounts.actor import SYSTEM
from chappe.callcenter.models import PhoneNumber
from chappe.common.errors import ValidationFailed
from chappe.time2chat.models import Declaration
from chappe.time2chat.services import (
    siret_valid,
    t2c_declaration_end,
    t2c_declarations_csv,
    t2c_declare,
    t2c_quarantine_release,
)
from tests.time2chat.conftest import DECLARATION, NUMBER, SIRET

PARIS = ZoneInfo("Europe/Paris")


def test_siret_check():
    assert siret_valid(SIRET)
    assert not siret_valid("73282932000075")
    assert not siret_valid("1234")


def test_a_declaration_needs_every_field(t2c_rental):
    account = t2c_rental.account
    with pytest.raises(ValidationFailed) as refused:
        t2c_declare(actor=SYSTEM.on(account), account=account, rental_id=t2c_rental.pk,
                    **{**DECLARATION, "siret": "123", "contact_email": "", "usage": " "})
    assert set(refused.value.details) == {"siret", "contact_email", "usage"}


def test_declarations_export_as_csv(declaration):
    rows = t2c_declarations_csv(Declaration.objects.all()).splitlines()
    assert rows[0].startswith("number,client_name,siret")
    assert rows[1].startswith(f"{NUMBER},Acme SAS,{SIRET},Delivery follow-up,Martin,Lea")


def test_an_ended_number_is_reassignable_after_its_quarantine(declaration, settings):
    settings.CHAPPE_T2C_QUARANTINE_DAYS = 90
    account = declaration.account
    ended = datetime(2026, 3, 1, 12, 0, tzinfo=PARIS)
    t2c_declaration_end(actor=SYSTEM.on(account), account=account,
                        declaration_id=declaration.pk, now=ended)
    assert PhoneNumber.objects.get(e164=NUMBER).status == "withdrawn"
    assert t2c_quarantine_release(now=ended + timedelta(days=89)) == 0
    assert t2c_quarantine_release(now=ended + timedelta(days=90)) == 1
    assert PhoneNumber.objects.get(e164=NUMBER).status == "available"
