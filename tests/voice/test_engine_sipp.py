"""The voice engine against SIPp as a real peer (scenarios in tests/voice/sipp/).

The engine runs in this process on its own event loop thread, against the test database;
SIPp runs as a subprocess on 127.0.0.1."""

import asyncio
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError

from chappe.accounts.actor import SYSTEM
from chappe.callcenter.models import CallRecord, Voicemail
from chappe.callcenter.services import (
    catalogue_number_add,
    flow_create,
    number_assign,
    number_buy,
)
from chappe.voice.engine import VoiceEngine, e164_of
from chappe.voice.media.prompts import rms, tools_available, wav_pcm

SIPP = shutil.which("sipp")
SCENARIOS = Path(__file__).parent / "sipp"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SIPP or not tools_available(),
                       reason="sip-tester, espeak-ng and sox are installed by scripts/test"),
]

NUMBER = "+33189000077"


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


class EngineThread:
    def __init__(self, answer_after: float = 0.0) -> None:
        self.loop = asyncio.new_event_loop()
        base = 30000 + (int(time.time() * 1000) % 200) * 40
        self.engine = VoiceEngine("127.0.0.1", 0, answer_after=answer_after,
                                  rtp_ports=(base, base + 38))
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        _host, self.port = self._run(self.engine.start())
        return self

    def _run(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __exit__(self, *exc):
        self._run(self.engine.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def number_with(transactional_db, data_dir, make_account):
    account = make_account("Voice Co")
    actor = SYSTEM.on(account)

    def make(definition):
        number = catalogue_number_add(e164=NUMBER, number_type="geographic",
                                      monthly_price_micros=1_000_000)
        rental = number_buy(actor=actor, account=account, number_id=number.pk)
        flow = flow_create(actor=actor, account=account, name="Test", definition=definition)
        number_assign(actor=actor, account=account, rental_id=rental.pk, flow_id=flow.pk)
        return account

    return make


def sipp(port: int, *args: str, timeout: float = 20, transport: str = "u1"):
    command = [SIPP, f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", "0", "-m", "1",
               "-t", transport, "-s", NUMBER.lstrip("+"), "-timeout", str(int(timeout)),
               "-timeout_error", "-nostdin", "-trace_err", *args]
    result = subprocess.run(command, capture_output=True, timeout=timeout + 10, text=True,
                            cwd=settings.DATA_DIR)
    return result


def scenario(name: str) -> list[str]:
    return ["-sf", str(SCENARIOS / name)]


def pcap_audio_seconds(path: Path) -> float:
    """Seconds of G.711 audio in a pcap of RTP packets (Ethernet/IPv4/UDP, 8 kHz)."""
    data = path.read_bytes()
    offset, samples = 24, 0
    while offset < len(data):
        _sec, _usec, included, _orig = struct.unpack("<IIII", data[offset:offset + 16])
        offset += 16 + included
        samples += included - 14 - 20 - 8 - 12  # one G.711 byte per sample
    return samples / 8000


def wait_for_record(account, count=1, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            records = list(CallRecord.objects.filter(account=account).order_by("started_at"))
        except OperationalError:  # SQLite's shared in-memory test database, mid-write
            records = []
        if len(records) >= count:
            return records
        time.sleep(0.05)
    raise AssertionError(f"no call record after {timeout} s")


def test_e164_of_request_uri_users():
    assert e164_of("+33189000077") == "+33189000077"
    assert e164_of("33189000077") == "+33189000077"
    assert e164_of("0033189000077") == "+33189000077"
    assert e164_of("0189000077") == "+33189000077"
    assert e164_of("service") == ""


def test_ivr_walked_by_rfc4733_dtmf_reaches_voicemail(number_with):
    account = number_with(IVR)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("ivr_voicemail.xml"))
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        [record] = wait_for_record(account)
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
    sent = pcap_audio_seconds(Path("/usr/share/sip-tester/g711a.pcap"))
    assert abs(seconds - sent) < 0.5, (seconds, sent)
    assert rms(pcm) > 0.01  # the caller's audio, not silence
    assert abs(voicemail.duration_ms / 1000 - seconds) < 0.01


def test_caller_hangs_up_during_the_prompt(number_with):
    account = number_with(LONG_WELCOME)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("hangup_during_prompt.xml"))
        assert result.returncode == 0, result.stdout[-2000:]
        [record] = wait_for_record(account)
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
        [record] = wait_for_record(account)
    assert record.disposition == "answered"
    assert record.hangup_cause == "callee_bye:flow_end"
    assert 1 <= record.duration_seconds <= 3


def test_cancel_before_answer(number_with):
    account = number_with(SHORT)
    with EngineThread(answer_after=3.0) as engine:
        result = sipp(engine.port, *scenario("cancel_before_answer.xml"))
        assert result.returncode == 0, result.stdout[-2000:]
        [record] = wait_for_record(account)
    assert record.disposition == "canceled"
    assert record.answered_at is None
    assert record.duration_seconds == 0
    assert [t["to"] for t in record.transitions] == ["ended"]


def test_calls_over_tcp(number_with):
    account = number_with(SHORT)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("engine_hangs_up.xml"), transport="t1")
        assert result.returncode == 0, result.stdout[-2000:]
        [record] = wait_for_record(account)
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
        [record] = wait_for_record(account)
    assert record.hangup_cause == "callee_bye:flow_end"
    # Missing mandatory headers: 400; the rest is dropped (or answered, never a crash).
    assert answers[1].startswith(b"SIP/2.0 400"), answers[1][:100]
    assert answers[0] == b""
    for answer in answers:
        assert answer == b"" or answer.startswith(b"SIP/2.0 ")
    logged = caplog.text
    assert "Failed to parse SIP message" in logged  # garbage: dropped with a log line
    assert "missing required headers" in logged
