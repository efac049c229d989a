"""Contact center → Agents, Queues and My agent status in the web app."""

from django.urls import reverse
from django.utils import timezone

from chappe.accounts.roles import Role
from chappe.agents.acd import State
from chappe.agents.models import Agent, CallbackRequest, Queue
from chappe.agents.services.setup import MemberDraft, queue_create
from tests.web.support import client_for


def test_a_supervisor_adds_an_agent_and_sees_their_sip_credentials(admin_actor, make_user):
    account = admin_actor.account
    web = client_for(make_user(account, role=Role.SUPERVISOR))
    user = make_user(account, role=Role.AGENT)
    page = web.get(reverse("web:agents")).content.decode()
    assert user.email in page  # offered in the form
    response = web.post(reverse("web:agents"), {"user": str(user.pk), "extension": "301",
                                                "wrap_up_seconds": 5, "max_no_answer": 2})
    assert response.status_code == 302
    agent = Agent.objects.get(user=user)
    page = web.get(reverse("web:agents")).content.decode()
    assert agent.sip_username in page
    assert agent.sip_password in page
    taken = web.post(reverse("web:agents"), {"user": str(make_user(account).pk),
                                             "extension": "301", "wrap_up_seconds": 5,
                                             "max_no_answer": 2})
    assert "this extension is taken" in taken.content.decode()
    # Licences are the administrator's.
    assert web.post(reverse("web:licences_update"), {"licences": 4}).status_code == 403


def test_an_agent_logs_in_from_their_page_within_the_licences(admin_actor, make_agent,
                                                              licences):
    licences(1)
    mine, other = make_agent(), make_agent()
    web = client_for(mine.user)
    page = web.get(reverse("web:agent_me")).content.decode()
    assert mine.sip_password in page
    web.post(reverse("web:agent_state", args=[mine.pk]), {"state": "available"})
    mine.refresh_from_db()
    assert mine.state == State.AVAILABLE
    # The only licence is taken: the other agent is told why.
    refused = client_for(other.user).post(reverse("web:agent_state", args=[other.pk]),
                                          {"state": "available"}, follow=True)
    assert "licences of this account are in use" in refused.content.decode()
    other.refresh_from_db()
    assert other.state == State.LOGGED_OUT
    # Nor can an agent change a colleague's state, nor see the agents list.
    assert web.post(reverse("web:agent_state", args=[other.pk]),
                    {"state": "available"}).status_code == 403
    assert web.get(reverse("web:agents")).status_code == 403


def test_the_administrator_changes_licences_and_builds_a_queue(admin_actor, make_agent,
                                                               buy_credits):
    web = client_for(admin_actor.user)
    buy_credits(admin_actor.account, "100")
    web.post(reverse("web:licences_update"), {"licences": 3})
    assert "0 of 3 licences in use" in web.get(reverse("web:agents")).content.decode()
    first, second = make_agent(), make_agent()
    response = web.post(reverse("web:queue_new"), {
        "name": "Support", "strategy": "ring_all", "ring_timeout_seconds": 15,
        "escalation_seconds": 20, "max_wait_seconds": 300, "max_length": 0,
        "when_no_agent": "wait", "announce_seconds": 45, "language": "en",
        "hold_audio_id": "", "member": [str(first.pk), str(second.pk)],
        f"tier-{first.pk}": "1", f"tier-{second.pk}": "2"})
    assert response.status_code == 302
    queue = Queue.objects.get(account=admin_actor.account, name="Support")
    assert (queue.announce_seconds, queue.language, queue.hold_audio_id) == (45, "en", None)
    assert sorted((m.agent_id, m.tier) for m in queue.members.all()) == sorted(
        [(first.pk, 1), (second.pk, 2)])
    assert "Support" in web.get(reverse("web:queues")).content.decode()
    edit = web.post(reverse("web:queue_edit", args=[queue.pk]), {
        "name": "Support", "strategy": "linear", "ring_timeout_seconds": 15,
        "escalation_seconds": 20, "max_wait_seconds": 300, "max_length": 0,
        "when_no_agent": "wait", "announce_seconds": 0, "language": "fr",
        "hours": "timezone Europe/Paris\nmon-fri 09:00-12:00 14:00-18:00\nclosed 2026-12-25",
        "member": [str(second.pk)]})
    assert edit.status_code == 302
    queue.refresh_from_db()
    assert queue.strategy == "linear"
    assert queue.hours["weekly"]["wed"] == [["09:00", "12:00"], ["14:00", "18:00"]]
    assert "sat" not in queue.hours["weekly"]
    assert queue.hours["holidays"] == ["2026-12-25"]
    page = web.get(reverse("web:queue_edit", args=[queue.pk])).content.decode()
    assert "fri 09:00-12:00 14:00-18:00" in page  # shown back as it was written
    wrong = web.post(reverse("web:queue_edit", args=[queue.pk]), {
        "name": "Support", "strategy": "linear", "ring_timeout_seconds": 15,
        "escalation_seconds": 20, "max_wait_seconds": 300, "max_length": 0,
        "when_no_agent": "wait", "announce_seconds": 0, "language": "fr",
        "hours": "monday 09:00-18:00", "member": [str(second.pk)]})
    assert wrong.status_code == 200
    assert "is not a day" in wrong.content.decode()
    assert [m.agent_id for m in queue.members.all()] == [second.pk]


def test_an_agent_sees_the_callers_to_call_back_of_their_queues_and_marks_one_done(
        admin_actor, make_agent):
    agent = make_agent()
    ours = queue_create(actor=admin_actor, account=agent.account, fields={"name": "Ours"},
                        members=[MemberDraft(agent.pk)])
    other = queue_create(actor=admin_actor, account=agent.account, fields={"name": "Other"})
    now = timezone.now()
    mine = CallbackRequest.objects.create(account=agent.account, queue=ours, call_id="c1",
                                          number="+33612345678", entered_at=now,
                                          requested_at=now)
    CallbackRequest.objects.create(account=agent.account, queue=other, call_id="c2",
                                   number="+33698765432", entered_at=now, requested_at=now)
    web = client_for(agent.user)
    page = web.get(reverse("web:agent_me")).content.decode()
    assert "+33612345678" in page
    assert "+33698765432" not in page  # not a queue of theirs
    assert "*50" in page
    assert web.post(reverse("web:callback_done", args=[mine.pk])).status_code == 302
    mine.refresh_from_db()
    assert (mine.done_by, mine.done_at is not None) == (agent, True)
    assert "+33612345678" not in web.get(reverse("web:agent_me")).content.decode()
