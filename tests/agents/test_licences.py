"""Licences (C-8): the count follows onto the subscription and its next invoice (P-6),
only administrators change it, and concurrent logins never exceed it (PostgreSQL)."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from chappe.accounts.actor import Actor
from chappe.accounts.models import ServiceKind
from chappe.accounts.roles import Role
from chappe.agents.acd import State
from chappe.agents.models import Agent, QueueEvent
from chappe.agents.services.licences import licences_set
from chappe.agents.services.states import agent_state_set
from chappe.audit.models import AuditEntry
from chappe.billing.models import Subscription
from chappe.billing.services import plan_create, subscription_create
from chappe.billing.services.monthly import invoice_monthly_issue
from chappe.common.errors import Conflict, PermissionDenied
from tests.agents.conftest import actor_of
from tests.billing.conftest import OPERATOR
from tests.concurrency import race, skip_unless_postgres


def test_only_administrators_change_licences(account, make_user):
    supervisor = Actor(account=account, user=make_user(account, role=Role.SUPERVISOR))
    with pytest.raises(PermissionDenied):
        licences_set(actor=supervisor, account=account, licences=3)


def test_the_subscription_and_its_next_invoice_follow_the_licences(account, admin_actor,
                                                                    price_list):
    plan = plan_create(actor=OPERATOR, code="cc", name="Contact center",
                       service_kind=ServiceKind.CONTACT_CENTER, price_list=price_list)
    with time_machine.travel(datetime(2026, 3, 1, 8, tzinfo=UTC), tick=False):
        subscription = subscription_create(actor=OPERATOR, account=account, plan=plan,
                                           licences=2)
    with time_machine.travel(datetime(2026, 3, 20, 8, tzinfo=UTC), tick=False):
        licences_set(actor=admin_actor, account=account, licences=5)
    subscription.refresh_from_db()
    assert subscription.licences == 5
    entry = AuditEntry.objects.get(account=account, action="agents.licences.set")
    assert (entry.actor_user, entry.details["from"], entry.details["to"]) == \
        (admin_actor.user, 2, 5)
    invoice = invoice_monthly_issue(account=account, service_kind=ServiceKind.CONTACT_CENTER,
                                    month=date(2026, 3, 1),
                                    now=datetime(2026, 4, 2, tzinfo=UTC))
    licence_line = invoice.lines.get(product="licence")
    assert (licence_line.quantity, licence_line.amount_micros) == ("5", 125_000_000)


def test_without_a_subscription_the_count_is_kept_alone(account, admin_actor):
    assert licences_set(actor=admin_actor, account=account, licences=4).licences == 4
    assert not Subscription.objects.filter(account=account).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_logins_never_exceed_the_licences(make_agent, licences):
    skip_unless_postgres()
    licences(3)
    agents = [make_agent() for _ in range(10)]

    def login(i: int) -> str:
        try:
            agent_state_set(actor=actor_of(agents[i]), account=agents[i].account,
                            agent=agents[i], state="available")
        except Conflict as refused:
            return refused.code
        return "in"

    outcomes = race(len(agents), login)
    assert sorted(outcomes) == ["in"] * 3 + ["licences_exhausted"] * 7
    account = agents[0].account
    assert Agent.objects.filter(account=account).exclude(state=State.LOGGED_OUT).count() == 3
    assert QueueEvent.objects.filter(account=account, kind="login").count() == 3


def test_the_licence_row_starts_from_the_subscription(account, admin_actor, price_list,
                                                      make_agent):
    plan = plan_create(actor=OPERATOR, code="cc", name="Contact center",
                       service_kind=ServiceKind.CONTACT_CENTER, price_list=price_list)
    subscription_create(actor=OPERATOR, account=account, plan=plan, licences=1)
    first, second = make_agent(), make_agent()
    agent_state_set(actor=actor_of(first), account=account, agent=first, state="available")
    with pytest.raises(Conflict, match="All 1 contact-center licences"):
        agent_state_set(actor=actor_of(second), account=account, agent=second,
                        state="available")
