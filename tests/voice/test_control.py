"""The engine's command port (decision 0047): what a command must be to be run, and
what the registry answers for calls of other accounts and calls that ended; the
supervisor's three-way mix, tick by tick."""

import array
import asyncio
import json

import pytest

from chappe.voice.bridge import Bridge
from chappe.voice.control import CallControl, CommandRefused, LiveCall, LiveCalls, command_line
from chappe.voice.supervision import AGENT, CUSTOMER, SUPERVISOR, Conference, mix

SECRET = b"s3cret"
T = 1_800_000_000


class Leg:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.sink = None

    def set_audio_sink(self, sink) -> None:
        self.sink = sink

    def set_dtmf_handler(self, handler) -> None: ...

    def send_audio(self, pcm) -> None:
        self.sent.append(pcm)

    def send_dtmf(self, digit, duration_ms) -> None: ...


def frame(value: int) -> bytes:
    return array.array("h", [value] * 160).tobytes()


def line(body, *, issued=T, nonce="n1", secret=SECRET) -> dict:
    return json.loads(command_line(secret, body, issued=issued, nonce=nonce))


def control_with(account="acc-a", call_id="c1"):
    calls = LiveCalls()
    legs = (Leg(), Leg())
    agent_call = type("AgentCall", (), {"leg": legs[1]})()
    live = LiveCall(call_id, account, "agent-1", legs[0], agent_call, Bridge(*legs))
    calls.add(live)
    return CallControl(calls, secret=SECRET, wall=lambda: T), live


def test_a_signed_command_is_run_once():
    control, live = control_with()
    body = control.verify(line({"op": "hangup", "account_id": "acc-a", "call_id": "c1"}))
    assert asyncio.run(control.run(body)) == {"call_id": "c1"}
    assert live.cut.is_set()
    with pytest.raises(CommandRefused, match="replayed") as refused:
        control.verify(line({"op": "hangup", "account_id": "acc-a", "call_id": "c1"}))
    assert refused.value.code == "forbidden"


def test_the_list_names_the_account_s_calls_only():
    control, live = control_with()
    live.origin = "api"
    other = LiveCall("c2", "acc-b", "agent-2", Leg(), live.agent_call, live.bridge)
    control.calls.add(other)
    body = control.verify(line({"op": "list", "account_id": "acc-a"}))
    [call] = asyncio.run(control.run(body))["calls"]
    assert (call["call_id"], call["agent_id"], call["origin"]) == ("c1", "agent-1", "api")
    assert call["since"] == live.since
    assert call["held"] is False


@pytest.mark.parametrize("bad", [
    {"secret": b"wrong"}, {"issued": T - 31}, {"issued": T + 31}])
def test_a_forged_or_stale_command_is_refused(bad):
    control, live = control_with()
    command = line({"op": "hangup", "account_id": "acc-a", "call_id": "c1"}, **bad)
    with pytest.raises(CommandRefused) as refused:
        control.verify(command)
    assert refused.value.code == "forbidden"
    assert not live.cut.is_set()


@pytest.mark.parametrize("command", [
    {}, {"type": "command", "issued": "x"},
    {"type": "command", "issued": T, "nonce": "n", "body": "[]", "sig": ""}])
def test_a_malformed_command_is_refused(command):
    control, _live = control_with()
    with pytest.raises(CommandRefused):
        control.verify(command)


def test_another_accounts_call_is_unknown_and_an_ended_one_ended():
    control, live = control_with()
    with pytest.raises(CommandRefused) as theirs:
        asyncio.run(control.run({"op": "hold", "account_id": "acc-b", "call_id": "c1"}))
    assert theirs.value.code == "not_found"
    control.calls.remove(live)
    with pytest.raises(CommandRefused) as ended:
        asyncio.run(control.run({"op": "hangup", "account_id": "acc-a", "call_id": "c1"}))
    assert ended.value.code == "ended"
    with pytest.raises(CommandRefused) as theirs:  # ended, but still not theirs
        asyncio.run(control.run({"op": "hangup", "account_id": "acc-b", "call_id": "c1"}))
    assert theirs.value.code == "not_found"
    with pytest.raises(CommandRefused) as unknown:
        asyncio.run(control.run({"op": "reboot", "account_id": "acc-a"}))
    assert unknown.value.code == "bad_request"


def test_the_ended_calls_remembered_are_bounded():
    calls = LiveCalls(memory=2)
    for n in range(3):
        calls.ended(f"c{n}", "acc-a")
    with pytest.raises(CommandRefused) as forgotten:
        calls.get(account_id="acc-a", call_id="c0")
    assert forgotten.value.code == "not_found"
    with pytest.raises(CommandRefused) as kept:
        calls.get(account_id="acc-a", call_id="c2")
    assert kept.value.code == "ended"


def test_mix_adds_and_clips():
    assert mix([frame(1000), frame(-300)]) == frame(700)
    assert mix([frame(30000), frame(10000)]) == frame(32767)
    assert mix([frame(5)]) == frame(5)


@pytest.mark.parametrize(("mode", "customer_hears", "agent_hears"), [
    ("listen", 20, 10), ("whisper", 20, 13), ("barge", 23, 13)])
def test_each_mode_sends_each_leg_what_it_may_hear(mode, customer_hears, agent_hears):
    legs = (Leg(), Leg(), Leg())
    conference = Conference(legs, mode)
    for leg, value in zip(legs, (10, 20, 3), strict=True):
        leg.set_audio_sink(conference._queues[legs.index(leg)].append)
        leg.sink(frame(value))
    conference.tick()
    assert legs[CUSTOMER].sent == [frame(customer_hears)]
    assert legs[AGENT].sent == [frame(agent_hears)]
    assert legs[SUPERVISOR].sent == [frame(30)]  # both sides, always
    assert conference.heard[SUPERVISOR][CUSTOMER] == (mode == "barge")
    conference.tick()  # nothing queued: nothing sent
    assert len(legs[SUPERVISOR].sent) == 1
