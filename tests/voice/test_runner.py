"""The call runner on fakes of the engine interface (no SIP, no database): it executes
the interpreter's actions and feeds back events, and the state machine logs every move."""

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chappe.common.throttle import FailureThrottle
from chappe.voice.callstate import CallLog, CallState, IllegalTransition, seconds_between
from chappe.voice.directory import CallTarget
from chappe.voice.flows import flow_parse
from chappe.voice.runner import CallRunner
from chappe.voice.sip.base import FRAME_BYTES
from chappe.voice.trunking import TrunkGate, TrunkRoute
from tests.voice.waiting import until


class FakeLeg:
    codec = "PCMA"

    def __init__(self):
        self.played: list[int] = []
        self.dtmf = None
        self.sink = None
        self.sent: list[bytes] = []
        self.sent_digits = ""
        self.recording = False

    async def play(self, pcm, stop=None):
        self.played.append(len(pcm))
        for _ in range(0, len(pcm), FRAME_BYTES):
            if stop is not None and stop.is_set():
                return False
            await asyncio.sleep(0.001)
        return True

    def set_dtmf_handler(self, handler):
        self.dtmf = handler

    def press(self, digit):
        self.dtmf(digit, 100)

    def set_audio_sink(self, sink):
        self.sink = sink

    def send_audio(self, pcm):
        self.sent.append(pcm)

    def send_dtmf(self, digit, duration_ms):
        self.sent_digits += digit

    def start_recording(self):
        self.recording = True

    def stop_recording(self):
        was, self.recording = self.recording, False
        return b"\x10\x00" * 800 if was else b""

    def stats(self):
        return {"codec": "PCMA", "frames_sent": len(self.played), "late_frames": 0}


class FakeCall:
    def __init__(self):
        self.call_id = "fake-1"
        self.caller, self.callee = "+33600000001", "33189000001"
        self.source = ("127.0.0.1", 5062)
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.leg = FakeLeg()
        self.rejected = None
        self.reject_headers = None
        self.hung_up = False
        self.rang = False
        self.authorization = ""

    def ringing(self):
        self.rang = True

    async def answer(self):
        return self.leg

    def reject(self, status, reason="", headers=None):
        self.rejected = status
        self.reject_headers = headers

    async def hangup(self):
        self.hung_up = True


class FakeDirectory:
    def __init__(self, definition):
        self.target = CallTarget(account_id="acc", e164="+33189000001",
                                 definition=flow_parse(definition) if definition else None)
        self.outcomes = []
        self.missing = definition is False

    async def resolve(self, callee, caller):
        return None if self.missing else self.target

    async def routes(self, e164):
        return [CARRIER]

    async def prompt_pcm(self, target, prompt):
        return b"\x01\x00" * 160 * 3  # 60 ms

    async def finish(self, outcome):
        self.outcomes.append(outcome)


def P(text):
    return {"text": text, "language": "fr"}


CARRIER = TrunkRoute(name="carrier", host="192.0.2.10")


def run(definition, script=None, **kwargs):
    """Run one call; `script(call)` drives the caller side concurrently."""
    call, directory = FakeCall(), FakeDirectory(definition)

    async def main():
        runner = CallRunner(call, directory, **kwargs)
        task = asyncio.create_task(runner.run())
        if script is not None:
            await script(call)
        await asyncio.wait_for(task, 5)
        return runner

    runner = asyncio.run(main())
    return call, directory, runner


MENU = {"start": "m", "nodes": {
    "m": {"type": "menu", "prompt": P("?"), "options": {"1": "t", "2": "v"},
          "timeout_seconds": 1, "max_retries": 1, "on_failure": "bye"},
    "t": {"type": "transfer", "number": "+33612345678", "on_failure": "v"},
    "v": {"type": "voicemail", "beep": False, "max_seconds": 1},
    "bye": {"type": "hangup"}}}


def test_unknown_number_is_rejected_404_without_record():
    call, directory, _ = run(False)
    assert call.rejected == 404
    assert directory.outcomes == []


