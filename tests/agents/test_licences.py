"""Licences (C-8): the count follows onto the subscription and its next invoice (P-6),
only administrators change it, and concurrent logins never exceed it (PostgreSQL)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from chappe.accounts.actor import Actor
from chappe.accounts.models import ServiceKind
from chappe.accounts.roles import Role
from chappe.agents.acd import State
from chappe.agents.models import Agent, QueueEvent
from chappe.agents.selectors import licences_of
from chappe.agents.services.licence_fees import licence_fees_run
from chappe.agents.services.licences import licences_set
from chappe.agents.services.states import agent_state_set
from chappe.audit.models import AuditEntry
from chappe.billing.errors import InsufficientCredit
from chappe.billing.models import FeeCharge, Subscription
from chappe.billing.selectors import balance_summary
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


# --- paid from credit without a subscription (licence_fees) ------------------------------

DAY = datetime(2026, 12, 17, 12, 0, tzinfo=UTC)  # 15 of December's 31 days left, Paris


def usable(account, at):
    return balance_summary(account=account, at=at)[0]["usable_micros"]


def test_without_a_subscription_added_licences_are_paid_from_credit_once_a_month(
        admin_actor, buy_credits):
    account = admin_actor.account
    buy_credits(account, "100", when=DAY - timedelta(days=1))
    with time_machine.travel(DAY, tick=False):
        licences_set(actor=admin_actor, account=account, licences=2)
        # Down to one and back to two within the month: that licence is paid already.
        licences_set(actor=admin_actor, account=account, licences=1)
        licences_set(actor=admin_actor, account=account, licences=2)
    assert not Subscription.objects.filter(account=account).exists()  # none made for it
    fees = FeeCharge.objects.filter(account=account, product="licence")
    assert sorted(f.amount_micros for f in fees) == [12_096_774, 12_096_774]  # 25 € x 15/31
    assert licence_fees_run(now=DAY) == {"renewed": 1, "reduced": 0}  # nothing new
    assert fees.count() == 2
    january = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    assert licence_fees_run(now=january) == {"renewed": 1, "reduced": 0}
    assert sorted(f.amount_micros for f in fees.filter(period_start=date(2027, 1, 1))) == [
        25_000_000, 25_000_000]
    left = usable(account, january)
    assert left == 100_000_000 - 2 * 12_096_774 - 2 * 25_000_000
    # February: the credit pays one licence (25.8 €), not two: the count goes down to one.
    february = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
    assert licence_fees_run(now=february) == {"renewed": 0, "reduced": 1}
    assert licences_of(account=account) == 1
    assert AuditEntry.objects.filter(action="agents.licences.unpaid").exists()


def test_without_credit_adding_licences_is_refused_and_changes_nothing(admin_actor,
                                                                       price_list):
    account = admin_actor.account
    with pytest.raises(InsufficientCredit):
        licences_set(actor=admin_actor, account=account, licences=1)
    assert licences_of(account=account) == 0
    assert not FeeCharge.objects.filter(account=account).exists()
