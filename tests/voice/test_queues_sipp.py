"""Queues end to end over loopback (C-4): SIPp agents register their phones with the
credentials the agents app gives them, SIPp callers walk an IVR into a queue, and the
engine rings, bridges, skips, overflows and logs as the queue says. Sockets of the test
stand for the RTP ports of the caller and of the agent's phone (named in the SIPp
scenarios' SDP through -key) and see what the bridge relays each way."""

import array
import time
import wave
from datetime import timedelta

from django.utils import timezone

from chappe.accounts.roles import Role
from chappe.agents.acd import State
from chappe.agents.models import Agent, CallbackRequest, QueueEvent
from chappe.agents.services.setup import (
    MemberDraft,
    OverflowDraft,
    PriorityRuleDraft,
    queue_create,
)
from chappe.agents.services.states import agent_state_set
from chappe.callcenter.models import CallRecording, Trunk, Voicemail
from chappe.voice.media.prompts import rms
from tests.agents.conftest import actor_of
from tests.ports import free_port
from tests.voice.sipp_tools import (
    NUMBER,
    PCAPS,
    SIPP_TESTS,
    EngineThread,
    Phone,
    RtpSink,
    pcap_payloads,
    scenario,
    sipp,
    wait_for_records,
)

pytestmark = SIPP_TESTS


def ivr_to(queue) -> dict:
    """A menu whose keys 1 and 2 lead to `queue`, by the branches `support` and `vip`."""
    return {"start": "menu", "nodes": {
        "menu": {"type": "menu", "prompt": {"text": "Tapez 1.", "language": "fr"},
                 "options": {"1": "support", "2": "vip"}, "timeout_seconds": 10},
        "support": {"type": "queue", "queue_id": str(queue.pk)},
        "vip": {"type": "queue", "queue_id": str(queue.pk)}}}


def register(engine, agent, cwd, port):
    result = sipp(engine.port, *scenario("register.xml"), "-au", agent.sip_username, "-ap",
                  agent.sip_password, cwd=cwd, number=agent.sip_username, local_port=port)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert engine.wait_until(
        lambda: engine.engine.registrar.registrations.contacts_of_agent(str(agent.pk)))


def log_in(agent, *, idle_for: int = 0):
    """The agent logs in (available), `idle_for` seconds ago."""
    return agent_state_set(actor=actor_of(agent), account=agent.account, agent=agent,
                           state="available",
                           now=timezone.now() - timedelta(seconds=idle_for))


def events(call_id=None, **filters):
    rows = QueueEvent.objects.filter(**filters).order_by("id")
    if call_id is not None:
        rows = rows.filter(call_id=call_id)
    return [(e.kind, e.agent_id) for e in rows]


def answered_call(account, agent, cwd, *, wait_ms="1500"):
    """A SIPp caller keys 1 into the queue, waits `wait_ms`, talks for 7.3 s to the SIPp
    phone `agent` registered, which echoes what it hears; the inbound call record, the
    agent's leg and the RTP sinks of the caller and the phone."""
    caller_rtp, agent_rtp = RtpSink(), RtpSink(echo=True)
    with EngineThread() as engine:
        phone_port = free_port()
        register(engine, agent, cwd, phone_port)
        phone = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp",
                      str(agent_rtp.port), cwd=cwd, port=phone_port)
        try:
            result = sipp(engine.port, *scenario("queue_caller.xml", cwd, key="1", wait_ms=wait_ms,
                                                 talk_ms="7300"),
                          "-key", "caller_rtp", str(caller_rtp.port), cwd=cwd, timeout=40)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            inbound, leg = wait_for_records(account, 2)
            status, output = phone.finish()
            assert status == 0, output[-2000:]  # the agent's phone got BYE when the caller left
        finally:
            phone.stop()
            caller_rtp.close()
            agent_rtp.close()
    return inbound, leg, caller_rtp, agent_rtp


def transferred_call(engine, account, cwd, caller_rtp, *phones):
    """A SIPp caller keys 1 into the queue, waits 4 s (long enough for an agent to answer
    and transfer it), then talks 7.3 s; the inbound call record and its two legs, once
    `phones` (the transferring agent's, the one taking the call) ended well."""
    try:
        result = sipp(engine.port, *scenario("queue_caller.xml", cwd, key="1", wait_ms="4000",
                                             talk_ms="7300"),
                      "-key", "caller_rtp", str(caller_rtp.port), cwd=cwd, timeout=40)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        inbound, *legs = wait_for_records(account, 3)
        for phone in phones:
            status, output = phone.finish()
            assert status == 0, output[-3000:]
    finally:
        for phone in phones:
            phone.stop()
        caller_rtp.close()
    return inbound, legs


