"""Outbound legs against SIPp's built-in `uas` (a phone answering), and refusals."""

import asyncio
import shutil
import socket
import subprocess
import time

import pytest

from chappe.voice.media.prompts import tone
from chappe.voice.outbound import message_play, status_for
from chappe.voice.sip.aiosipua_backend import AiosipuaEndpoint, RtpPorts

SIPP = shutil.which("sipp")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not SIPP, reason="sip-tester is installed by scripts/test")]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


def test_a_message_is_played_to_a_phone_that_answers(tmp_path):
    port = free_udp_port()
    phone = subprocess.Popen([SIPP, "-sn", "uas", "-i", "127.0.0.1", "-p", str(port), "-m", "1",
                              "-timeout", "20", "-timeout_error", "-nostdin"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    try:
        time.sleep(0.3)
        pcm = tone(440, 1500)  # 1.5 s
        result = run_with_endpoint(lambda endpoint: message_play(
            endpoint, caller="33189000001", callee="33612345678", remote=("127.0.0.1", port),
            pcm=pcm, repeat=2, ring_timeout=5))
        output, _ = phone.communicate(timeout=25)
    finally:
        if phone.poll() is None:
            phone.kill()
    assert result.status == "listened", result
    assert result.plays == 2
    assert 3 <= result.billable_seconds <= 5  # two 1.5 s plays, every started second
    assert [t["to"] for t in result.log.transitions] == ["answered", "ended"]
    assert phone.returncode == 0, output[-2000:]  # SIPp got our BYE and answered it


def test_nobody_listening_is_no_answer():
    port = free_udp_port()  # nothing there: the INVITE is retransmitted, then CANCELed
    result = run_with_endpoint(lambda endpoint: message_play(
        endpoint, caller="33189000001", callee="33612345678", remote=("127.0.0.1", port),
        pcm=tone(440, 100), ring_timeout=1))
    assert result.status == "no_answer"
    assert result.sip_status == 408
    assert result.billable_seconds == 0


@pytest.mark.parametrize(("code", "status"), [(486, "busy"), (600, "busy"), (480, "no_answer"),
                                              (487, "no_answer"), (404, "failed"),
                                              (503, "failed")])
def test_final_responses_map_to_message_statuses(code, status):
    assert status_for(code) == status
