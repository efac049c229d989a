"""Fixtures of the call-campaign tests: an account with a queue of agents, a number in
ARCEP's automated-calling ranges and a mobile number rented, a fresh Bloctel scrub, and
campaigns built through the services."""

from datetime import UTC, datetime

import pytest

from chappe.accounts.actor import SYSTEM
from chappe.agents.services.setup import MemberDraft, queue_create
from chappe.callcenter.services import catalogue_number_add, number_buy
from chappe.dialer import services
from tests.agents.conftest import licences, make_agent  # noqa: F401
from tests.billing.conftest import buy_credits, price_list  # noqa: F401

AUTOMATED_CALLER = "+33162000001"  # ARCEP: reserved for automated calling systems
MOBILE_CALLER = "+33612000001"


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def caller_ids(account):
    actor = SYSTEM.on(account)
    for e164, kind in ((AUTOMATED_CALLER, "geographic"), (MOBILE_CALLER, "mobile")):
        number = catalogue_number_add(e164=e164, number_type=kind, monthly_price_micros=0)
        number_buy(actor=actor, account=account, number_id=number.pk)
    return AUTOMATED_CALLER


@pytest.fixture
def agents(make_agent):  # noqa: F811
    return [make_agent() for _ in range(2)]


@pytest.fixture
def queue(admin_actor, agents):
    return queue_create(actor=admin_actor, account=admin_actor.account,
                        fields={"name": "Outbound"},
                        members=[MemberDraft(agent_id=a.pk) for a in agents])


@pytest.fixture
def scrub(admin_actor, data_dir):
    """`scrub(at, numbers=())`: a Bloctel list imported at `at`."""

    def make(at: datetime, numbers=()):
        data = "".join(f"{n}\n" for n in numbers).encode() or b"0100000000\n"
        return services.bloctel_import(actor=admin_actor, account=admin_actor.account,
                                       data=data, filename="bloctel.txt", now=at)

    return make


@pytest.fixture
def make_campaign(admin_actor, queue, caller_ids):
    def make(numbers, **fields):
        values = {"name": "Prospects", "caller_id": caller_ids, "mode": "progressive",
                  "numbers": list(numbers), **fields}
        return services.call_campaign_create(actor=admin_actor, account=admin_actor.account,
                                             queue=queue, **values)

    return make


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