def heard_most(sink, *, share: float) -> bool:
    """Whether `sink` received at least `share` of the caller's recorded speech (PCMA)."""
    sent = pcap_payloads(PCAPS / "g711a.pcap")
    heard = set(sink.payloads(8))
    return sum(p in heard for p in sent) >= share * len(sent)


def test_a_caller_walks_the_ivr_into_the_queue_and_the_longest_idle_agent_answers(
        number_with, data_dir, admin_actor, make_agent, licences):
    account = admin_actor.account
    licences(2)
    idle, busy = make_agent(), make_agent()
    queue = queue_create(actor=admin_actor, account=account,
                         fields={"name": "Support", "strategy": "longest_idle"},
                         members=[MemberDraft(idle.pk), MemberDraft(busy.pk)])
    number_with(ivr_to(queue), account=account)
    log_in(idle, idle_for=600)  # free for ten minutes: longest idle
    log_in(busy, idle_for=5)
    inbound, leg, caller_rtp, agent_rtp = answered_call(account, idle, data_dir)

    # The caller's audio reached the agent's phone and what it sent back reached the caller.
    assert heard_most(agent_rtp, share=0.95)
    assert heard_most(caller_rtp, share=0.9)

    assert inbound.disposition == "answered"
    assert inbound.flow_path == ["menu", "support"]
    assert (inbound.queue_id, inbound.agent_id) == (queue.pk, idle.pk)
    assert inbound.queue_wait_seconds <= 2
    assert leg.parent_id == inbound.pk
    assert (leg.disposition, leg.to_number) == ("answered", f"agent:{idle.pk}")
    # An agent's leg goes to their phone, not through a carrier: never billed.
    assert (leg.direction, leg.billed) == ("internal", False)
    assert 7 <= leg.duration_seconds <= 11  # the talk time
    call_id = inbound.sip_call_id
    assert events(call_id) == [("entered", None), ("offered", idle.pk),
                               ("connected", idle.pk), ("completed", idle.pk)]
    completed = QueueEvent.objects.get(call_id=call_id, kind="completed")
    assert completed.details["talk"] == leg.duration_seconds
    idle.refresh_from_db()
    busy.refresh_from_db()
    assert (idle.state, idle.calls_taken) == (State.WRAP_UP, 1)
    assert busy.state == State.AVAILABLE  # never offered


def test_an_agent_who_lets_it_ring_is_paused_and_the_caller_overflows_to_voicemail(
        number_with, data_dir, admin_actor, make_agent, licences):
    account = admin_actor.account
    licences(1)
    agent = make_agent(max_no_answer=1)
    queue = queue_create(actor=admin_actor, account=account,
                         fields={"name": "Sales", "ring_timeout_seconds": 2,
                                 "max_wait_seconds": 4},
                         members=[MemberDraft(agent.pk)],
                         overflows=[OverflowDraft(when="timeout", target="voicemail")])
    number_with(ivr_to(queue), account=account)
    log_in(agent)
    with EngineThread() as engine:
        phone_port = free_port()
        register(engine, agent, data_dir, phone_port)
        phone = Phone(*scenario("ring_only.xml"), cwd=data_dir, port=phone_port)
        try:
            # Keys 1, waits 6 s (2 s ringing the agent, then the overflow at 4 s), then
            # talks 3 s to the voicemail, hangs up.
            result = sipp(engine.port, *scenario("queue_caller.xml", data_dir, key="1",
                                                 wait_ms="6000", talk_ms="3000"),
                          "-key", "caller_rtp", "9", cwd=data_dir, timeout=30)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            [inbound] = wait_for_records(account, 1)
            status, output = phone.finish()
            assert status == 0, output[-2000:]  # it rang, and was CANCELed at the timeout
        finally:
            phone.stop()

    agent.refresh_from_db()
    assert (agent.state, agent.paused_for_no_answer) == (State.PAUSED, True)
    call_id = inbound.sip_call_id
    assert events(call_id) == [("entered", None), ("offered", agent.pk),
                               ("rang_out", agent.pk), ("overflowed", None)]
    overflowed = QueueEvent.objects.get(call_id=call_id, kind="overflowed")
    assert (overflowed.details["when"], overflowed.details["target"]) == ("timeout",
                                                                          "voicemail")
    assert inbound.disposition == "voicemail"
    assert inbound.flow_path == ["menu", "support", "overflow"]
    assert Voicemail.objects.filter(call=inbound).exists()
    assert Agent.objects.get(pk=agent.pk).state == State.PAUSED


