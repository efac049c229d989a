"""Outbound legs against SIPp's built-in `uas` (a phone answering), and refusals; the
INVITE retransmission of a call nobody answers."""

import asyncio
import socket
import threading
import time

import pytest

from chappe.voice.media.prompts import tone
from chappe.voice.outbound import message_play, status_for
from chappe.voice.sip.aiosipua_backend import AiosipuaEndpoint, RtpPorts
from chappe.voice.sip.base import OutboundFailed
from chappe.voice.trunking import TrunkGate, TrunkRoute
from tests.ports import free_port
from tests.voice.sipp_tools import Phone

pytestmark = [pytest.mark.slow, pytest.mark.tools("sipp")]


def run_with_endpoint(coro_factory):
    async def main():
        base = 33000 + (int(time.time() * 1000) % 100) * 40
        endpoint = AiosipuaEndpoint("127.0.0.1", 0, rtp_ports=RtpPorts(base, base + 38))
        await endpoint.start()
        try:
            return await coro_factory(endpoint)
        finally:
            await endpoint.stop()

    return asyncio.run(main())


def phone_route(port: int) -> list[TrunkRoute]:
    return [TrunkRoute(name="phone", host="127.0.0.1", port=port)]


def test_a_message_is_played_to_a_phone_that_answers(tmp_path):
    phone = Phone(cwd=tmp_path, timeout=20)
    try:
        pcm = tone(440, 1500)  # 1.5 s
        result = run_with_endpoint(lambda endpoint: message_play(
            endpoint, TrunkGate(), phone_route(phone.port), caller="33189000001",
            callee="33612345678", pcm=pcm, repeat=2, ring_timeout=5))
        status, output = phone.finish(timeout=25)
    finally:
        phone.stop()
    assert result.status == "listened", result
    assert result.plays == 2
    assert 3 <= result.billable_seconds <= 5  # two 1.5 s plays, every started second
    assert [t["to"] for t in result.log.transitions] == ["answered", "ended"]
    assert status == 0, output[-2000:]  # SIPp got our BYE and answered it


def test_nobody_listening_is_no_answer():
    port = free_port()  # nothing there: the INVITE is retransmitted, then CANCELed
    result = run_with_endpoint(lambda endpoint: message_play(
        endpoint, TrunkGate(), phone_route(port), caller="33189000001",
        callee="33612345678", pcm=tone(440, 100), ring_timeout=1))
    assert result.status == "no_answer"
    assert result.sip_status == 408
    assert result.billable_seconds == 0


def test_an_unanswered_invite_is_retransmitted_over_udp_then_canceled():
    received: list[bytes] = []
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    silent.settimeout(0.2)

    def listen():
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                received.append(silent.recv(65535))
            except TimeoutError:
                continue

    listener = threading.Thread(target=listen)
    listener.start()

    async def call(endpoint):
        with pytest.raises(OutboundFailed) as failed:
            await endpoint.originate(caller="33189000001", callee="33612345678",
                                     remote=silent.getsockname(), timeout=1.8)
        return failed.value.status

    try:
        assert run_with_endpoint(call) == 408
        listener.join()
    finally:
        silent.close()
    methods = [message.split(b" ", 1)[0] for message in received]
    # Timer A: at 0, 0.5 and 1.5 s (T1 doubling), the same transaction each time.
    assert methods == [b"INVITE", b"INVITE", b"INVITE", b"CANCEL"]
    assert len(set(received[:3])) == 1


@pytest.mark.parametrize(("code", "status"), [(486, "busy"), (600, "busy"), (480, "no_answer"),
                                              (487, "no_answer"), (404, "failed"),
                                              (503, "failed")])
def test_final_responses_map_to_message_statuses(code, status):
    assert status_for(code) == status


def test_an_engine_bound_to_any_port_names_the_port_it_got_in_via_and_contact():
    """Bound with port 0 (tests, benchmarks), the INVITE says where to answer: the port the
    engine got, never 0 (a phone following the Contact would send its BYE nowhere)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)

    async def invite(endpoint):
        placing = asyncio.ensure_future(endpoint.originate(
            caller="33189000001", callee="33612345678", remote=sock.getsockname(),
            timeout=2))
        data = await asyncio.to_thread(sock.recv, 65535)
        placing.cancel()
        await asyncio.gather(placing, return_exceptions=True)
        return data.decode(), endpoint.port

    try:
        text, port = run_with_endpoint(invite)
    finally:
        sock.close()
    headers = {line.split(":", 1)[0].lower(): line for line in text.split("\r\n") if ":" in line}
    assert port != 0
    assert f"127.0.0.1:{port}" in headers["via"]
    assert f"127.0.0.1:{port}" in headers["contact"]
