"""The agent workspace's parts beyond the calls (issue 15): the agent busy on a call of
their own (no queue call offered meanwhile), the live state the page reads, and the
operator's STUN/TURN servers given to the browser. The browser itself:
tests/e2e/test_softphone.py."""

import json

from django.urls import reverse

from chappe.agents.acd import State
from chappe.agents.desk import QueueDesk
from chappe.agents.models import Agent, PauseReason, QueueEvent
from chappe.agents.services.setup import MemberDraft, queue_create
from chappe.agents.services.states import agent_state_set
from chappe.voice.directory import QueueCall
from tests.agents.conftest import actor_of
from tests.voice.test_queues_sipp import log_in
from tests.web.support import client_for


def _caller(account, queue) -> QueueCall:
    return QueueCall(call_id="call-1", account_id=str(account.pk), queue_id=str(queue.pk),
                     caller="+33600000001", dialled="+33189000077", branch="support")


def test_an_agent_on_a_call_of_their_own_is_busy_and_offered_no_queue_call(
        admin_actor, make_agent, licences):
    account = admin_actor.account
    licences(1)
    agent = make_agent()
    queue = queue_create(actor=admin_actor, account=account, fields={"name": "Support"},
                         members=[MemberDraft(agent.pk)])
    log_in(agent)
    desk = QueueDesk()
    assert desk.own_call(str(agent.pk), busy=True)  # their browser dials out
    assert Agent.objects.get(pk=agent.pk).state == State.ON_CALL
    assert desk.enter(_caller(account, queue)).admitted
    assert desk.tick(str(queue.pk)).offers == []  # busy: not rung, nothing rang out
    assert not QueueEvent.objects.filter(agent=agent, kind__in=["offered", "rang_out"]).exists()
    assert desk.own_call(str(agent.pk), busy=False)  # their call is over
    assert Agent.objects.get(pk=agent.pk).state == State.AVAILABLE
    [offer] = desk.tick(str(queue.pk)).offers
    assert offer.agent_id == str(agent.pk)


def test_a_paused_agent_calling_out_stays_paused_and_a_call_ending_late_moves_nobody(
        admin_actor, make_agent, licences):
    licences(1)
    agent = make_agent()
    log_in(agent)
    agent_state_set(actor=actor_of(agent), account=agent.account, agent=agent, state="paused")
    desk = QueueDesk()
    assert not desk.own_call(str(agent.pk), busy=True)
    assert Agent.objects.get(pk=agent.pk).state == State.PAUSED
    assert not desk.own_call(str(agent.pk), busy=False)
    assert Agent.objects.get(pk=agent.pk).state == State.PAUSED


def test_the_workspace_reads_the_agent_s_state_as_it_changes_elsewhere(
        admin_actor, make_agent, licences):
    licences(1)
    agent = make_agent()
    web = client_for(agent.user)
    url = reverse("web:agent_me_state")
    page = web.get(reverse("web:agent_me")).content.decode()
    assert f'data-url="{url}"' in page
    assert web.get(url).json()["state"] == "logged_out"
    log_in(agent)
    # A supervisor pauses them, with a reason: the page's next read shows it.
    reason = PauseReason.objects.create(account=agent.account, name="Lunch")
    agent_state_set(actor=admin_actor, account=agent.account, agent=agent, state="paused",
                    pause_reason_id=str(reason.pk))
    now = web.get(url).json()
    assert (now["state"], now["label"], now["pause_reason"]) == ("paused", "Paused", "Lunch")
    assert 0 <= now["seconds"] < 60
    # A user who is no agent gets the one error shape.
    other = client_for(admin_actor.user).get(url)
    assert (other.status_code, other.json()["error"]) == (404, "not_found")


def test_the_operator_s_ice_servers_reach_the_browser(admin_actor, make_agent, settings):
    agent = make_agent()
    web = client_for(agent.user)
    page = web.get(reverse("web:agent_me")).content.decode()
    assert '<script id="softphone-ice" type="application/json">[]</script>' in page
    settings.CHAPPE_WEBRTC_ICE_SERVERS = [
        {"urls": "turn:turn.example.org:3478", "username": "u", "credential": "p</script>"}]
    page = web.get(reverse("web:agent_me")).content.decode()
    start = page.index('<script id="softphone-ice" type="application/json">')
    body = page[page.index(">", start) + 1:page.index("</script>", start)]
    assert json.loads(body) == [{"urls": ["turn:turn.example.org:3478"], "username": "u",
                                 "credential": "p</script>"}]
