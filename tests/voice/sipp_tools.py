"""What the SIPp tests share: the engine on its own event-loop thread against the test
database, SIPp runs (caller scenarios and phones answering), an RTP sink standing for a
phone's media port, and waiting for call records."""

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError

from chappe.agents.desk import QueueDesk
from chappe.agents.selectors import agent_sip_credentials
from chappe.callcenter.directory import DjangoDirectory
from chappe.callcenter.models import CallRecord
from chappe.messaging.services.tts import TtsCalls
from chappe.voice.engine import VoiceEngine
from tests.ports import bound, free_port, free_port_block

SIPP = shutil.which("sipp")
# The marks of a test that calls the engine with SIPp (and TTS prompts).
SIPP_TESTS = [pytest.mark.slow, pytest.mark.tools("sipp", "espeak-ng", "sox")]
SCENARIOS = Path(__file__).parent / "sipp"
PCAPS = Path("/usr/share/sip-tester")
NUMBER = "+33189000077"


ENGINE_WORKER = "voice:test"


def db_directory(**kwargs) -> DjangoDirectory:
    """The database directory on the test's settings, as the voice role builds it (the
    TTS channel's messages called by the engine `ENGINE_WORKER`, the agents' phones and
    queues)."""
    return DjangoDirectory(data_dir=settings.DATA_DIR,
                           default_country=settings.CHAPPE_DEFAULT_COUNTRY,
                           message_calls=TtsCalls(worker=ENGINE_WORKER),
                           phone_users=agent_sip_credentials, queue_desk=QueueDesk(),
                           **kwargs)


