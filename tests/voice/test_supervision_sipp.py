"""A supervisor listens, whispers and barges in on a live queue call (C-6, C-7; issue
16), with SIPp legs: a caller walking into a queue, the agent's phone and the
supervisor's phone, each talking (g711a.pcap) to a socket of the test that keeps what
the engine sends it. A frame one leg alone sent reaches the others unchanged (PCMA both
ways); a mix of two legs is a payload none of them sent."""

import threading

from chappe.accounts.roles import Role
from chappe.agents.services.setup import MemberDraft, queue_create
from tests.ports import free_port
from tests.voice.sipp_tools import (
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
from tests.voice.test_queues_sipp import ivr_to, log_in, register

pytestmark = SIPP_TESTS

CUSTOMER, AGENT, SUPERVISOR = 0, 1, 2


def foreign(sink, since: float, until: float) -> tuple[int, int]:
    """(frames of speech no single leg sent, frames of speech) received in the window:
    the first are mixes."""
    sent = set(pcap_payloads(PCAPS / "g711a.pcap"))
    speech = [p for pt, p, at in sink.packets
              if pt == 8 and since <= at <= until and p.strip(b"\xd5\x55")]
    return sum(p not in sent for p in speech), len(speech)


def test_the_supervisor_hears_both_sides_and_whispers_to_the_agent_alone(
        number_with, data_dir, admin_actor, make_agent, licences, api_for, settings):
    account = admin_actor.account
    licences(2)
    agent, supervisor = make_agent(), make_agent(role=Role.SUPERVISOR)
    queue = queue_create(actor=admin_actor, account=account, fields={"name": "Support"},
                         members=[MemberDraft(agent.pk)])
    number_with(ivr_to(queue), account=account)
    log_in(agent)
    settings.CHAPPE_VOICE_CONTROL_PORT = free_port()
    api = api_for(account, role=Role.SUPERVISOR)
    sinks = [RtpSink(), RtpSink(), RtpSink()]
    phones, caller = [], {}
    try:
        with EngineThread(control=("127.0.0.1", settings.CHAPPE_VOICE_CONTROL_PORT)) as engine:
            for who, sink in ((agent, sinks[AGENT]), (supervisor, sinks[SUPERVISOR])):
                port = free_port()
                register(engine, who, data_dir, port)
                phones.append(Phone(*scenario("talking_phone.xml"), "-key", "callee_rtp",
                                    str(sink.port), cwd=data_dir, port=port))

            def call() -> None:
                caller["result"] = sipp(
                    engine.port, *scenario("queue_caller.xml", data_dir, key="1",
                                           wait_ms="300", talk_ms="8500"),
                    "-key", "caller_rtp", str(sinks[CUSTOMER].port), cwd=data_dir,
                    timeout=40)

            calling = threading.Thread(target=call)
            calling.start()
            live = engine.engine.live.calls
            assert engine.wait_until(lambda: live), "the call was never bridged"
            [(call_id, bridged)] = engine.run(_items(live))
            path = f"/api/v1/live-calls/{call_id}/supervise"
            body = {"mode": "listen", "supervisor_agent_id": str(supervisor.pk)}
            assert api.post(path, body).status_code == 200

            # Listening: the supervisor hears both sides, nobody hears the supervisor.
            assert engine.wait_until(lambda: bridged.conference is not None and min(
                bridged.conference.heard[CUSTOMER][SUPERVISOR],
                bridged.conference.heard[AGENT][SUPERVISOR]) > 25), "nothing heard"
            conference = bridged.conference
            assert conference.heard[SUPERVISOR] == [0, 0, 0]

            # Whispering: the agent hears the supervisor, the customer does not.
            assert api.post(path, {**body, "mode": "whisper"}).json()["mode"] == "whisper"
            assert engine.wait_until(lambda: conference.heard[SUPERVISOR][AGENT] > 50)
            whisper_from = sinks[AGENT].packets[-1][2]
            assert engine.wait_until(lambda: conference.heard[SUPERVISOR][AGENT] > 100)
            whisper_to = sinks[AGENT].packets[-1][2]
            assert conference.heard[SUPERVISOR][CUSTOMER] == 0

            # Barging in: the customer hears the supervisor too.
            assert api.post(path, {**body, "mode": "barge"}).status_code == 200
            assert engine.wait_until(lambda: conference.heard[SUPERVISOR][CUSTOMER] > 50)
            calling.join(40)
            assert caller["result"].returncode == 0, caller["result"].stdout[-2000:]
            wait_for_records(account, 2)
            for phone in phones:  # the supervisor's and the agent's phones got BYE
                status, output = phone.finish()
                assert status == 0, output[-2000:]
    finally:
        for phone in phones:
            phone.stop()
        for sink in sinks:
            sink.close()

    # What the RTP says of the whisper: the agent was sent mixes (the customer and the
    # supervisor), the customer only what the agent said, as sent.
    # (A tick where one leg had no frame queued relays the other's alone, unchanged.)
    mixed, speech = foreign(sinks[AGENT], whisper_from, whisper_to)
    assert speech > 20
    assert mixed >= speech // 5, (mixed, speech)
    mixed, speech = foreign(sinks[CUSTOMER], whisper_from, whisper_to)
    assert speech > 20
    assert mixed == 0, (mixed, speech)
    # The supervisor was sent both sides mixed.
    mixed, speech = foreign(sinks[SUPERVISOR], whisper_from, whisper_to)
    assert speech > 20
    assert mixed >= speech // 5, (mixed, speech)


async def _items(live):
    return list(live.items())
