"""The engine's campaign dialer (chappe.voice.dialer) against the voice carrier simulator
over real SIP and RTP: each test number's outcome reaches the desk, an answered consumer
is bridged to the free agent's phone (a second simulator playing the phone), and with no
agent free the consumer hears the message and is hung up on after the 2-second wait."""

import asyncio
import time

import pytest

from chappe.voice.dialer import AgentOffer, CampaignCall, CampaignDialer
from chappe.voice.flows import Prompt
from chappe.voice.media.prompts import tone
from chappe.voice.registrations import Binding, Registrations
from chappe.voice.simulator import VoiceCarrierSimulator
from chappe.voice.sip.aiosipua_backend import AiosipuaEndpoint, RtpPorts
from chappe.voice.trunking import TrunkGate, TrunkRoute

pytestmark = pytest.mark.slow
MESSAGE = tone(440, 600)  # stands for the rendered "Acme tried to reach you" message


class FakeDesk:
    """The dialer app's side, in memory: one agent, free or not."""

    def __init__(self, agent_free: bool) -> None:
        self.agent_free = agent_free
        self.events: list[tuple] = []
        self.ends: dict[str, object] = {}

    async def calls_due(self):
        return []

    async def agent_for(self, call):
        self.events.append(("asked", call.number, time.monotonic()))
        if not self.agent_free:
            return None
        self.agent_free = False
        return AgentOffer("agent-1", ring_timeout_seconds=5)

    async def agent_answered(self, call, offer):
        self.events.append(("connected", call.number, offer.agent_id))

    async def agent_released(self, call, offer, *, connected, talk_seconds):
        self.events.append(("released", call.number, connected, talk_seconds))
        self.agent_free = True

    async def abandon_prompt(self, call):
        return Prompt(text="Acme a tenté de vous joindre.")

    async def finish(self, call, end):
        self.ends[call.number] = end


def campaign_call(number: str, **fields) -> CampaignCall:
    return CampaignCall(attempt_id=f"a-{number}", campaign_id="c", account_id="acct",
                        number=number, caller_id="+33162000001", **fields)


async def scenario(agent_free: bool, numbers: list[str], *, classify=None, **fields):
    # Port 0: each server takes a free port itself (three ports picked in advance may
    # collide, or be taken before they are bound).
    carrier = VoiceCarrierSimulator("127.0.0.1", 0, rtp_ports=(38200, 38298),
                                    ring_seconds=0.2, no_answer_after=0.5)
    phone = VoiceCarrierSimulator("127.0.0.1", 0, rtp_ports=(38300, 38398), ring_seconds=0.2)
    engine = AiosipuaEndpoint("127.0.0.1", 0, rtp_ports=RtpPorts(38400, 38498))
    for server in (carrier, phone):
        await server.start()
    await engine.start()
    carrier_port, phone_port = carrier.endpoint.port, phone.endpoint.port
    registrations = Registrations()
    registrations.attach(Binding(username="agent1", uri=f"sip:agent1@127.0.0.1:{phone_port}",
                                 expires_at=float("inf"), call_id="r", cseq=1,
                                 source=("127.0.0.1", phone_port), transport="udp",
                                 agent_id="agent-1"))
    desk, records = FakeDesk(agent_free), []

    async def routes(_number):
        return [TrunkRoute(name="sim", host="127.0.0.1", port=carrier_port)]

    async def finish(outcome):
        records.append(outcome)

    async def render(_account, _prompt):
        return MESSAGE

    dialer = CampaignDialer(desk, trunks=engine, phones=engine, registrations=registrations,
                            gate=TrunkGate(), routes=routes, finish=finish, render=render,
                            classify=classify)
    try:
        await asyncio.gather(*(dialer.place(campaign_call(n, **fields)) for n in numbers))
    finally:
        await engine.stop()
        await carrier.stop()
        await phone.stop()
    return desk, records, carrier, phone


def test_outcomes_of_the_test_numbers():
    numbers = ["+33600000102", "+33600000103", "+33600000105"]
    desk, records, _carrier, _phone = asyncio.run(scenario(True, numbers))
    assert {n: e.outcome for n, e in desk.ends.items()} == {
        "+33600000102": "busy", "+33600000103": "no_answer", "+33600000105": "failed"}
    assert sorted(r.disposition for r in records) == ["busy", "failed", "no_answer"]
    assert all(r.direction == "outbound" for r in records)  # rated like any outbound call
    assert not any(event[0] == "asked" for event in desk.events)  # nobody answered


def test_an_answered_consumer_is_bridged_to_the_free_agent():
    # +33600000106 answers, then hangs up after two seconds.
    desk, records, carrier, phone = asyncio.run(scenario(True, ["+33600000106"]))
    end = desk.ends["+33600000106"]
    assert (end.outcome, end.agent_id) == ("answered", "agent-1")
    assert ("connected", "+33600000106", "agent-1") in desk.events
    released = next(e for e in desk.events if e[0] == "released")
    assert released[2] is True
    assert 1 <= released[3] <= 4  # talked about two seconds
    assert [c.callee for c in phone.calls] == ["agent1"]  # the agent's phone rang
    assert phone.calls[0].status == 200
    assert carrier.calls[0].audio_bytes > 0  # the agent's side reached the consumer
    assert records[0].agent_id == "agent-1"
    assert records[0].log.answered_at is not None


def test_no_agent_within_two_seconds_abandons_with_the_message():
    desk, records, carrier, phone = asyncio.run(scenario(False, ["+33600000101"]))
    end = desk.ends["+33600000101"]
    assert end.outcome == "abandoned"
    asked = [e[2] for e in desk.events if e[0] == "asked"]
    assert asked[-1] - asked[0] >= 2.0  # it waited the two seconds for an agent
    assert carrier.calls[0].audio_bytes >= len(MESSAGE) // 2  # heard the message
    assert phone.calls == []
    assert records[0].disposition == "answered"  # a person answered: billed per second


def test_a_detected_machine_gets_the_message_and_no_agent():
    heard = []

    def classify(pcm: bytes) -> str:
        heard.append(len(pcm))
        return "machine"

    # +33600000104: the simulator's answering machine (its greeting, then it records).
    desk, _records, carrier, phone = asyncio.run(scenario(
        True, ["+33600000104"], classify=classify, amd=True, amd_message="Rappelez-nous."))
    assert desk.ends["+33600000104"].outcome == "machine"
    assert heard[0] > 0  # the first seconds of its greeting were listened to
    assert carrier.calls[0].audio_bytes >= len(MESSAGE) // 2  # the message was left
    assert phone.calls == []  # no agent was rung
    assert not any(event[0] == "asked" for event in desk.events)
