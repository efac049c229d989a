import pytest

from chappe.accounts.actor import SYSTEM
from chappe.callcenter.services import catalogue_number_add, number_buy
from chappe.time2chat.services import t2c_declare
from tests.billing.conftest import buy_credits, price_list  # noqa: F401
from tests.messaging.conftest import funded_account  # noqa: F401

NUMBER = "+33939000001"
# A SIRET passing the Luhn check.
SIRET = "73282932000074"
DECLARATION = {"client_name": "Acme SAS", "siret": SIRET, "usage": "Delivery follow-up",
               "contact_last_name": "Martin", "contact_first_name": "Lea",
               "contact_phone": "+33140000000", "contact_email": "lea@acme.example"}


@pytest.fixture
def t2c_rental(funded_account):  # noqa: F811
    number = catalogue_number_add(e164=NUMBER, number_type="t2c_09",
                                  monthly_price_micros=1_000_000)
    return number_buy(actor=SYSTEM.on(funded_account), account=funded_account,
                      number_id=number.pk)


@pytest.fixture
def declaration(t2c_rental):
    account = t2c_rental.account
    return t2c_declare(actor=SYSTEM.on(account), account=account, rental_id=t2c_rental.pk,
                       **DECLARATION)
