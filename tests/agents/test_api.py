"""The agents API: setting up a queue, states and licences through HTTP, roles (C-7) and
the one error shape."""

from chappe.accounts.actor import SYSTEM
from chappe.accounts.roles import Role
from chappe.agents.models import Queue, QueueOverflow
from chappe.callcenter.models import CallFlow
from chappe.callcenter.services import catalogue_number_add, number_buy


def test_a_supervisor_sets_up_skills_agents_and_a_queue(api_for, account, make_user):
    api = api_for(account, Role.SUPERVISOR)
    french = api.post("/api/v1/skills", {"name": "French"}).json()
    assert api.post("/api/v1/skills", {"name": "French"}).json()["error"]["code"] == "conflict"
    user = make_user(account, role=Role.AGENT)
    created = api.post("/api/v1/agents", {"user_id": str(user.pk), "extension": "201",
                                          "skills": [{"skill_id": french["id"], "level": 7}]})
    assert created.status_code == 201
    agent = created.json()
    assert agent["state"] == "logged_out"
    assert agent["skills"] == [{"skill_id": french["id"], "name": "French", "level": 7}]
    assert agent["sip"]["username"]
    assert len(agent["sip"]["password"]) >= 20
    messaging_user = make_user(account, role=Role.MESSAGING_USER)
    refused = api.post("/api/v1/agents", {"user_id": str(messaging_user.pk), "extension": "202"})
    assert refused.json()["error"]["details"]["user"]
    reset = api.post(f"/api/v1/agents/{agent['id']}/sip-password").json()
    assert reset["sip"]["password"] != agent["sip"]["password"]
    backup = api.post("/api/v1/queues", {"name": "Backup"}).json()
    queue = api.post("/api/v1/queues", {
        "name": "Sales", "strategy": "round_robin", "escalation_seconds": 15,
        "members": [{"agent_id": agent["id"], "tier": 2, "position": 1}],
        "skills": [{"skill_id": french["id"], "min_level": 5}],
        "overflows": [{"when": "timeout", "target": "queue", "queue_id": backup["id"]},
                      {"when": "closed", "target": "number", "number": "01 45 00 00 00"},
                      {"when": "no_agent", "target": "voicemail"}],
        "priority_rules": [{"kind": "caller_prefix", "value": "+3361", "priority": 5}]})
    assert queue.status_code == 201, queue.json()
    body = queue.json()
    assert body["members"] == [{"agent_id": agent["id"], "tier": 2, "position": 1}]
    assert {o["when"]: o["number"] for o in body["overflows"]}["closed"] == "+33145000000"
    patched = api.patch(f"/api/v1/queues/{body['id']}", {"strategy": "linear",
                                                         "overflows": []}).json()
    assert (patched["strategy"], patched["overflows"], len(patched["members"])) == \
        ("linear", [], 1)
    assert not QueueOverflow.objects.filter(queue_id=body["id"]).exists()
    unknown = api.post("/api/v1/queues", {"name": "X", "strategy": "loudest"})
    assert unknown.json()["error"]["code"] == "validation_error"


