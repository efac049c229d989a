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


def test_the_demo_can_run_a_call_campaign_at_once(db, settings, tmp_path):
    from chappe.accounts.actor import SYSTEM
    from chappe.accounts.models import Account
    from chappe.agents.models import Queue
    from chappe.dialer.french_rules import automated_caller_id
    from chappe.dialer.services import call_campaign_create
    from chappe.runtime.demo import DEMO_OUTBOUND_QUEUE

    settings.DATA_DIR = tmp_path
    demo_setup()
    demo_setup()  # idempotent
    account = Account.objects.get(name="Demo Company")
    queue = Queue.objects.get(account=account, name=DEMO_OUTBOUND_QUEUE)
    assert queue.members.count() == 2
    campaign = call_campaign_create(actor=SYSTEM.on(account), account=account, queue=queue,
                                    name="Try", caller_id="+33162000001", mode="predictive",
                                    numbers=["+33600000101"])
    assert automated_caller_id(campaign.caller_id)