def test_number_without_flow_is_rejected_480_with_record():
    call, directory, _ = run(None)
    assert call.rejected == 480
    assert directory.outcomes[0].disposition == "rejected"


def test_menu_timeouts_then_failure_branch_hangs_up():
    call, directory, runner = run(MENU)
    [outcome] = directory.outcomes
    assert outcome.state.path == ("m", "bye")
    assert outcome.hangup_cause == "callee_bye:normal"
    assert outcome.disposition == "answered"
    assert call.hung_up
    assert call.rang
    assert [t["to"] for t in runner.log.transitions] == ["answered", "ended"]


def test_a_transfer_without_originator_takes_the_failure_branch():
    async def press_1(call):
        await until(lambda: call.leg.dtmf is not None)  # the menu listens
        call.leg.press("1")

    _call, directory, _ = run(MENU, press_1)
    [outcome] = directory.outcomes
    assert outcome.state.path == ("m", "t", "v")
    assert outcome.disposition == "voicemail"  # recorded until max_seconds
    assert outcome.recording
    assert outcome.hangup_cause == "callee_bye:flow_end"


def test_caller_hangup_while_recording_keeps_the_message():
    async def press_2_then_bye(call):
        await until(lambda: call.leg.dtmf is not None)
        call.leg.press("2")
        await until(lambda: call.leg.recording)
        call.end_reason = "bye"
        call.ended.set()

    _call, directory, _ = run(MENU, press_2_then_bye)
    [outcome] = directory.outcomes
    assert outcome.disposition == "voicemail"
    assert outcome.hangup_cause == "caller_bye"
    assert outcome.recording


def test_a_prompt_that_ends_as_a_digit_stops_it_does_not_cut_the_next_one():
    """The welcome's last frame and a digit typed ahead arrive together: the welcome's
    `prompt_finished` must not end the greeting the digit led to (it would start the
    recording while the greeting plays)."""
    flow = {"start": "w", "nodes": {
        "w": {"type": "play", "prompt": P("Bienvenue"), "next": "m"},
        "m": {"type": "menu", "prompt": P("?"), "options": {"1": "v"}},
        "v": {"type": "voicemail", "greeting": P("Message"), "beep": False,
              "max_seconds": 5}}}

    class HeldLeg(FakeLeg):
        """The first prompt plays until the test lets it end."""

        def __init__(self):
            super().__init__()
            self.first = asyncio.get_running_loop().create_future()

        async def play(self, pcm, stop=None):
            if len(self.played) == 0:
                self.played.append(len(pcm))
                return await self.first
            return await super().play(pcm * 30, stop)  # long enough to be caught playing

    async def script(call):
        await until(lambda: call.leg.played)
        call.leg.first.set_result(True)  # the welcome's last frame went out…
        call.leg.press("1")              # …as the caller keyed 1
        await until(lambda: len(call.leg.played) == 2)  # the greeting plays…
        assert not call.leg.recording    # …and nothing records yet
        call.end_reason = "bye"
        call.ended.set()

    call, directory = FakeCall(), FakeDirectory(flow)

    async def main():
        call.leg = HeldLeg()
        await asyncio.wait_for(asyncio.gather(CallRunner(call, directory).run(), script(call)),
                               5)

    asyncio.run(main())
    [outcome] = directory.outcomes
    assert outcome.state.path == ("w", "m", "v")


def test_cancel_while_ringing():
    async def cancel(call):
        await until(lambda: call.rang)
        call.end_reason = "cancel"
        call.ended.set()

    _call, directory, runner = run(MENU, cancel, answer_after=2)
    [outcome] = directory.outcomes
    assert outcome.disposition == "canceled"
    assert outcome.hangup_cause == "cancel"
    assert runner.log.answered_at is None


