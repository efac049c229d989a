"""The demo's agents: two, as many as its licences, with SIP credentials for their
softphones, made once (a second `chappe up` finds them and says the same)."""

from chappe.agents.acd import State
from chappe.agents.models import Agent
from chappe.agents.services.states import agent_state_set
from chappe.runtime.demo import demo_setup
from tests.agents.conftest import actor_of


def test_the_demo_has_two_agents_who_can_log_in_at_once(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    demo = demo_setup()
    assert [extension for extension, _user, _password in demo.agents] == ["101", "102"]
    assert all(len(password) >= 20 for _ext, _user, password in demo.agents)
    assert demo_setup().agents == demo.agents  # idempotent
    agents = list(Agent.objects.filter(user__account__name="Demo Company"))
    assert len(agents) == 2
    for agent in agents:
        agent_state_set(actor=actor_of(agent), account=agent.account, agent=agent,
                        state="available")
        agent.refresh_from_db()
        assert agent.state == State.AVAILABLE
