"""The operator validates agents per carrier in the back-office (admin actions calling
the services)."""

from django.urls import reverse

from chappe.accounts.actor import SYSTEM
from chappe.audit.models import AuditEntry
from chappe.messaging.rcs.agents import rcs_agent_submit
from chappe.messaging.rcs.models import AgentStatus
from tests.messaging.test_admin import staff  # noqa: F401

CHANGELIST = "admin:messaging_rcsagent_changelist"


def act(client, agent, action, **fields):
    return client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [agent.pk],
                                             "apply": "1", **fields})


def test_the_operator_approves_and_rejects_per_carrier(staff, draft_agent):  # noqa: F811
    agent = rcs_agent_submit(actor=SYSTEM.on(draft_agent.account), agent=draft_agent)
    assert staff.get(reverse(CHANGELIST)).status_code == 200
    act(staff, agent, "reject_for_a_carrier", carrier="sfr", reason="Banner blurry")
    agent.refresh_from_db()
    assert agent.reviews.get(carrier="sfr").reason == "Banner blurry"
    assert agent.status == AgentStatus.PENDING
    act(staff, agent, "approve_for_a_carrier", carrier="orange")
    agent.refresh_from_db()
    assert agent.status == AgentStatus.LAUNCHED
    review = AuditEntry.objects.filter(action="rcs_agent.review").latest("id")
    assert review.actor_label == "ops@operator.example"
    act(staff, agent, "suspend", reason="Complaints")
    agent.refresh_from_db()
    assert (agent.status, agent.status_reason) == (AgentStatus.SUSPENDED, "Complaints")
