"""The voice engine against SIPp as a real peer (scenarios in tests/voice/sipp/).

The engine runs in this process on its own event loop thread, against the test database;
SIPp runs as a subprocess on 127.0.0.1."""

import socket
import subprocess

from django.conf import settings

from chappe.callcenter.models import Voicemail
from chappe.callcenter.services import DEMO_FLOW
from chappe.voice.media.prompts import rms, wav_pcm
from tests.voice.sipp_tools import (
    NUMBER,
    PCAPS,
    SCENARIOS,
    SIPP,
    SIPP_TESTS,
    EngineThread,
    pcap_payloads,
    scenario,
    wait_for_records,
)
from tests.voice.sipp_tools import sipp as sipp_run

pytestmark = SIPP_TESTS


def P(text):
    return {"text": text, "language": "fr"}


IVR = {"start": "menu", "nodes": {
    "menu": {"type": "menu", "prompt": P("Pour laisser un message, tapez un."),
             "options": {"1": "vm"}, "timeout_seconds": 5, "max_retries": 1},
    "vm": {"type": "voicemail", "beep": True, "max_seconds": 30},
}}
LONG_WELCOME = {"start": "w", "nodes": {
    "w": {"type": "play", "next": "bye",
          "prompt": P("Bonjour et bienvenue. Ce message d'accueil est assez long pour que "
                      "l'appelant raccroche avant la fin.")},
    "bye": {"type": "hangup"}}}
SHORT = {"start": "w", "nodes": {"w": {"type": "play", "prompt": P("Au revoir.")}}}


def sipp(port: int, *args: str, timeout: float = 20, transport: str = "u1"):
    return sipp_run(port, *args, cwd=settings.DATA_DIR, timeout=timeout, transport=transport)


def test_ivr_walked_by_rfc4733_dtmf_reaches_voicemail(number_with):
    account = number_with(IVR)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("ivr_voicemail.xml"))
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        [record] = wait_for_records(account)
    assert record.disposition == "voicemail"
    assert record.flow_path == ["menu", "vm"]
    assert record.digits == "1"
    assert record.hangup_cause == "caller_bye"
    assert record.from_number == "+33600000001"
    assert record.to_number == NUMBER
    assert [t["to"] for t in record.transitions] == ["answered", "ended"]
    assert 9 <= record.duration_seconds <= 13
    voicemail = Voicemail.objects.get(call=record)
    pcm = wav_pcm(settings.DATA_DIR / voicemail.path)
    seconds = len(pcm) / 16000
    # The recording holds what SIPp sent after the beep: the whole g711a.pcap (7.08 s).
    sent = sum(map(len, pcap_payloads(PCAPS / "g711a.pcap"))) / 8000  # 1 byte a sample
    assert abs(seconds - sent) < 0.5, (seconds, sent)
    assert rms(pcm) > 0.01  # the caller's audio, not silence
    assert abs(voicemail.duration_ms / 1000 - seconds) < 0.01


def test_the_readme_example_keys_1_during_the_welcome_and_leaves_a_voicemail(number_with):
    """The README's SIPp example on the demo flow: the digit comes while the welcome
    plays (type-ahead), the menu takes it, the caller's audio is recorded."""
    account = number_with(DEMO_FLOW)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("ivr_voicemail.xml"))
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        [record] = wait_for_records(account)
    assert record.flow_path == ["welcome", "menu", "voicemail"]
    assert record.digits == "1"
    assert record.disposition == "voicemail"
    voicemail = Voicemail.objects.get(call=record)
    assert voicemail.duration_ms > 3000
    assert rms(wav_pcm(settings.DATA_DIR / voicemail.path)) > 0.01


def test_caller_hangs_up_during_the_prompt(number_with):
    account = number_with(LONG_WELCOME)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("hangup_during_prompt.xml"))
        assert result.returncode == 0, result.stdout[-2000:]
        [record] = wait_for_records(account)
    assert record.disposition == "abandoned"
    assert record.hangup_cause == "caller_bye"
    assert record.flow_path == ["w"]
    assert record.duration_seconds <= 2
    assert not Voicemail.objects.filter(call=record).exists()