def test_a_caller_who_hangs_up_while_waiting_is_logged_abandoned_with_the_wait(
        number_with, data_dir, admin_actor, make_agent, licences):
    account = admin_actor.account
    queue = queue_create(actor=admin_actor, account=account, fields={"name": "Nobody"},
                         members=[MemberDraft(make_agent().pk)])  # logged out
    number_with(ivr_to(queue), account=account)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("queue_caller.xml", data_dir, key="1", wait_ms="3000",
                                             talk_ms="0"),
                      "-key", "caller_rtp", "9", cwd=data_dir, timeout=30)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        [inbound] = wait_for_records(account, 1)
    assert inbound.disposition == "abandoned"
    assert inbound.queue_id == queue.pk
    abandoned = QueueEvent.objects.get(call_id=inbound.sip_call_id, kind="abandoned")
    assert abandoned.details["position"] == abandoned.details["original_position"] == 1
    assert 2 <= abandoned.details["wait"] <= 5
    assert inbound.queue_wait_seconds == abandoned.details["wait"]



def test_a_recording_queue_tells_the_caller_and_records_both_sides_in_stereo(
        number_with, data_dir, admin_actor, make_agent, licences, api_for):
    account = admin_actor.account
    licences(1)
    agent = make_agent()
    queue = queue_create(actor=admin_actor, account=account,
                         fields={"name": "Recorded", "recording": True},
                         members=[MemberDraft(agent.pk)])
    number_with(ivr_to(queue), account=account)
    log_in(agent)
    # The notice plays before the caller waits: the caller talks once it is over.
    inbound, _leg, caller_rtp, _agent_rtp = answered_call(account, agent, data_dir,
                                                          wait_ms="7000")
    recording = CallRecording.objects.get(call=inbound)
    with wave.open(str(data_dir / recording.path)) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 8000)
        samples = array.array("h", wav.readframes(wav.getnframes()))
    caller_side, agent_side = samples[0::2], samples[1::2]
    assert rms(caller_side.tobytes()) > 0.01
    assert rms(agent_side.tobytes()) > 0.01
    assert 6000 <= recording.duration_ms <= 10_000
    # The caller heard the notice (TTS) before anyone answered.
    assert len(caller_rtp.payloads(8)) > 50 * 3

    api = api_for(account, Role.ADMINISTRATOR)
    listed = api.get(f"/api/v1/calls/{inbound.pk}").json()
    assert listed["recorded"] is True
    audio = api.get(f"/api/v1/calls/{inbound.pk}/recording")
    assert (audio.status_code, audio["Content-Type"]) == (200, "audio/wav")
    assert api.delete(f"/api/v1/calls/{inbound.pk}/recording").status_code == 204
    assert not CallRecording.objects.filter(call=inbound).exists()
    assert api.get(f"/api/v1/calls/{inbound.pk}").json()["recorded"] is False


def test_an_agent_transfers_the_caller_to_another_agent_by_refer(
        number_with, data_dir, admin_actor, make_agent, licences):
    account = admin_actor.account
    licences(2)
    first, second = make_agent(), make_agent()
    queue = queue_create(actor=admin_actor, account=account,
                         fields={"name": "Support", "strategy": "linear"},
                         members=[MemberDraft(first.pk, position=0)])
    number_with(ivr_to(queue), account=account)
    log_in(first)
    log_in(second)
    caller_rtp, second_rtp = RtpSink(), RtpSink(echo=True)
    with EngineThread() as engine:
        first_port, second_port = free_port(), free_port()
        register(engine, first, data_dir, first_port)
        register(engine, second, data_dir, second_port)
        transferring = Phone(*scenario("refer_agent.xml", data_dir, talk_ms="1000",
                                       target=second.extension),
                             cwd=data_dir, port=first_port)
        answering = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp",
                          str(second_rtp.port), cwd=data_dir, port=second_port)
        inbound, legs = transferred_call(engine, account, data_dir, caller_rtp,
                                         transferring, answering)
    second_rtp.close()
    # After the transfer the caller talked with the second agent.
    assert heard_most(second_rtp, share=0.9)
    assert inbound.disposition == "answered"
    assert inbound.agent_id == second.pk
    assert sorted(leg.to_number for leg in legs) == sorted(
        [f"agent:{first.pk}", f"agent:{second.pk}"])
    call_id = inbound.sip_call_id
    assert events(call_id) == [
        ("entered", None), ("offered", first.pk), ("connected", first.pk),
        ("completed", first.pk), ("transferred", None), ("offered", second.pk),
        ("connected", second.pk), ("completed", second.pk)]
    transferred = QueueEvent.objects.get(call_id=call_id, kind="transferred")
    assert transferred.details == {"target": "agent", "to": second.extension,
                                   "by_agent": str(first.pk)}


