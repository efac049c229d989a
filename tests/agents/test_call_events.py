"""Call events as signed webhooks (decision 0042): what an agent's state moves, a caller
entering or abandoning a queue and a finished call write to the webhook outbox, and one
delivered, signed, to a local receiver."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from chappe.agents.models import Queue
from chappe.agents.services.states import (
    agent_call_end,
    agent_connect,
    agent_offer,
    agent_state_set,
    queue_caller_event,
)
from chappe.callcenter.models import CallRecord
from chappe.callcenter.services import call_records_store
from chappe.webhooks.models import WebhookEvent, WebhookSettings
from chappe.webhooks.services import webhook_deliver
from chappe.webhooks.signing import HEADER, verify
from tests.agents.conftest import actor_of
from tests.agents.test_crm import CrmServer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def hooked(account):
    WebhookSettings.objects.update_or_create(account=account,
                                             defaults={"default_url": "https://hooks.example/c"})
    return account


def _types(account):
    return [e.type for e in WebhookEvent.objects.filter(account=account).order_by("created_at",
                                                                                   "id")]


@pytest.mark.django_db
def test_an_answered_queue_call_tells_every_step(hooked, make_agent, licences):
    licences(1)
    account = hooked
    queue = Queue.objects.create(account=account, name="Support")
    agent = make_agent()
    agent_state_set(actor=actor_of(agent), account=account, agent=agent, state="available",
                    now=T0)
    queue_caller_event(account=account, queue=queue, kind="entered", call_id="c1",
                       details={"position": 1, "branch": "menu"}, now=T0)
    agent_offer(account=account, agent=agent, queue=queue, call_id="c1", now=T0)
    agent_connect(account=account, agent=agent, queue=queue, call_id="c1", wait_seconds=4,
                  now=T0 + timedelta(seconds=4))
    agent_call_end(account=account, agent=agent, queue=queue, call_id="c1", talk_seconds=60,
                   now=T0 + timedelta(seconds=64))
    assert _types(account) == [
        "agent.state", "queue.entered", "agent.state", "call.ringing", "agent.state",
        "call.answered", "agent.state"]
    events = {e.type: e for e in WebhookEvent.objects.filter(account=account)}
    assert events["queue.entered"].payload == {
        "call_id": "c1", "queue_id": str(queue.pk), "queue": "Support",
        "at": T0.isoformat(), "position": 1}
    assert events["call.answered"].payload["agent_id"] == str(agent.pk)
    moves = [(e.payload["from"], e.payload["to"]) for e in
             WebhookEvent.objects.filter(account=account, type="agent.state")
             .order_by("created_at", "id")]
    assert moves == [("logged_out", "available"), ("available", "ringing"),
                     ("ringing", "on_call"), ("on_call", "wrap_up")]


@pytest.mark.django_db
def test_an_abandon_and_a_finished_call_with_its_leg(hooked, other_account):
    account = hooked
    queue = Queue.objects.create(account=account, name="Support")
    queue_caller_event(account=account, queue=queue, kind="abandoned", call_id="c2",
                       details={"position": 2, "wait": 31, "cause": "caller_hangup",
                                "original_position": 3}, now=T0)
    parent = CallRecord(account=account, sip_call_id="c2", direction="inbound",
                        from_number="+33612345678", to_number="+33189000001", started_at=T0,
                        answered_at=T0, ended_at=T0 + timedelta(seconds=30),
                        duration_seconds=30, disposition="transferred")
    leg = CallRecord(account=account, sip_call_id="c2-leg", parent=parent,
                     direction="outbound", from_number="+33189000001",
                     to_number="+33698765432", started_at=T0, disposition="no_answer")
    theirs = CallRecord(account=other_account, sip_call_id="c3", direction="inbound",
                        from_number="+33611111111", to_number="+33189000009", started_at=T0)
    call_records_store(records=[parent, leg, theirs])
    abandoned = WebhookEvent.objects.get(account=account, type="queue.abandoned")
    assert abandoned.payload["wait"] == 31
    assert "original_position" not in abandoned.payload
    ended = WebhookEvent.objects.get(account=account, type="call.ended")
    assert ended.payload["id"] == str(parent.pk)
    assert ended.payload["disposition"] == "transferred"
    assert [leg["to"] for leg in ended.payload["legs"]] == ["+33698765432"]
    # No URL for the other account: nothing written for it.
    assert not WebhookEvent.objects.filter(account=other_account).exists()


@pytest.mark.django_db(transaction=True)
def test_a_call_event_arrives_signed(account, settings):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"
    received = []
    server = CrmServer(b"{}")
    try:
        import http.server

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((body, self.headers[HEADER]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        server.httpd.RequestHandlerClass = Receiver
        url = f"http://127.0.0.1:{server.httpd.server_port}/hooks"
        WebhookSettings.objects.update_or_create(account=account, defaults={"default_url": url})
        queue = Queue.objects.create(account=account, name="Support")
        queue_caller_event(account=account, queue=queue, kind="entered", call_id="c9",
                           details={"position": 1}, now=T0)
        event = WebhookEvent.objects.get(account=account, type="queue.entered")
        webhook_deliver(event_id=str(event.pk))
    finally:
        server.close()
    [(body, signature)] = received
    secret = WebhookSettings.objects.get(account=account).secret
    assert verify(secret, body, signature)
    assert json.loads(body)["data"]["call_id"] == "c9"
    event.refresh_from_db()
    assert event.status == "delivered"
