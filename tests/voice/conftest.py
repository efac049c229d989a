"""Fixtures of the voice tests: the billing fixtures (a price list in force, paid
credits), the agents' (agents, licences), a data dir per test, and a number of the
operator's catalogue rented by an account and answered by a flow."""

import pytest

from chappe.accounts.actor import SYSTEM
from chappe.callcenter.services import (
    catalogue_number_add,
    flow_create,
    number_assign,
    number_buy,
)
from tests.agents.conftest import licences, make_agent  # noqa: F401
from tests.billing.conftest import buy_credits, price_list  # noqa: F401
from tests.voice.sipp_tools import NUMBER


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def number_with(transactional_db, data_dir, make_account):
    """`number_with(flow definition, trunk=None, account=None)` → the account whose
    number NUMBER answers with that flow (from that carrier trunk)."""

    def make(definition, trunk=None, account=None):
        account = account or make_account("Voice Co")
        actor = SYSTEM.on(account)
        # Free: the rental's billing is not what these tests are about.
        number = catalogue_number_add(e164=NUMBER, number_type="geographic",
                                      monthly_price_micros=0, trunk=trunk)
        rental = number_buy(actor=actor, account=account, number_id=number.pk)
        flow = flow_create(actor=actor, account=account, name="Test", definition=definition)
        number_assign(actor=actor, account=account, rental_id=rental.pk, flow_id=flow.pk)
        return account

    return make
