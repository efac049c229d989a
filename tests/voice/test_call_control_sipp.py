"""The call-control API end to end (C-11; decision 0047): `POST /api/v1/calls` reaches
the voice engine through its command port, rings the agent's SIPp phone, then dials the
customer (a SIPp `uas` behind a trunk); the live call is held, taken off hold and hung up
through the API; the call events arrive signed at a local webhook receiver. A queue's
call is transferred to a number through the API."""

import threading
from decimal import Decimal

from chappe.agents.models import QueueEvent
from chappe.agents.services.setup import MemberDraft, queue_create
from chappe.callcenter.models import CallRecord, Trunk
from chappe.webhooks.models import WebhookEvent, WebhookSettings
from chappe.webhooks.services import webhook_deliver
from tests.ports import free_port
from tests.voice.sipp_tools import (
    SIPP_TESTS,
    EngineThread,
    Phone,
    RtpSink,
    scenario,
    sipp,
    wait_for_records,
)
from tests.voice.test_queues_sipp import ivr_to, log_in, register
from tests.webhooks.test_delivery import receiver_for  # noqa: F401

pytestmark = SIPP_TESTS

ANSWER = {"start": "bye", "nodes": {"bye": {"type": "hangup"}}}


def _wait(engine, check, what):
    assert engine.wait_until(check), what


def test_an_api_call_rings_the_agent_then_the_customer_and_tells_every_step(
        number_with, data_dir, admin_actor, make_agent, buy_credits, api_for, other_account,
        settings, receiver_for):  # noqa: F811
    account = admin_actor.account
    buy_credits(account, Decimal("10"))
    number_with(ANSWER, account=account)  # the account's number: the caller ID
    agent = make_agent()
    receiver = receiver_for()
    WebhookSettings.objects.filter(account=account).update(default_url=receiver.url)
    customer_rtp, agent_rtp = RtpSink(), RtpSink()
    customer = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp",
                     str(customer_rtp.port), cwd=data_dir)
    Trunk.objects.create(name="carrier", host="127.0.0.1", port=customer.port,
                         number_prefixes=["+33"])
    settings.CHAPPE_VOICE_CONTROL_PORT = free_port()
    api, theirs = api_for(account), api_for(other_account)
    agent_phone = None
    try:
        with EngineThread(control=("127.0.0.1", settings.CHAPPE_VOICE_CONTROL_PORT)) as engine:
            phone_port = free_port()
            register(engine, agent, data_dir, phone_port)
            agent_phone = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp",
                                str(agent_rtp.port), cwd=data_dir, port=phone_port)
            response = api.post("/api/v1/calls", {"agent_id": str(agent.pk),
                                                  "number": "06 12 34 56 78"})
            assert response.status_code == 202, response.content
            call_id = response.json()["call_id"]
            live = engine.engine.live.calls
            _wait(engine, lambda: call_id in live, "the call was never bridged")

            # Another account's key names no call of its own: 404, the call goes on.
            path = f"/api/v1/live-calls/{call_id}"
            assert theirs.post(f"{path}/hangup").status_code == 404
            assert api.post("/api/v1/live-calls/api-nothing/hangup").status_code == 404

            # On hold the customer hears music; taken off hold, the bridge again.
            before = len(customer_rtp.packets)
            assert api.post(f"{path}/hold").status_code == 200
            _wait(engine, lambda: len(customer_rtp.packets) > before + 25,
                  "no music on hold reached the customer")
            assert live[call_id].held
            assert api.post(f"{path}/resume").status_code == 200
            assert not live[call_id].held

            assert api.post(f"{path}/hangup").status_code == 200
            _wait(engine, lambda: call_id not in live, "the call was not hung up")
            ended = api.post(f"{path}/hangup")
            assert ended.status_code == 409
            assert ended.json()["error"]["code"] == "call_ended"
            for phone in (agent_phone, customer):  # each got the engine's BYE
                status, output = phone.finish()
                assert status == 0, output[-2000:]
            wait_for_records(account, 2)
    finally:
        for phone in (agent_phone, customer):
            if phone is not None:
                phone.stop()
        customer_rtp.close()
        agent_rtp.close()

    record = CallRecord.objects.get(sip_call_id=call_id)
    assert (record.direction, record.disposition, record.hangup_cause) == (
        "outbound", "answered", "api_hangup")
    assert (record.from_number, record.to_number) == ("+33189000077", "+33612345678")
    assert record.agent_id == agent.pk
    [leg] = CallRecord.objects.filter(parent=record)
    assert (leg.direction, leg.to_number) == ("internal", f"agent:{agent.pk}")

    events = {e.type: e for e in WebhookEvent.objects.filter(account=account)
              if e.type.startswith("call.")}
    assert set(events) == {"call.ringing", "call.answered", "call.ended"}
    assert events["call.ringing"].payload["call_id"] == call_id
    assert events["call.answered"].payload["to"] == "+33612345678"
    assert events["call.ended"].payload["call_id"] == call_id
    for event in events.values():
        webhook_deliver(event_id=str(event.pk))
    assert all(r["valid"] for r in receiver.requests)
    delivered = {body["type"] for body in receiver.accepted.values()}
    assert delivered == {"call.ringing", "call.answered", "call.ended"}


