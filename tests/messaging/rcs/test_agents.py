"""The agent workflow: validation per carrier, re-validation after a change,
suspension, and deactivation after 6 months without a send."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from chappe.accounts.actor import SYSTEM
from chappe.audit.models import AuditEntry
from chappe.common.errors import Conflict, PermissionDenied, ValidationFailed
from chappe.messaging.rcs.agents import (
    agents_deactivate_idle,
    rcs_agent_reinstate,
    rcs_agent_review,
    rcs_agent_submit,
    rcs_agent_suspend,
    rcs_agent_update,
)
from chappe.messaging.rcs.models import AgentStatus, RcsAgent
from chappe.webhooks.models import WebhookEvent
from chappe.webhooks.services import webhook_settings_update

PARIS = ZoneInfo("Europe/Paris")


def test_pending_then_launched_by_one_carrier_or_rejected_by_all(draft_agent):
    agent = rcs_agent_submit(actor=SYSTEM.on(draft_agent.account), agent=draft_agent)
    assert agent.status == AgentStatus.PENDING
    for carrier in ("orange", "sfr", "bouygues"):
        agent = rcs_agent_review(actor=SYSTEM, agent=agent, carrier=carrier, approved=False,
                                 reason="Logo unreadable")
    assert agent.status == AgentStatus.PENDING
    agent = rcs_agent_review(actor=SYSTEM, agent=agent, carrier="free", approved=False,
                             reason="Logo unreadable")
    assert agent.status == AgentStatus.REJECTED
    assert "orange: Logo unreadable" in agent.status_reason
    agent = rcs_agent_submit(actor=SYSTEM.on(agent.account), agent=agent)
    agent = rcs_agent_review(actor=SYSTEM, agent=agent, carrier="sfr", approved=True)
    assert agent.status == AgentStatus.LAUNCHED
    assert agent.launched_at is not None


def test_a_rejection_needs_a_reason_and_only_the_operator_reviews(draft_agent, admin_actor):
    agent = rcs_agent_submit(actor=SYSTEM.on(draft_agent.account), agent=draft_agent)
    with pytest.raises(ValidationFailed):
        rcs_agent_review(actor=SYSTEM, agent=agent, carrier="orange", approved=False)
    with pytest.raises(PermissionDenied):
        rcs_agent_review(actor=admin_actor, agent=agent, carrier="orange", approved=True)


def test_a_change_to_a_launched_agent_sends_it_back_to_validation(launched_agent, account):
    webhook_settings_update(actor=SYSTEM.on(account), account=account,
                            default_url="https://hooks.example/chappe")
    agent = rcs_agent_update(actor=SYSTEM.on(account), agent=launched_agent,
                             description="Acme parcels")
    assert agent.status == AgentStatus.PENDING
    assert {r.status for r in agent.reviews.all()} == {"pending"}
    event = WebhookEvent.objects.get(type="rcs_agent.status")
    assert event.payload["status"] == "pending"
    assert AuditEntry.objects.filter(action="rcs_agent.update",
                                     details__revalidation=True).exists()
    unchanged = rcs_agent_update(actor=SYSTEM.on(account), agent=agent,
                                 description="Acme parcels")
    assert unchanged.status == AgentStatus.PENDING
    assert WebhookEvent.objects.filter(type="rcs_agent.status").count() == 1


def test_a_suspended_agent_is_locked_until_reinstated(launched_agent, account):
    agent = rcs_agent_suspend(actor=SYSTEM, agent=launched_agent, reason="Supplier request")
    assert agent.status == AgentStatus.SUSPENDED
    with pytest.raises(Conflict):
        rcs_agent_update(actor=SYSTEM.on(account), agent=agent, description="x")
    agent = rcs_agent_reinstate(actor=SYSTEM, agent=agent)
    assert agent.status == AgentStatus.PENDING


def test_six_months_without_a_send_deactivate_after_a_notice(account, draft_agent):
    launched = datetime(2026, 1, 10, 12, 0, tzinfo=PARIS)
    with time_machine.travel(launched, tick=False):
        agent = rcs_agent_submit(actor=SYSTEM.on(account), agent=draft_agent)
        rcs_agent_review(actor=SYSTEM, agent=agent, carrier="orange", approved=True)
    with time_machine.travel(launched + timedelta(days=140), tick=False):
        assert agents_deactivate_idle() == (0, 0)
    with time_machine.travel(launched + timedelta(days=155), tick=False):
        assert agents_deactivate_idle() == (1, 0)
        assert agents_deactivate_idle() == (0, 0)  # one notice
    with time_machine.travel(launched + timedelta(days=182), tick=False):
        assert agents_deactivate_idle() == (0, 0)
    with time_machine.travel(launched + timedelta(days=183), tick=False):
        assert agents_deactivate_idle() == (0, 1)
    assert RcsAgent.objects.get(pk=agent.pk).status == AgentStatus.DEACTIVATED
    assert AuditEntry.objects.filter(action="rcs_agent.deactivate").exists()


def test_a_send_keeps_an_agent_alive(launched_agent):
    RcsAgent.objects.filter(pk=launched_agent.pk).update(
        launched_at=datetime(2025, 1, 1, tzinfo=PARIS), last_used_at=datetime(
            2026, 6, 1, tzinfo=PARIS))
    with time_machine.travel(datetime(2026, 8, 1, tzinfo=PARIS), tick=False):
        assert agents_deactivate_idle() == (0, 0)