def test_ring_all_adds_the_next_tier_after_the_escalation_and_the_first_answer_wins(
        number_with, data_dir, admin_actor, make_agent, licences):
    account = admin_actor.account
    licences(2)
    first_tier, second_tier = make_agent(), make_agent()
    queue = queue_create(actor=admin_actor, account=account,
                         fields={"name": "All", "strategy": "ring_all",
                                 "escalation_seconds": 2, "ring_timeout_seconds": 15},
                         members=[MemberDraft(first_tier.pk, tier=1),
                                  MemberDraft(second_tier.pk, tier=2)])
    number_with(ivr_to(queue), account=account)
    log_in(first_tier)
    log_in(second_tier)
    with EngineThread() as engine:
        ringing_port, answering_port = free_port(), free_port()
        register(engine, first_tier, data_dir, ringing_port)
        register(engine, second_tier, data_dir, answering_port)
        ringing = Phone(*scenario("ring_only.xml"), cwd=data_dir, port=ringing_port)
        answering = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp", "9",
                          cwd=data_dir, port=answering_port)
        try:
            result = sipp(engine.port, *scenario("queue_caller.xml", data_dir, key="1",
                                                 wait_ms="5000", talk_ms="1000"),
                          "-key", "caller_rtp", "9", cwd=data_dir, timeout=40)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            [inbound, _leg] = wait_for_records(account, 2)
            for phone in (ringing, answering):  # the first tier's phone CANCELed
                status, output = phone.finish()
                assert status == 0, output[-3000:]
        finally:
            ringing.stop()
            answering.stop()
    call_id = inbound.sip_call_id
    assert inbound.agent_id == second_tier.pk
    offered = {e.agent_id: e.at for e in QueueEvent.objects.filter(call_id=call_id,
                                                                   kind="offered")}
    entered = QueueEvent.objects.get(call_id=call_id, kind="entered").at
    assert (offered[first_tier.pk] - entered).total_seconds() < 1.5  # at once
    assert (offered[second_tier.pk] - entered).total_seconds() >= 2  # after the escalation
    # The first tier's ring was withdrawn, not let ring out: nothing counts against it.
    assert not QueueEvent.objects.filter(agent=first_tier, kind="rang_out").exists()
    first_tier.refresh_from_db()
    assert (first_tier.state, first_tier.no_answer_streak) == (State.AVAILABLE, 0)


def test_a_priority_caller_overtakes_one_who_waited_longer(
        number_with, data_dir, admin_actor, make_agent, licences):
    account = admin_actor.account
    licences(1)
    agent = make_agent()
    queue = queue_create(actor=admin_actor, account=account, fields={"name": "Support"},
                         members=[MemberDraft(agent.pk)],
                         priority_rules=[PriorityRuleDraft("branch", "vip", 10)])
    number_with(ivr_to(queue), account=account)

    def wait_entered(count, timeout=15.0):
        deadline = time.monotonic() + timeout
        while QueueEvent.objects.filter(kind="entered").count() < count:
            assert time.monotonic() < deadline, f"{count} callers never entered"
            time.sleep(0.05)

    with EngineThread() as engine:
        phone_port = free_port()
        register(engine, agent, data_dir, phone_port)
        phone = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp", "9",
                      cwd=data_dir, port=phone_port)
        callers = []
        try:
            for key in ("1", "2"):  # the ordinary caller first, then the VIP branch
                callers.append(sipp_started(engine.port, data_dir, key))
                wait_entered(len(callers))
            log_in(agent)  # the agent arrives: the VIP is offered first
            for caller in callers:
                code, output = caller.finish(timeout=40)
                assert code == 0, output[-2000:]
            status, output = phone.finish()
            assert status == 0, output[-3000:]
        finally:
            for caller in callers:
                caller.stop()
            phone.stop()
    ordinary, vip = (QueueEvent.objects.get(kind="entered", details__branch=branch)
                     for branch in ("support", "vip"))
    assert (ordinary.details["priority"], vip.details["priority"]) == (0, 10)
    first_offer = QueueEvent.objects.filter(kind="offered").order_by("id").first()
    assert first_offer.call_id == vip.call_id
    assert QueueEvent.objects.get(kind="abandoned").call_id == ordinary.call_id