def test_engine_hangs_up_at_the_end_of_the_flow(number_with):
    account = number_with(SHORT)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("engine_hangs_up.xml"))
        assert result.returncode == 0, result.stdout[-2000:]
        [record] = wait_for_records(account)
    assert record.disposition == "answered"
    assert record.hangup_cause == "callee_bye:flow_end"
    assert 1 <= record.duration_seconds <= 3


def test_cancel_before_answer(number_with):
    account = number_with(SHORT)
    with EngineThread(answer_after=3.0) as engine:
        result = sipp(engine.port, *scenario("cancel_before_answer.xml"))
        assert result.returncode == 0, result.stdout[-2000:]
        [record] = wait_for_records(account)
    assert record.disposition == "canceled"
    assert record.answered_at is None
    assert record.duration_seconds == 0
    assert [t["to"] for t in record.transitions] == ["ended"]


def test_calls_over_tcp(number_with):
    account = number_with(SHORT)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("engine_hangs_up.xml"), transport="t1")
        assert result.returncode == 0, result.stdout[-2000:]
        [record] = wait_for_records(account)
    assert record.hangup_cause == "callee_bye:flow_end"


def test_unknown_number_is_404(number_with):
    number_with(SHORT)
    with EngineThread() as engine:
        result = subprocess.run(
            [SIPP, f"127.0.0.1:{engine.port}", "-i", "127.0.0.1", "-p", "0", "-m", "1",
             "-s", "33100000000", "-sf", str(SCENARIOS / "hangup_during_prompt.xml"),
             "-timeout", "10", "-timeout_error", "-nostdin"],
            capture_output=True, text=True, timeout=20, cwd=settings.DATA_DIR)
        # SIPp fails the call: it expected a 200 and got the 404.
        assert result.returncode != 0
        assert "404" in result.stdout + result.stderr or result.returncode == 1


GARBAGE = [
    b"\x00\xff\x13garbage that is not SIP at all\r\n\r\n",
    b"INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKx\r\n"
    b"Content-Length: 0\r\n\r\n",  # no From/To/Call-ID/CSeq
    b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKy\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: cl\r\nCSeq: 1 OPTIONS\r\n"
    b"Content-Length: 99999\r\n\r\nshort",  # Content-Length beyond the datagram
    b"INVITE sip:x@127.0.0.1 SIP/2.0\r\n" + b"X-Huge: " + b"a" * 60000 + b"\r\n\r\n",
    b"",
]


def test_malformed_sip_is_answered_400_or_dropped_and_the_engine_keeps_serving(number_with,
                                                                                caplog):
    account = number_with(SHORT)
    with EngineThread() as engine:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        answers = []
        for datagram in GARBAGE:
            sock.sendto(datagram, ("127.0.0.1", engine.port))
            try:
                answers.append(sock.recv(65535))
            except TimeoutError:
                answers.append(b"")
        # TCP: garbage then close.
        with socket.create_connection(("127.0.0.1", engine.port), timeout=2) as tcp:
            tcp.sendall(b"NOT SIP\r\nContent-Length: abc\r\n\r\n" + b"\x00" * 1000)
        sock.close()
        result = sipp(engine.port, *scenario("engine_hangs_up.xml"))
        assert result.returncode == 0, result.stdout[-2000:]
        [record] = wait_for_records(account)
    assert record.hangup_cause == "callee_bye:flow_end"
    # Missing mandatory headers or a body cut short: 400; the rest is dropped (or
    # answered, never a crash).
    assert answers[1].startswith(b"SIP/2.0 400"), answers[1][:100]
    assert answers[2].startswith(b"SIP/2.0 400"), answers[2][:100]  # cut short (RFC 3261 §18.3)
    assert answers[0] == b""
    for answer in answers:
        assert answer == b"" or answer.startswith(b"SIP/2.0 ")
    logged = caplog.text
    assert "Failed to parse SIP message" in logged  # garbage: dropped with a log line
    assert "missing required headers" in logged