def test_login_beyond_the_licences_answers_409_with_a_clear_message(api_for, account,
                                                                     make_agent, buy_credits):
    admin = api_for(account)
    unfunded = admin.request("put", "/api/v1/licences", {"licences": 1})
    assert (unfunded.status_code, unfunded.json()["error"]["code"]) == (
        402, "insufficient_credit")
    assert admin.get("/api/v1/licences").json()["licences"] == 0
    buy_credits(account, "100")
    assert admin.request("put", "/api/v1/licences", {"licences": 1}).json() == \
        {"licences": 1, "logged_in": 0}
    first, second = make_agent(), make_agent()
    assert admin.post(f"/api/v1/agents/{first.pk}/state",
                      {"state": "available"}).json()["state"] == "available"
    refused = admin.post(f"/api/v1/agents/{second.pk}/state", {"state": "available"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "licences_exhausted"
    assert "licences" in refused.json()["error"]["message"]
    assert admin.get("/api/v1/licences").json() == {"licences": 1, "logged_in": 1}
    events = admin.get("/api/v1/queue-events").json()["items"]
    assert [e["kind"] for e in events] == ["login"]


def test_roles(api_for, account, make_agent):
    agent = make_agent()
    agent_key, supervisor = api_for(account, Role.AGENT), api_for(account, Role.SUPERVISOR)
    messaging = api_for(account, Role.MESSAGING_USER)
    assert agent_key.get("/api/v1/agents").status_code == 403
    assert agent_key.get("/api/v1/pause-reasons").status_code == 200
    # An API key is nobody's own agent profile: only supervisors reach other agents.
    assert agent_key.get(f"/api/v1/agents/{agent.pk}").status_code == 403
    assert supervisor.get(f"/api/v1/agents/{agent.pk}").status_code == 200
    denied = supervisor.request("put", "/api/v1/licences", {"licences": 3})
    assert denied.json()["error"]["code"] == "permission_denied"
    assert messaging.get("/api/v1/queues").status_code == 403


def test_a_number_is_routed_straight_to_a_queue_and_never_to_another_accounts(
        api_for, account, other_account):
    def rent(owner, e164):
        number = catalogue_number_add(e164=e164, number_type="geographic",
                                      monthly_price_micros=0)
        return number_buy(actor=SYSTEM.on(owner), account=owner, number_id=number.pk)

    ours, theirs = rent(account, "+33189000011"), rent(other_account, "+33189000012")
    api = api_for(account, Role.ADMINISTRATOR)
    queue = api.post("/api/v1/queues", {"name": "Support"}).json()
    routed = api.post(f"/api/v1/queues/{queue['id']}/numbers", {"rental_id": str(ours.pk)})
    assert routed.status_code == 200, routed.json()
    flow = CallFlow.objects.get(pk=routed.json()["flow_id"], account=account)
    assert flow.name == "Queue Support"
    assert flow.current.definition["nodes"]["queue"] == {"type": "queue",
                                                         "queue_id": queue["id"]}
    again = api.post(f"/api/v1/queues/{queue['id']}/numbers", {"rental_id": str(ours.pk)})
    assert again.json()["flow_id"] == str(flow.pk)  # the queue's flow, reused
    refused = api.post(f"/api/v1/queues/{queue['id']}/numbers", {"rental_id": str(theirs.pk)})
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.flow_id is None
    agent = api_for(account, Role.AGENT)
    assert agent.post(f"/api/v1/queues/{queue['id']}/numbers",
                      {"rental_id": str(ours.pk)}).status_code == 403


def test_a_queue_has_opening_hours_and_bad_ones_get_the_error_shape(api_for, account):
    api = api_for(account, Role.ADMINISTRATOR)
    hours = {"timezone": "Europe/Paris", "weekly": {"mon": [["09:00", "18:00"]]},
             "holidays": ["2026-12-25"]}
    queue = api.post("/api/v1/queues", {"name": "Office", "hours": hours})
    assert queue.status_code == 201, queue.json()
    assert queue.json()["hours"]["weekly"] == {"mon": [["09:00", "18:00"]]}
    bad = api.patch(f"/api/v1/queues/{queue.json()['id']}",
                    {"hours": {"weekly": {"mon": [["18:00", "09:00"]]}}})
    assert bad.status_code in (400, 422)
    assert bad.json()["error"]["code"] == "validation_error"


def test_a_number_is_routed_straight_to_an_agent_through_a_queue_of_their_own(
        api_for, account, make_agent):
    agent = make_agent()
    number = catalogue_number_add(e164="+33189000013", number_type="geographic",
                                  monthly_price_micros=0)
    rental = number_buy(actor=SYSTEM.on(account), account=account, number_id=number.pk)
    api = api_for(account, Role.ADMINISTRATOR)
    routed = api.post(f"/api/v1/agents/{agent.pk}/numbers", {"rental_id": str(rental.pk)})
    assert routed.status_code == 200, routed.json()
    queue = Queue.objects.get(account=account, name=f"Agent {agent.extension}")
    assert [m.agent_id for m in queue.members.all()] == [agent.pk]
    flow = CallFlow.objects.get(pk=routed.json()["flow_id"])
    assert flow.current.definition["nodes"]["queue"]["queue_id"] == str(queue.pk)
    again = api.post(f"/api/v1/agents/{agent.pk}/numbers", {"rental_id": str(rental.pk)})
    assert again.json()["flow_id"] == str(flow.pk)
    assert Queue.objects.filter(account=account).count() == 1


def test_the_account_manages_its_disposition_codes(api_for, account, other_account):
    """The wrap-up form's list (issue 15): supervisors write it, agents read it; a code
    deleted leaves the calls wrapped up with it as they are."""
    supervisor, agent_key = api_for(account, Role.SUPERVISOR), api_for(account, Role.AGENT)
    created = supervisor.post("/api/v1/wrap-up-codes", {"name": " Sale "})
    assert created.status_code == 201
    assert created.json()["name"] == "Sale"
    again = supervisor.post("/api/v1/wrap-up-codes", {"name": "Sale"})
    assert again.status_code in (400, 409, 422)
    assert agent_key.post("/api/v1/wrap-up-codes", {"name": "Mine"}).status_code == 403
    assert [c["name"] for c in agent_key.get("/api/v1/wrap-up-codes").json()["items"]] == [
        "Sale"]
    assert api_for(other_account, Role.SUPERVISOR).get(
        "/api/v1/wrap-up-codes").json()["items"] == []
    code_id = created.json()["id"]
    assert supervisor.delete(f"/api/v1/wrap-up-codes/{code_id}").status_code == 204
    assert supervisor.get("/api/v1/wrap-up-codes").json()["items"] == []
