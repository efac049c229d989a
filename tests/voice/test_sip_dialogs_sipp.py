"""RFC 3261 / 4028 behaviour in a call, against SIPp: OPTIONS, mid-call offers (re-INVITE,
UPDATE) answered with our SDP while the media keeps running, and session timers, with
either side refreshing, a refresh that never comes, and an interval below our minimum."""

import pytest

from chappe.voice.media.prompts import tools_available
from tests.voice.sipp_tools import (
    SIPP,
    EngineThread,
    RtpSink,
    scenario,
    sipp,
    wait_for_records,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SIPP or not tools_available(),
                       reason="sip-tester, espeak-ng and sox are installed by scripts/test"),
]

MIN_SE = 2  # seconds: short timers keep these tests short


def P(text):
    return {"text": text, "language": "fr"}


MENU = {"start": "m", "nodes": {
    "m": {"type": "menu", "options": {"1": "bye"}, "timeout_seconds": 30, "max_retries": 0,
          "prompt": P("Bonjour. Ce menu parle longtemps, pour que le média continue "
                      "pendant que l'appelant déplace son flux. Tapez un pour raccrocher.")},
    "bye": {"type": "hangup", "prompt": P("Au revoir.")}}}


def test_options_is_answered_200_with_allow(number_with, data_dir):
    number_with(MENU)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("options.xml"), cwd=data_dir)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def sdp_answers(data_dir) -> list[str]:
    """The m= lines of the SDP bodies SIPp received (its -trace_msg log)."""
    [log] = data_dir.glob("*_messages.log")
    return [line.strip() for line in log.read_text().splitlines()
            if line.startswith("m=audio")]


@pytest.mark.parametrize("offer", ["reinvite_moves_media.xml", "update_moves_media.xml"])
def test_a_mid_call_offer_is_answered_and_the_media_follows_it(number_with, data_dir,
                                                               offer):
    account = number_with(MENU)
    sink = RtpSink()
    try:
        with EngineThread() as engine:
            result = sipp(engine.port, *scenario(offer), "-key", "sink_rtp", str(sink.port),
                          "-trace_msg", cwd=data_dir)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            [record] = wait_for_records(account)
    finally:
        sink.close()
    # Our answer to the new offer keeps our port and codec: same m= line as the first 200.
    ours = [m for m in sdp_answers(data_dir) if str(sink.port) not in m]
    first_answer, new_answer = ours[1], ours[-1]  # ours[0]: SIPp's own first offer
    assert first_answer == new_answer
    assert first_answer.split()[3:4] == ["8"]  # PCMA
    # The prompt went on, to the address of the new offer; the menu still got the digit.
    assert len(sink.payloads(8)) > 30
    assert record.digits == "1"
    assert record.flow_path == ["m", "bye"]
    assert record.hangup_cause == "callee_bye:normal"


def test_session_refreshes_by_the_caller_keep_the_call_up(number_with, data_dir):
    account = number_with(MENU)
    with EngineThread(min_se=MIN_SE) as engine:
        result = sipp(engine.port, *scenario("session_refresh_uac.xml"), cwd=data_dir)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        [record] = wait_for_records(account)
    # 4.5 s: past the 2.7 s the engine waits for a refresh, so each refresh counted.
    assert record.hangup_cause == "caller_bye"
    assert record.duration_seconds >= 5


def test_a_session_that_is_not_refreshed_is_ended_with_bye(number_with, data_dir):
    account = number_with(MENU)
    with EngineThread(min_se=MIN_SE) as engine:
        result = sipp(engine.port, *scenario("session_expires.xml"), cwd=data_dir)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        [record] = wait_for_records(account)
    assert record.hangup_cause == "session_expired"
    assert 2 <= record.duration_seconds <= 3  # 3 s interval - 1 s (RFC 4028 §10)


def test_the_engine_refreshes_when_the_caller_leaves_it_the_role(number_with, data_dir):
    account = number_with(MENU)
    with EngineThread(min_se=MIN_SE) as engine:
        result = sipp(engine.port, *scenario("session_refresh_uas.xml"), cwd=data_dir)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        [record] = wait_for_records(account)
    assert record.hangup_cause == "caller_bye"


def test_a_session_interval_below_our_minimum_gets_422(number_with, data_dir):
    account = number_with(MENU)
    with EngineThread(min_se=MIN_SE) as engine:
        result = sipp(engine.port, *scenario("session_too_short.xml"), cwd=data_dir)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with pytest.raises(AssertionError):
        wait_for_records(account, timeout=0.5)