def test_an_api_call_for_an_agent_without_a_phone_is_refused(
        number_with, data_dir, admin_actor, make_agent, api_for, settings):
    account = admin_actor.account
    number_with(ANSWER, account=account)
    agent = make_agent()
    settings.CHAPPE_VOICE_CONTROL_PORT = free_port()
    api = api_for(account)
    with EngineThread(control=("127.0.0.1", settings.CHAPPE_VOICE_CONTROL_PORT)):
        refused = api.post("/api/v1/calls", {"agent_id": str(agent.pk),
                                             "number": "+33612345678"})
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "call_refused"
        bad = api.post("/api/v1/calls", {"agent_id": str(agent.pk), "number": "hello",
                                         "caller_id": "+33100000000"})
        assert bad.status_code == 400
    # No engine listening: 503, in the one error shape.
    gone = api.post("/api/v1/calls", {"agent_id": str(agent.pk), "number": "+33612345678"})
    assert gone.status_code == 503
    assert gone.json()["error"]["code"] == "voice_engine_unavailable"


def test_a_queue_call_is_transferred_to_a_number_through_the_api(
        number_with, data_dir, admin_actor, make_agent, licences, buy_credits, api_for,
        settings):
    account = admin_actor.account
    licences(1)
    buy_credits(account, Decimal("10"))
    agent = make_agent()
    queue = queue_create(actor=admin_actor, account=account, fields={"name": "Support"},
                         members=[MemberDraft(agent.pk)])
    number_with(ivr_to(queue), account=account)
    log_in(agent)
    outside = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp", "9", cwd=data_dir)
    Trunk.objects.create(name="carrier", host="127.0.0.1", port=outside.port,
                         number_prefixes=["+33"])
    settings.CHAPPE_VOICE_CONTROL_PORT = free_port()
    api, caller, agent_phone = api_for(account), {}, None
    try:
        with EngineThread(control=("127.0.0.1", settings.CHAPPE_VOICE_CONTROL_PORT)) as engine:
            phone_port = free_port()
            register(engine, agent, data_dir, phone_port)
            agent_phone = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp", "9",
                                cwd=data_dir, port=phone_port)
            calling = threading.Thread(target=lambda: caller.update(result=sipp(
                engine.port, *scenario("queue_caller.xml", data_dir, key="1",
                                       wait_ms="300", talk_ms="5000"),
                "-key", "caller_rtp", "9", cwd=data_dir, timeout=40)))
            calling.start()
            live = engine.engine.live.calls
            _wait(engine, lambda: live, "the call was never bridged")
            [call_id] = engine.run(_keys(live))
            path = f"/api/v1/live-calls/{call_id}/transfer"
            assert api.post(path, {"queue_id": str(queue.pk), "number": "0612345678"}
                            ).status_code == 400  # one target, not two
            assert api.post(path, {"number": "06 12 34 56 78"}).status_code == 200
            calling.join(40)
            assert caller["result"].returncode == 0, caller["result"].stdout[-2000:]
            inbound, *legs = wait_for_records(account, 3)
            for phone in (agent_phone, outside):
                status, output = phone.finish()
                assert status == 0, output[-2000:]
    finally:
        for phone in (agent_phone, outside):
            if phone is not None:
                phone.stop()

    by_callee = {leg.to_number: leg for leg in legs}
    assert by_callee[f"agent:{agent.pk}"].hangup_cause == "transferred"
    assert by_callee["+33612345678"].disposition == "answered"
    assert QueueEvent.objects.filter(call_id=inbound.sip_call_id, kind="transferred").exists()


async def _keys(live):
    return list(live)