def test_a_looping_flow_ends_at_the_maximum_duration():
    looping = {"start": "a", "nodes": {"a": {"type": "play", "prompt": P("a"), "next": "b"},
                                       "b": {"type": "play", "prompt": P("b"), "next": "a"}}}
    _call, directory, _ = run(looping, max_call_seconds=0.3)
    [outcome] = directory.outcomes
    assert outcome.hangup_cause == "callee_bye:max_duration"
    assert len(outcome.state.path) > 4


def test_an_engine_error_ends_the_call_and_is_recorded():
    class Broken(FakeDirectory):
        async def prompt_pcm(self, target, prompt):
            raise RuntimeError("espeak-ng vanished")

    call, directory = FakeCall(), Broken(MENU)

    async def main():
        await CallRunner(call, directory).run()

    asyncio.run(main())
    [outcome] = directory.outcomes
    assert outcome.disposition == "failed"
    assert call.hung_up


def test_the_state_machine_refuses_illegal_moves():
    log = CallLog("x")
    log.move(CallState.ANSWERED, "ok")
    with pytest.raises(IllegalTransition):
        log.move(CallState.RINGING)
    log.move(CallState.BRIDGED, "transfer")
    log.move(CallState.TRANSFERRED, "connected")
    log.move(CallState.ENDED, "bye")
    with pytest.raises(IllegalTransition):
        log.move(CallState.ANSWERED)
    assert [t["to"] for t in log.transitions] == ["answered", "bridged", "transferred", "ended"]
    assert log.answered_at is not None
    assert log.ended_at is not None


def test_seconds_between_counts_every_started_second():
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))
    assert seconds_between(start, start) == 0
    assert seconds_between(start, start + timedelta(milliseconds=1)) == 1
    assert seconds_between(start, start + timedelta(seconds=60)) == 60
    assert seconds_between(start, start + timedelta(seconds=60, microseconds=1)) == 61
    assert seconds_between(None, start) == 0


def with_trunk(directory, trunk):
    directory.target = CallTarget(account_id="acc", e164="+33189000001",
                                  definition=directory.target.definition, trunk=trunk)


def test_trunk_source_addresses_are_enforced():
    call, directory = FakeCall(), FakeDirectory(MENU)
    with_trunk(directory, TrunkRoute(name="carrier", host="192.0.2.10",
                                     allowed_ips=("192.0.2.10",)))
    asyncio.run(CallRunner(call, directory).run())
    assert call.rejected == 403
    assert directory.outcomes == []


def test_trunk_concurrent_call_cap_answers_503():
    call, directory = FakeCall(), FakeDirectory(MENU)
    trunk = TrunkRoute(name="carrier", host="192.0.2.10", max_concurrent_calls=2)
    with_trunk(directory, trunk)
    gate = TrunkGate()
    assert gate.admit(trunk, 0) == gate.admit(trunk, 0) == ""
    asyncio.run(CallRunner(call, directory, gate=gate).run())
    assert call.rejected == 503
    assert directory.outcomes[0].hangup_cause == "rejected_503"
    assert gate.in_progress("carrier") == 2
    # Below the cap the call goes through and the counter comes back down.
    gate.release("carrier")
    call, directory.outcomes = FakeCall(), []
    asyncio.run(CallRunner(call, directory, gate=gate).run())
    assert call.rejected is None
    assert gate.in_progress("carrier") == 1


def test_trunk_calls_per_second_cap_answers_503():
    trunk = TrunkRoute(name="carrier", host="192.0.2.10", calls_per_second=2)
    gate, now = TrunkGate(), [100.0]
    rejected = []
    for _ in range(3):
        call, directory = FakeCall(), FakeDirectory(MENU)
        with_trunk(directory, trunk)
        asyncio.run(CallRunner(call, directory, gate=gate, clock=lambda: now[0]).run())
        rejected.append(call.rejected)
    assert rejected == [None, None, 503]
    now[0] += 0.5  # one token back
    call = FakeCall()
    asyncio.run(CallRunner(call, directory, gate=gate, clock=lambda: now[0]).run())
    assert call.rejected is None


