"""RFC 3261 / 4028 behaviour in a call, against SIPp: OPTIONS, mid-call offers (re-INVITE,
UPDATE) answered with our SDP while the media keeps running, and session timers, with
either side refreshing, a refresh that never comes, and an interval below our minimum."""

import pytest

from tests.voice.sipp_tools import (
    SIPP_TESTS,
    EngineThread,
    RtpSink,
    scenario,
    sipp,
    wait_for_records,
)

pytestmark = SIPP_TESTS

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


def invite(port: int, local: int, *, cseq: int = 1, method: str = "INVITE",
           to_tag: str = "") -> bytes:
    body = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {local + 2} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n")
    if method != "INVITE":
        body = ""
    return (f"{method} sip:33189000077@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-{method}-{cseq}\r\n"
            f"From: <sip:+33600000001@127.0.0.1:{local}>;tag=caller\r\n"
            f"To: <sip:33189000077@127.0.0.1:{port}>{to_tag}\r\n"
            f"Call-ID: retransmitted@127.0.0.1\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:caller@127.0.0.1:{local}>\r\nMax-Forwards: 70\r\n"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def test_a_retransmitted_invite_gets_our_last_response_again(number_with):
    """Before the answer (180) and after it (200, same tag): the call stays one call, its
    ACK and BYE still match (aiosipua alone made it a second call, then a re-INVITE)."""
    import re
    import socket

    account = number_with(MENU)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3)
    local = sock.getsockname()[1]

    def responses_until(status: int) -> list[bytes]:
        got = []
        while not got or not got[-1].startswith(f"SIP/2.0 {status}".encode()):
            got.append(sock.recv(65535))
            assert not re.match(rb"SIP/2.0 [3-6]", got[-1]), got[-1][:200]
        return got

    try:
        with EngineThread(answer_after=1.0) as engine:
            sock.sendto(invite(engine.port, local), ("127.0.0.1", engine.port))
            responses_until(180)
            sock.sendto(invite(engine.port, local), ("127.0.0.1", engine.port))
            assert responses_until(180)[-1].startswith(b"SIP/2.0 180")
            first_200 = responses_until(200)[-1]
            sock.sendto(invite(engine.port, local), ("127.0.0.1", engine.port))
            second_200 = responses_until(200)[-1]
            tag = re.search(rb"To: [^\r]*;tag=([^;\r]+)", first_200).group(1)
            assert re.search(rb"To: [^\r]*;tag=([^;\r]+)", second_200).group(1) == tag
            to_tag = f";tag={tag.decode()}"
            sock.sendto(invite(engine.port, local, method="ACK", to_tag=to_tag),
                        ("127.0.0.1", engine.port))
            sock.sendto(invite(engine.port, local, cseq=2, method="BYE", to_tag=to_tag),
                        ("127.0.0.1", engine.port))
            bye_answer = responses_until(200)[-1]
            assert b"CSeq: 2 BYE" in bye_answer
            [record] = wait_for_records(account)
    finally:
        sock.close()
    assert record.hangup_cause == "caller_bye"
