"""The engine's side of browser softphones without a browser (chappe.voice.browser): the
control port's signed hello, a second tab taking over, the heartbeat noticing a dead
browser, and the originator sending the browsers' bindings there (the media and the
calls themselves: tests/e2e/test_softphone.py)."""

import asyncio
import json
import time

import pytest

from chappe.voice.browser import BrowserPhones, PhoneOriginator, hello_sign
from chappe.voice.registrations import Registrations
from chappe.voice.sip.base import OutboundFailed

SECRET = b"test-secret"


def hello(agent="agent-1", *, secret=SECRET, issued=None, label=""):
    issued = int(time.time()) if issued is None else issued
    return json.dumps({"type": "hello", "agent_id": agent, "account_id": "acct",
                       "session": "n", "issued": issued, "label": label,
                       "sig": hello_sign(secret, agent_id=agent, account_id="acct",
                                         session=f"n|{label}", issued=issued)}).encode() + b"\n"


async def line(reader) -> dict:
    return json.loads(await asyncio.wait_for(reader.readline(), 5))


def run(scenario, **kwargs):
    async def main():
        lost = []

        async def on_lost(agent_id, reason):
            lost.append((agent_id, reason))

        phones = BrowserPhones(Registrations(), secret=SECRET, on_lost=on_lost, **kwargs)
        _host, port = await phones.start()
        try:
            return await scenario(phones, port, lost)
        finally:
            await phones.stop()

    return asyncio.run(main())


@pytest.mark.parametrize("bad", ["other secret", "stale"])
def test_a_hello_not_signed_by_the_web_role_or_stale_is_refused(bad):
    async def scenario(phones, port, lost):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(hello(secret=b"guess") if bad == "other secret"
                     else hello(issued=int(time.time()) - 3600))
        assert await line(reader) == {"type": "refused"}
        assert await reader.read() == b""  # closed
        assert not phones.sessions
        writer.close()

    run(scenario)


def test_a_second_tab_takes_over_without_pausing_and_silence_loses_the_browser():
    async def scenario(phones, port, lost):
        first_r, first_w = await asyncio.open_connection("127.0.0.1", port)
        first_w.write(hello())
        assert (await line(first_r))["type"] == "welcome"
        second_r, second_w = await asyncio.open_connection("127.0.0.1", port)
        second_w.write(hello())
        assert (await line(second_r))["type"] == "welcome"
        assert await line(first_r) == {"type": "replaced"}
        assert await first_r.read() == b""
        assert len(phones.of_agent("agent-1")) == 1
        assert lost == []  # replaced: not paused
        # The second tab keeps beating, then stops: lost within the timeout.
        second_w.write(b'{"type": "ping"}\n')
        assert await second_r.read() == b""  # the engine closed it: no heartbeat
        while not lost:
            await asyncio.sleep(0.01)
        assert lost == [("agent-1", "no heartbeat")]
        assert not phones.sessions
        first_w.close()
        second_w.close()

    run(scenario, heartbeat_timeout=0.4, reconnect_grace=0)


def test_the_originator_rings_browser_bindings_in_the_engine_and_the_rest_over_sip():
    class Sip:
        calls = []

        async def originate(self, **kwargs):
            self.calls.append(kwargs)
            raise OutboundFailed(486, "Busy Here")

    async def scenario(phones, port, lost):
        sip = Sip()
        originator = PhoneOriginator(sip, phones)
        with pytest.raises(OutboundFailed) as gone:
            await originator.originate(caller="1", callee="x", remote=("webrtc", 0),
                                       transport="webrtc", uri="webrtc:nobody")
        assert (gone.value.status, sip.calls) == (480, [])
        with pytest.raises(OutboundFailed):
            await originator.originate(caller="1", callee="alice", remote=("127.0.0.1", 5))
        assert [c["callee"] for c in sip.calls] == ["alice"]
        # A browser connected but whose media is not up yet does not ring.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(hello())
        session_id = (await line(reader))["session"]
        with pytest.raises(OutboundFailed) as early:
            await originator.originate(caller="1", callee="x", remote=("webrtc", 0),
                                       transport="webrtc", uri=f"webrtc:{session_id}")
        assert early.value.status == 480
        writer.close()

    run(scenario)
