import pytest

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Role
from chappe.agents.services.licences import licences_set
from chappe.agents.services.setup import agent_create
from tests.billing.conftest import buy_credits, price_list  # noqa: F401


@pytest.fixture
def make_agent(make_user, admin_actor):
    counter = iter(range(100, 1000))

    def make(account=None, role=Role.AGENT, **fields):
        account = account or admin_actor.account
        user = make_user(account, role=role)
        return agent_create(actor=admin_actor.on(account), account=account, user_id=user.pk,
                            extension=str(next(counter)), **fields)

    return make


@pytest.fixture
def licences(admin_actor, request):
    """`licences(count, account=None)`: the account gets `count` licences, paid from
    credit bought for them (no subscription: chappe.agents.services.licence_fees)."""

    buy = request.getfixturevalue("buy_credits")

    def grant(count, account=None):
        account = account or admin_actor.account
        buy(account, str(25 * count + 1))
        return licences_set(actor=admin_actor.on(account), account=account, licences=count)

    return grant


def actor_of(agent) -> Actor:
    return Actor(account=agent.account, user=agent.user)