def sipp_started(port, cwd, key):
    """A SIPp caller keying `key` into the queue, waiting there 6 s, running beside the
    test (its Phone-like handle)."""
    return Phone(*scenario("queue_caller.xml", cwd, key=key, wait_ms="6000", talk_ms="500"),
                 "-key", "caller_rtp", "9", "-s", NUMBER.lstrip("+"), f"127.0.0.1:{port}",
                 cwd=cwd)


def test_an_agent_transfers_the_caller_to_an_outside_number_through_a_trunk(
        number_with, data_dir, admin_actor, make_agent, licences, buy_credits):
    account = admin_actor.account
    licences(1)
    buy_credits(account, "10")
    agent = make_agent()
    queue = queue_create(actor=admin_actor, account=account, fields={"name": "Support"},
                         members=[MemberDraft(agent.pk)])
    number_with(ivr_to(queue), account=account)
    log_in(agent)
    caller_rtp, outside_rtp = RtpSink(), RtpSink(echo=True)
    outside = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp",
                    str(outside_rtp.port), cwd=data_dir)
    Trunk.objects.create(name="carrier", host="127.0.0.1", port=outside.port,
                         number_prefixes=["+33"])
    with EngineThread() as engine:
        agent_port = free_port()
        register(engine, agent, data_dir, agent_port)
        transferring = Phone(*scenario("refer_agent.xml", data_dir, talk_ms="1000",
                                       target="0145000000"), cwd=data_dir, port=agent_port)
        inbound, legs = transferred_call(engine, account, data_dir, caller_rtp,
                                         transferring, outside)
    outside_rtp.close()
    assert heard_most(outside_rtp, share=0.9)
    assert inbound.disposition == "answered"
    by_direction = {leg.direction: leg for leg in legs}
    assert by_direction["internal"].to_number == f"agent:{agent.pk}"
    outward = by_direction["outbound"]
    assert (outward.to_number, outward.disposition) == ("+33145000000", "answered")
    assert outward.billed  # through a carrier: charged like a flow's transfer
    transferred = QueueEvent.objects.get(call_id=inbound.sip_call_id, kind="transferred")
    assert transferred.details == {"target": "number", "to": "", "by_agent": str(agent.pk)}


def test_a_caller_who_presses_the_callback_key_leaves_a_request_in_the_queues_order(
        number_with, data_dir, admin_actor, make_agent, api_for):
    account = admin_actor.account
    queue = queue_create(actor=admin_actor, account=account,
                         fields={"name": "Busy", "callback_key": "*"},
                         members=[MemberDraft(make_agent().pk)])  # nobody logged in
    number_with(ivr_to(queue), account=account)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("callback_caller.xml"), "-key", "caller_rtp",
                      "9", cwd=data_dir, timeout=30)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        [inbound] = wait_for_records(account, 1)
    assert inbound.disposition == "callback"
    assert inbound.hangup_cause.startswith("callee_bye")  # the engine said goodbye
    [callback] = CallbackRequest.objects.filter(account=account)
    assert (callback.number, callback.call_id, callback.queue_id) == (
        "+33600000001", inbound.sip_call_id, queue.pk)
    assert QueueEvent.objects.get(call_id=inbound.sip_call_id, kind="callback")
    api = api_for(account, Role.AGENT)
    [listed] = api.get("/api/v1/callbacks").json()["items"]
    assert listed["number"] == "+33600000001"
    done = api.post(f"/api/v1/callbacks/{callback.pk}/done")
    assert done.status_code == 200
    assert api.post(f"/api/v1/callbacks/{callback.pk}/done").json()["error"]["code"] == \
        "already_done"
    assert api.get("/api/v1/callbacks").json()["items"] == []
