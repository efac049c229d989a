import pytest

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Role
from chappe.agents.services.licences import licences_set
from chappe.agents.services.setup import agent_create
from tests.billing.conftest import price_list  # noqa: F401


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
def licences(admin_actor):
    def grant(count, account=None):
        account = account or admin_actor.account
        return licences_set(actor=admin_actor.on(account), account=account, licences=count)

    return grant


def actor_of(agent) -> Actor:
    return Actor(account=agent.account, user=agent.user)