class EngineThread:
    """The voice engine serving on 127.0.0.1 (a free port) from a thread of its own, on
    the database directory (or `directory`)."""

    def __init__(self, answer_after: float = 0.0, directory=None, **kwargs) -> None:
        self.loop = asyncio.new_event_loop()
        base = 30000 + (int(time.time() * 1000) % 200) * 40
        self.engine = VoiceEngine("127.0.0.1", 0, directory=directory or db_directory(),
                                  auth_secret=settings.SECRET_KEY.encode(),
                                  answer_after=answer_after, rtp_ports=(base, base + 38),
                                  **kwargs)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        _host, self.port = self.run(self.engine.start())
        return self

    def run(self, coro, timeout=10):
        """`coro` on the engine's loop (what reads its state runs there); its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def wait_until(self, check, timeout=20.0):
        """Wait for `check()` (run on the engine's loop) to be true; its last value. The
        engine's loop wakes each check: no sleep stands for a condition."""

        async def poll():
            deadline = self.loop.time() + timeout
            while not (value := check()) and self.loop.time() < deadline:
                await asyncio.sleep(0.05)
            return value

        return self.run(poll(), timeout + 5)

    def __exit__(self, *exc):
        self.run(self.engine.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def scenario(name: str, workdir: Path | None = None, **values: str) -> list[str]:
    """SIPp's arguments to run a scenario of tests/voice/sipp. `values` fill `[name]`s
    that SIPp reads before `-key` applies (a response's status code): the filled copy is
    written to `workdir`."""
    path = SCENARIOS / name
    if values:
        assert workdir is not None
        text = path.read_text()
        for key, value in values.items():
            text = text.replace(f"[{key}]", value)
        path = workdir / name
        path.write_text(text)
    return ["-sf", str(path)]


def sipp(port: int, *args: str, cwd: Path, timeout: float = 20, transport: str = "u1",
         number: str = NUMBER, calls: int = 1, local_port: int = 0):
    """SIPp placing `calls` calls to `number` (or running a scenario as the user `number`)
    at the engine, from `local_port` (any free one when 0); returns the finished
    process."""
    # Explicit ports: with -p 0 SIPp's Via names 5060, which may belong to someone else.
    command = [SIPP, f"127.0.0.1:{port}", "-i", "127.0.0.1",
               "-p", str(local_port or free_port()),
               "-mp", str(free_port_block()), "-m", str(calls), "-t", transport,
               "-s", number.lstrip("+"), "-timeout", str(int(timeout)), "-timeout_error",
               "-nostdin", "-trace_err", *args]
    return subprocess.run(command, capture_output=True, timeout=timeout + 10, text=True,
                          cwd=cwd)


class Phone:
    """SIPp answering calls on a port of its own, or on `port` (the one it registered
    from): built-in `uas` or a scenario."""

    def __init__(self, *args: str, cwd: Path, transport: str = "u1", calls: int = 1,
                 timeout: int = 30, port: int = 0) -> None:
        self.port = port or free_port()
        self.process = subprocess.Popen(
            [SIPP, "-i", "127.0.0.1", "-p", str(self.port), "-mp", str(free_port_block()),
             "-t", transport, "-m", str(calls),
             "-timeout", str(timeout), "-timeout_error", "-nostdin", "-trace_err",
             *(args or ("-sn", "uas"))],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._wait_bound(transport)

    def _wait_bound(self, transport: str, timeout: float = 10) -> None:
        """Return once SIPp listens on its port (or has already ended)."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            if bound(self.port, udp=transport.startswith("u")):
                return
            time.sleep(0.01)

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        """Wait for SIPp to end: (exit status, its output)."""
        try:
            output, _ = self.process.communicate(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        return self.process.returncode, output

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


class RtpSink:
    """A UDP socket standing for a phone's RTP port: keeps every packet the engine sends
    (payload type, payload) and, with `echo`, sends each one back to where it came from."""

    def __init__(self, echo: bool = False) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.echo = echo
        self.packets: list[tuple[int, bytes, float]] = []
        self._running = True
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while self._running:
            try:
                data, source = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            if len(data) >= 12 and data[0] >> 6 == 2:  # RTP version 2 (RTCP goes to +1)
                self.packets.append((data[1] & 0x7F, data[12:], time.monotonic()))
                if self.echo:
                    self.sock.sendto(data, source)

    def close(self) -> None:
        self._running = False
        self._thread.join(2)
        self.sock.close()

    def payloads(self, payload_type: int) -> list[bytes]:
        return [payload for pt, payload, _at in self.packets if pt == payload_type]

    def events(self) -> set[int]:
        """The RFC 4733 event codes received (payload type 101)."""
        return {payload[0] for payload in self.payloads(101)}


def pcap_payloads(path: Path) -> list[bytes]:
    """The RTP payloads of a pcap of RTP packets (Ethernet/IPv4/UDP/RTP)."""
    import struct

    data = path.read_bytes()
    offset, payloads = 24, []
    while offset < len(data):
        _sec, _usec, included, _orig = struct.unpack("<IIII", data[offset:offset + 16])
        packet = data[offset + 16:offset + 16 + included]
        offset += 16 + included
        payloads.append(packet[14 + 20 + 8 + 12:])
    return payloads


def pcap_variant(source: Path, target: Path, *, payload_type: int | None = None,
                 drop_end: bool = False) -> Path:
    """A copy of a pcap of RTP packets (Ethernet/IPv4/UDP/RTP, as SIPp ships) with their
    payload type changed, and/or without the RFC 4733 packets carrying the end bit; UDP
    checksums zeroed (none)."""
    import struct

    data = source.read_bytes()
    out, offset = bytearray(data[:24]), 24
    while offset < len(data):
        header = data[offset:offset + 16]
        _sec, _usec, included, _orig = struct.unpack("<IIII", header)
        packet = bytearray(data[offset + 16:offset + 16 + included])
        offset += 16 + included
        rtp = 14 + 20 + 8
        if drop_end and packet[rtp + 1] & 0x7F in (101, payload_type) \
                and packet[rtp + 13] & 0x80:
            continue
        if payload_type is not None:
            packet[rtp + 1] = (packet[rtp + 1] & 0x80) | payload_type
        packet[14 + 20 + 6:14 + 20 + 8] = b"\0\0"
        out += header + packet
    target.write_bytes(bytes(out))
    return target


def wait_for_records(account, count=1, timeout=5.0) -> list[CallRecord]:
    """The account's call records, oldest first, once there are `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            records = list(CallRecord.objects.filter(account=account).order_by("started_at"))
        except OperationalError:  # SQLite's shared in-memory test database, mid-write
            records = []
        if len(records) >= count:
            return records
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} call records after {timeout} s")