def test_trunk_digest_credentials_are_challenged_then_checked():
    from aiosipua.auth import SipDigestAuth, build_credentials
    from aiosipua.headers import parse_auth, stringify_auth

    trunk = TrunkRoute(name="carrier", host="192.0.2.10", inbound_username="carrier",
                       inbound_password="s3cret")
    call, directory = FakeCall(), FakeDirectory(MENU)
    with_trunk(directory, trunk)
    asyncio.run(CallRunner(call, directory, auth_secret=b"k").run())
    assert call.rejected == 401
    challenge = parse_auth(call.reject_headers["WWW-Authenticate"])
    assert challenge.params["realm"] == "chappe"
    assert directory.outcomes == []

    def answered(password):
        credentials = build_credentials(SipDigestAuth("carrier", password), challenge,
                                        "INVITE", "sip:33189000001@127.0.0.1")
        call = FakeCall()
        call.authorization = stringify_auth(credentials)
        asyncio.run(CallRunner(call, directory, auth_secret=b"k").run())
        return call

    assert answered("wrong").rejected == 403
    assert answered("s3cret").rejected is None
    assert directory.outcomes[-1].disposition == "answered"


def test_failed_trunk_authentications_are_throttled_per_source_address():
    """The engine's throttle counts a trunk's wrong answers like phones' (shared with the
    registrar): past its limit the address is refused 503 without a credential check."""
    from aiosipua.auth import SipDigestAuth, build_credentials
    from aiosipua.headers import parse_auth, stringify_auth

    trunk = TrunkRoute(name="carrier", host="192.0.2.10", inbound_username="carrier",
                       inbound_password="s3cret")
    directory = FakeDirectory(MENU)
    with_trunk(directory, trunk)
    throttle = FailureThrottle(free=2, base=60, clock=lambda: 0.0)

    challenged = FakeCall()
    asyncio.run(CallRunner(challenged, directory, auth_secret=b"k", throttle=throttle).run())
    challenge = parse_auth(challenged.reject_headers["WWW-Authenticate"])

    def answered(password):
        call = FakeCall()
        call.authorization = stringify_auth(build_credentials(
            SipDigestAuth("carrier", password), challenge, "INVITE", "sip:x@127.0.0.1"))
        asyncio.run(CallRunner(call, directory, auth_secret=b"k", throttle=throttle).run())
        return call

    assert answered("guess").rejected == 403
    assert answered("guess").rejected == 403
    refused = answered("s3cret")  # right, but too late: no credential check now
    assert (refused.rejected, refused.reject_headers) == (503, {"Retry-After": "60"})
    assert throttle.failures("127.0.0.1") == 2


class FakeOutbound:
    def __init__(self):
        self.call_id = "b-leg-1"
        self.leg = FakeLeg()
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.hung_up = False

    async def hangup(self):
        self.hung_up = True


class FakeOriginator:
    def __init__(self, *results):
        self.results = list(results)
        self.calls = []

    async def originate(self, **kwargs):
        self.calls.append(kwargs)
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


TRANSFER = {"start": "t", "nodes": {
    "t": {"type": "transfer", "number": "+33612345678", "on_failure": "sorry"},
    "sorry": {"type": "hangup", "prompt": P("Désolé.")}}}


