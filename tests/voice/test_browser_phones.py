"""The engine's side of browser softphones without a browser (chappe.voice.browser): the
control port's signed hello, a second tab taking over, the heartbeat noticing a dead
browser, the originator sending the browsers' bindings there, the CRM's name of the
caller reaching the browser, and the operator's STUN/TURN servers reaching the engine's
peers (the media and the calls themselves: tests/e2e/test_softphone.py)."""

import asyncio
import json
import time

import pytest

from chappe.voice.browser import BrowserPhones, PhoneOriginator, hello_sign, ice_servers_checked
from chappe.voice.crm import CallerInfo, CrmAnswer, CrmReply
from chappe.voice.directory import QueueVisit
from chappe.voice.outbound import ring_all
from chappe.voice.queueing import QueueResult
from chappe.voice.registrations import Binding, Registrations
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
        assert await line(second_r) == {"type": "pong"}  # the page's check of the network
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


def test_the_crm_s_name_of_the_caller_reaches_the_ringing_browser_and_no_sip_phone():
    """The runner's CRM answer rides the queue call to `ring_all`, which hands it to the
    browsers only (a SIP phone's INVITE is unchanged); the browser's ring message and its
    answered call carry it."""
    class Sip:
        calls = []

        async def originate(self, **kwargs):
            self.calls.append(kwargs)
            raise OutboundFailed(486, "Busy Here")

    info = CallerInfo(full_name="Ada Lovelace", caller_profile_url="https://crm.example/c/42")

    async def scenario(phones, port, lost):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(hello())
        session = phones.sessions[(await line(reader))["session"]]
        session.connected.set()  # as when ICE and DTLS are up (the media: e2e tests)
        desk_phone = Binding(username="alice", uri="sip:alice@192.0.2.7", expires_at=0.0,
                             call_id="c", cseq=1, source=("192.0.2.7", 5060),
                             transport="udp")
        sip = Sip()
        ringing = asyncio.ensure_future(ring_all(
            PhoneOriginator(sip, phones), [session.binding(), desk_phone],
            caller="33600000001", timeout=5, caller_info=info))
        incoming = await line(reader)
        assert (incoming["type"], incoming["caller"]) == ("incoming", "33600000001")
        assert incoming["crm"] == {"full_name": "Ada Lovelace",
                                   "profile_url": "https://crm.example/c/42"}
        writer.write(json.dumps({"type": "answer", "call": incoming["call"]}).encode() + b"\n")
        call = await ringing
        connected = await line(reader)
        assert (connected["type"], connected["crm"]) == ("connected", incoming["crm"])
        assert call.crm == {"crm": incoming["crm"]}  # shown again after a transfer
        assert "caller_info" not in sip.calls[0]
        writer.close()

    run(scenario)


def test_the_runner_puts_the_crm_s_caller_info_on_the_queue_call():
    from tests.voice.test_runner import run as run_call

    class Crm:
        def timeout_for(self, target):
            return 1.0

        async def lookup(self, target, remote):
            return CrmAnswer(CrmReply(caller_info=CallerInfo(full_name="Ada Lovelace")))

        async def observe(self, target, outcome, seconds, redirected):
            pass

    class Queues:
        calls = []

        async def serve(self, call, leg, ended):
            self.calls.append(call)
            return QueueResult(False, [QueueVisit(call.queue_id, outcome="left")])

    queues = Queues()
    run_call({"start": "q", "nodes": {"q": {"type": "queue", "queue_id": "support"}}},
             crm=Crm(), queues=queues)
    [call] = queues.calls
    assert call.caller_info == CallerInfo(full_name="Ada Lovelace")


def test_the_operator_s_ice_servers_are_checked_and_given_to_the_engine_s_peers(monkeypatch):
    import aiortc

    configured = []

    class PeerConnection(aiortc.RTCPeerConnection):
        def __init__(self, configuration=None):
            configured.append(configuration)
            super().__init__(configuration)

    monkeypatch.setattr(aiortc, "RTCPeerConnection", PeerConnection)
    servers = [{"urls": "stun:stun.example.org:3478"},
               {"urls": ["turn:turn.example.org:3478?transport=udp"], "username": "chappe",
                "credential": "s3cret"}]
    checked = ice_servers_checked(servers)
    assert checked[0] == {"urls": ["stun:stun.example.org:3478"]}

    async def scenario(phones, port, lost):
        from aiortc import RTCPeerConnection

        # A browser's offer (an aiortc peer standing for it), answered by the engine.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(hello())
        session = phones.sessions[(await line(reader))["session"]]
        browser = RTCPeerConnection()
        browser.addTransceiver("audio")
        await browser.setLocalDescription(await browser.createOffer())
        writer.write(json.dumps({"type": "offer",
                                 "sdp": browser.localDescription.sdp}).encode() + b"\n")
        assert (await line(reader))["type"] == "answer"
        assert session.pc is not browser
        assert isinstance(session.pc, PeerConnection)
        engine_side = configured[-1]
        assert [(s.urls, s.username, s.credential) for s in engine_side.iceServers] == [
            (["stun:stun.example.org:3478"], None, None),
            (["turn:turn.example.org:3478?transport=udp"], "chappe", "s3cret")]
        await browser.close()
        writer.close()

    run(scenario, ice_servers=servers)
    assert BrowserPhones(Registrations(), secret=SECRET).ice_servers == []  # host only


@pytest.mark.parametrize("bad", [{"urls": "stun:x"}, [{"urls": "http://x"}], [{"url": "stun:x"}],
                                 [{"urls": "turn:x", "credential": 3}], [{"urls": []}]])
def test_ice_servers_the_browsers_could_not_take_are_refused_at_start(bad):
    with pytest.raises(ValueError, match=r"ICE server|JSON list"):
        ice_servers_checked(bad)