def test_a_transfer_bridges_the_legs_until_the_callee_hangs_up():
    b_leg = FakeOutbound()

    async def talk(call):
        await until(lambda: call.leg.sink is not None and b_leg.leg.sink is not None)
        call.leg.sink(b"\x01\x00" * 160)  # the caller speaks
        b_leg.leg.sink(b"\x02\x00" * 160)  # the callee answers
        call.leg.press("5")
        b_leg.end_reason = "bye"
        b_leg.ended.set()

    originator = FakeOriginator(b_leg)
    call, directory = FakeCall(), FakeDirectory(TRANSFER)
    gate = TrunkGate()

    async def main():
        runner = CallRunner(call, directory, originator=originator, gate=gate)
        task = asyncio.create_task(runner.run())
        await talk(call)
        await asyncio.wait_for(task, 5)
        return runner

    runner = asyncio.run(main())
    assert originator.calls[0]["callee"] == "33612345678"
    assert originator.calls[0]["remote"] == ("192.0.2.10", 5060)
    assert b_leg.leg.sent == [b"\x01\x00" * 160]
    assert call.leg.sent == [b"\x02\x00" * 160]
    assert b_leg.leg.sent_digits == "5"
    [outcome] = directory.outcomes
    assert outcome.disposition == "transferred"
    assert outcome.hangup_cause == "callee_bye:transfer_ended"
    assert [t["to"] for t in runner.log.transitions] == ["answered", "bridged", "transferred",
                                                         "ended"]
    [leg] = outcome.legs
    assert (leg.disposition, leg.hangup_cause) == ("answered", "callee_bye")
    assert leg.callee == "+33612345678"
    assert leg.caller == "+33189000001"
    assert [t["to"] for t in leg.log.transitions] == ["answered", "ended"]
    assert leg.media["frames_to_callee"] == leg.media["frames_to_caller"] == 1
    assert gate.in_progress("carrier") == 0


def test_a_caller_hangup_during_a_transfer_hangs_up_the_callee():
    b_leg = FakeOutbound()

    async def hang_up(call):
        await until(lambda: b_leg.leg.sink is not None)  # bridged
        call.end_reason = "bye"
        call.ended.set()

    call, directory = FakeCall(), FakeDirectory(TRANSFER)

    async def main():
        task = asyncio.create_task(CallRunner(call, directory,
                                              originator=FakeOriginator(b_leg)).run())
        await hang_up(call)
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert b_leg.hung_up
    [outcome] = directory.outcomes
    assert (outcome.disposition, outcome.hangup_cause) == ("transferred", "caller_bye")
    assert outcome.legs[0].hangup_cause == "caller_bye:caller_hangup"


def test_a_busy_callee_takes_the_failure_branch():
    from chappe.voice.sip.base import OutboundFailed

    call, directory = FakeCall(), FakeDirectory(TRANSFER)
    originator = FakeOriginator(OutboundFailed(486, "Busy Here"))
    asyncio.run(CallRunner(call, directory, originator=originator).run())
    [outcome] = directory.outcomes
    assert outcome.state.path == ("t", "sorry")
    assert outcome.disposition == "answered"
    [leg] = outcome.legs
    assert (leg.disposition, leg.hangup_cause) == ("busy", "sip_486")
    assert leg.log.answered_at is None


def test_a_caller_hangup_while_the_callee_rings_cancels_the_b_leg():
    ringing = asyncio.Event()

    class Ringing(FakeOriginator):
        async def originate(self, **kwargs):
            ringing.set()
            await asyncio.sleep(10)  # cancelled: the real endpoint CANCELs the INVITE

    call, directory, gate = FakeCall(), FakeDirectory(TRANSFER), TrunkGate()

    async def main():
        task = asyncio.create_task(CallRunner(call, directory, originator=Ringing(),
                                              gate=gate).run())
        await ringing.wait()
        call.end_reason = "bye"
        call.ended.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    [outcome] = directory.outcomes
    assert outcome.disposition == "abandoned"
    [leg] = outcome.legs
    assert (leg.disposition, leg.hangup_cause) == ("canceled", "caller_cancel:caller_hangup")
    assert [t["to"] for t in leg.log.transitions] == ["ended"]
    assert gate.in_progress("carrier") == 0


def test_rtp_ports_held_by_another_program_are_skipped():
    import socket

    from chappe.voice.sip.aiosipua_backend import RtpPorts

    ports = RtpPorts(31000, 31998)
    first = ports.take()
    ports.give_back(first)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind(("127.0.0.1", first))  # another program takes our next port
        assert ports.take() != first
