"""Agents' browsers as phones (issue 15, docs/decisions/0040-webrtc-softphone.md).

The agent workspace in the web app opens a WebSocket at the web app's origin; the web
role authenticates it by the Django session and relays it, one loopback TCP connection
per browser, to this engine's **control port** (JSON lines; the first line is a `hello`
the web role signs with the secret both share, naming the agent). From then on:

* the browser's WebRTC offer (ICE host candidates, DTLS-SRTP, Opus or G.711) is answered
  by an aiortc peer connection held here, for as long as the page is open: calls come
  and go on it, so a call offered to the browser rings at once and answers without a
  renegotiation;
* the browser is one of the agent's phones: a binding (transport `webrtc`) beside their
  SIP phones' in the registrations table, so `outbound.ring_all` rings it with the rest
  (`PhoneOriginator` sends the INVITEs of such bindings here instead of over SIP);
* an answered call's media leg (`BrowserLeg`) implements the engine's `MediaLeg`: PCM at
  8 kHz both ways (aiortc encodes and decodes Opus or G.711, PyAV resamples), so the
  queue's `Bridge` relays it like any phone's; the workspace's keypad digits reach the
  far end as RFC 4733 telephone-events through the bridge; hold plays music on hold to
  the caller; a transfer is a `Referral`, as a SIP phone's REFER is;
* a browser gone (the WebSocket or the connection closed, ICE failed, no heartbeat for
  `HEARTBEAT_TIMEOUT` seconds) ends its call, loses its binding, and — when the agent
  has no other phone — is reported to `on_lost` (the engine pauses the agent: no call is
  offered to a dead browser).

A second tab of the same agent takes the phone over: the first one is told (`replaced`)
and closed, without pausing the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chappe.voice.bridge import Bridge
from chappe.voice.callstate import CallLog, CallState
from chappe.voice.crm import CallerInfo
from chappe.voice.directory import CallOutcome, CallTarget, TransferTarget
from chappe.voice.flows import FlowState
from chappe.voice.outbound import dial, ring_all, status_for
from chappe.voice.registrations import WEBRTC, Binding, Registrations
from chappe.voice.sip.base import (
    FRAME_BYTES,
    FRAME_SAMPLES,
    Originator,
    OutboundCall,
    OutboundFailed,
    Referral,
)
from chappe.voice.trunking import TrunkGate

logger = logging.getLogger("chappe.voice.browser")

TRANSPORT = WEBRTC
# A browser sends a heartbeat every 2 s; this long without any message, it is gone.
HEARTBEAT_TIMEOUT = 6.0
# The longest line the control port reads (an SDP offer is a few kilobytes).
MAX_LINE = 256 * 1024
# Frames queued towards the browser beyond which the oldest are dropped (latency cap).
MAX_QUEUED_FRAMES = 10
SILENCE = bytes(FRAME_BYTES)
# A hello signed longer ago than this is refused.
HELLO_TTL = 60
# A browser whose page closed (or reloaded: the state buttons post a form) has this long
# to come back before its agent is paused.
RECONNECT_GRACE = 5.0


def ice_servers_checked(servers: object) -> list[dict]:
    """The operator's STUN/TURN servers (setting CHAPPE_WEBRTC_ICE_SERVERS, JSON), as
    both sides take them: the browser's `RTCPeerConnection({iceServers})` and aiortc's
    `RTCConfiguration`. A list of {"urls": "stun:…" | ["turn:…", …], "username"?,
    "credential"?}; none (the default): host candidates only, enough on a LAN. Anything
    else raises ValueError, naming what is wrong, when the role starts."""
    if not isinstance(servers, list):
        raise ValueError("CHAPPE_WEBRTC_ICE_SERVERS must be a JSON list")
    checked = []
    for server in servers:
        if not isinstance(server, dict) or set(server) - {"urls", "username", "credential"}:
            raise ValueError("each ICE server is {urls, username?, credential?}")
        urls = server.get("urls")
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not isinstance(urls, list) or not all(
                isinstance(u, str) and u.startswith(("stun:", "turn:", "turns:"))
                for u in urls):
            raise ValueError("an ICE server's urls are stun:, turn: or turns: URLs")
        if not all(isinstance(server.get(k, ""), str) for k in ("username", "credential")):
            raise ValueError("an ICE server's username and credential are strings")
        checked.append({"urls": urls, **{k: server[k] for k in ("username", "credential")
                                         if k in server}})
    return checked


def rtc_configuration(servers: list[dict]):
    """aiortc's configuration of a browser's peer connection (`ice_servers_checked`)."""
    from aiortc import RTCConfiguration, RTCIceServer

    return RTCConfiguration(iceServers=[RTCIceServer(**server) for server in servers])


def crm_fields(info: CallerInfo | None) -> dict:
    """What a browser's incoming-call panel shows of the account's CRM's answer."""
    if info is None or not (info.full_name or info.caller_profile_url):
        return {}
    return {"crm": {"full_name": info.full_name, "profile_url": info.caller_profile_url}}


def hello_sign(secret: bytes, *, agent_id: str, account_id: str, session: str,
               issued: int) -> str:
    """The signature of a browser's hello, as the web role makes it."""
    message = f"{agent_id}|{account_id}|{session}|{issued}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class _OutTrack:
    """The audio the engine sends to the browser: 20 ms frames of 8 kHz PCM, paced by
    aiortc's calls to `recv` (silence when nothing is queued)."""

    kind = "audio"

    def __new__(cls, *args, **kwargs):  # a MediaStreamTrack, built lazily (import cost)
        from aiortc.mediastreams import MediaStreamTrack

        class Track(MediaStreamTrack):
            kind = "audio"

            def __init__(self) -> None:
                super().__init__()
                self.pending = bytearray()  # PCM to send, any frame size
                self._start: float | None = None
                self._count = 0
                self.sent = 0

            async def recv(self):
                import av

                if self._start is None:
                    self._start = time.monotonic()
                else:
                    wait = self._start + self._count * 0.02 - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                pcm = bytes(self.pending[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\0")
                del self.pending[:FRAME_BYTES]
                frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
                frame.planes[0].update(pcm)
                frame.sample_rate = 8000
                frame.pts = self._count * FRAME_SAMPLES
                frame.time_base = fractions.Fraction(1, 8000)
                self._count += 1
                self.sent += 1
                return frame

        return Track()


class BrowserLeg:
    """The browser's side of an answered call, as the engine's `MediaLeg`."""

    codec = "OPUS"

    def __init__(self, session: BrowserSession) -> None:
        self.session = session
        self._sink: Callable[[bytes], None] | None = None
        self._dtmf: Callable[[str, int], None] | None = None
        self.muted = False
        self.held = False
        self.frames_in = 0   # frames from the browser relayed to the call
        self.frames_out = 0  # frames of the call sent to the browser
        self.digits_in = ""
        self._hold_task: asyncio.Task | None = None
        self._hold_music: bytes = b""
        self._recording: list[bytes] | None = None

    # --- from the browser -----------------------------------------------------------------

    def heard(self, pcm: bytes) -> None:
        """A frame from the browser's microphone."""
        if self._recording is not None:
            self._recording.append(pcm)
        if self.held or self._sink is None:
            return
        self.frames_in += 1
        self._sink(SILENCE if self.muted else pcm)

    def keyed(self, digit: str) -> None:
        """A key of the workspace's keypad: an RFC 4733 event to the far end (the bridge
        relays it)."""
        self.digits_in += digit
        if self._dtmf is not None:
            self._dtmf(digit, 160)

    def hold(self, on: bool, music: bytes) -> None:
        """On hold: the caller hears `music`, the browser hears nothing of the caller."""
        if on == self.held:
            return
        self.held = on
        if on:
            self._hold_music = music
            self._hold_task = asyncio.get_running_loop().create_task(self._music())
        elif self._hold_task is not None:
            self._hold_task.cancel()
            self._hold_task = None

    async def _music(self) -> None:
        frames = [self._hold_music[i:i + FRAME_BYTES].ljust(FRAME_BYTES, b"\0")
                  for i in range(0, len(self._hold_music), FRAME_BYTES)] or [SILENCE]
        start, n = time.monotonic(), 0
        while True:
            if self._sink is not None:
                self._sink(frames[n % len(frames)])
            n += 1
            await asyncio.sleep(max(0.0, start + n * 0.02 - time.monotonic()))

    def close(self) -> None:
        if self._hold_task is not None:
            self._hold_task.cancel()
        self._sink = None

    # --- MediaLeg -------------------------------------------------------------------------

    async def play(self, pcm: bytes, stop: asyncio.Event | None = None) -> bool:
        start = time.monotonic()
        for n, i in enumerate(range(0, len(pcm), FRAME_BYTES)):
            if stop is not None and stop.is_set():
                return False
            self.send_audio(pcm[i:i + FRAME_BYTES].ljust(FRAME_BYTES, b"\0"))
            await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - time.monotonic()))
        return True

    def set_dtmf_handler(self, handler: Callable[[str, int], None]) -> None:
        self._dtmf = handler

    def set_audio_sink(self, sink: Callable[[bytes], None] | None) -> None:
        self._sink = sink

    def send_audio(self, pcm: bytes) -> None:
        if self.held:
            return
        self.frames_out += 1
        self.session.speak(pcm)

    def send_dtmf(self, digit: str, duration_ms: int) -> None:
        self.session.send({"type": "dtmf", "digit": digit})

    def start_recording(self) -> None:
        self._recording = []

    def stop_recording(self) -> bytes:
        frames, self._recording = self._recording or [], None
        return b"".join(frames)

    def stats(self) -> dict:
        return {"browser_frames_in": self.frames_in, "browser_frames_out": self.frames_out,
                "browser_digits": self.digits_in}


@dataclass(eq=False)
class BrowserCall:
    """A call the browser answered (the engine's `OutboundCall`)."""

    call_id: str
    leg: BrowserLeg
    session: BrowserSession
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    end_reason: str = ""
    referrals: asyncio.Queue[Referral] = field(default_factory=asyncio.Queue)
    caller: str = ""  # the number the call came from (or went to)
    crm: dict = field(default_factory=dict)  # `crm_fields` of the caller

    def end(self, reason: str) -> None:
        """The browser's side ended it (hang-up button, tab closed)."""
        if not self.ended.is_set():
            self.end_reason = reason
            self.ended.set()

    async def hangup(self) -> None:
        self.leg.close()
        if self.session.call is self:
            self.session.call = None
            self.session.send({"type": "ended", "call": self.call_id})
        self.ended.set()


@dataclass(eq=False)
class Consult:
    """An attended transfer under way: the target named, the call placed to them."""

    target: str
    leg: BrowserLeg  # the browser's side of the consultation
    label: str = ""
    call: OutboundCall | None = None
    ringing: asyncio.Future | None = None
    bridge: Bridge | None = None
    over: asyncio.Event = field(default_factory=asyncio.Event)
    handed: bool = False
    # The consulted agent, marked on a call while they talk (`BrowserPhones.busy`).
    target_id: str = ""
    busy: bool = False

    def cancel(self) -> None:
        if self.ringing is not None and not self.ringing.done():
            self.ringing.cancel()
        self.over.set()

    def hand_over(self) -> None:
        """The transfer completes: the consulted call leaves the browser for the caller."""
        self.handed = True
        if self.bridge is not None:
            self.bridge.stop()
        self.leg.close()
        self.over.set()


class BrowserSession:
    """One browser's connection (control line, peer connection, binding)."""

    def __init__(self, phones: BrowserPhones, agent_id: str, account_id: str,
                 writer: asyncio.StreamWriter, label: str = "") -> None:
        self.phones = phones
        self.label = label  # the agent's extension: what a consulted agent sees
        self.id = uuid.uuid4().hex
        self.agent_id, self.account_id = agent_id, account_id
        self.writer = writer
        self.pc = None
        self.out_track = None
        self.connected = asyncio.Event()  # ICE + DTLS up: media can flow
        self.gone = asyncio.Event()
        self.gone_reason = ""
        self.call: BrowserCall | None = None
        self.consult: Consult | None = None  # the call of an attended transfer
        self.ringing: dict[str, asyncio.Future[str]] = {}
        self.last_heard = time.monotonic()
        self.packets_in = 0  # audio frames received from the browser, calls or not
        self._tasks: set[asyncio.Task] = set()

    @property
    def username(self) -> str:
        return f"webrtc-{self.id}"

    def binding(self) -> Binding:
        return Binding(username=self.username, uri=f"webrtc:{self.id}",
                       expires_at=float("inf"), call_id=self.id, cseq=1,
                       source=("webrtc", 0), transport=TRANSPORT,
                       account_id=self.account_id, agent_id=self.agent_id,
                       user_agent="browser")

    def send(self, message: dict) -> None:
        if self.writer.is_closing():
            return
        self.writer.write(json.dumps(message).encode() + b"\n")

    def speak(self, pcm: bytes) -> None:
        if self.out_track is None:
            return
        pending = self.out_track.pending
        pending += pcm
        if len(pending) > MAX_QUEUED_FRAMES * FRAME_BYTES:  # drop the oldest: latency cap
            del pending[:len(pending) - MAX_QUEUED_FRAMES * FRAME_BYTES]

    def spawn(self, coro: Awaitable) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def negotiate(self, sdp: str) -> None:
        from aiortc import RTCPeerConnection, RTCSessionDescription

        if self.pc is not None:
            await self.pc.close()
        pc = self.pc = RTCPeerConnection(rtc_configuration(self.phones.ice_servers))
        self.out_track = _OutTrack()
        pc.addTrack(self.out_track)

        @pc.on("track")
        def on_track(track) -> None:
            if track.kind == "audio":
                self.spawn(self._listen(track))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            logger.info("browser %s (agent %s): %s", self.id, self.agent_id,
                        pc.connectionState)
            if pc is not self.pc:
                return
            if pc.connectionState == "connected":
                self.connected.set()
                self.phones.bind(self)
                self.send({"type": "ready"})
            elif pc.connectionState in ("failed", "closed"):
                self.lose("media connection " + pc.connectionState)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self.send({"type": "answer", "sdp": pc.localDescription.sdp})

    async def _listen(self, track) -> None:
        import av
        from aiortc.mediastreams import MediaStreamError

        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        pending = b""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.packets_in += 1
            for out in resampler.resample(frame):
                pending += bytes(out.planes[0])[:out.samples * 2]
            while len(pending) >= FRAME_BYTES:
                pcm, pending = pending[:FRAME_BYTES], pending[FRAME_BYTES:]
                if self.consult is not None and self.consult.bridge is not None:
                    self.consult.leg.heard(pcm)
                elif self.call is not None:
                    self.call.leg.heard(pcm)

    async def ring(self, caller: str, timeout: float,
                   caller_info: CallerInfo | None = None) -> BrowserCall:
        if self.gone.is_set() or not self.connected.is_set():
            raise OutboundFailed(480, "browser not connected")
        if self.call is not None:
            raise OutboundFailed(486, "browser busy")
        call_id = f"webrtc-{uuid.uuid4().hex}"
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.ringing[call_id] = answer
        crm = crm_fields(caller_info)
        self.send({"type": "incoming", "call": call_id, "caller": caller, **crm})
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            done, _ = await asyncio.wait({answer, gone}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self.send({"type": "cancelled", "call": call_id})
            raise
        finally:
            gone.cancel()
            self.ringing.pop(call_id, None)
        if answer not in done:
            self.send({"type": "cancelled", "call": call_id})
            raise OutboundFailed(480 if self.gone.is_set() else 408,
                                 "browser gone" if self.gone.is_set() else "no answer")
        if answer.result() != "answer" or self.call is not None:
            raise OutboundFailed(603, "Decline")
        call = self.call = BrowserCall(call_id, BrowserLeg(self), self, caller=caller,
                                       crm=crm)
        self.send({"type": "connected", "call": call_id, "caller": caller, **crm})
        return call

    def receive(self, message: dict) -> None:
        """A message the browser sent (through the web role)."""
        self.last_heard = time.monotonic()
        kind = message.get("type")
        call = self.call
        if kind == "ping":  # the page's heartbeat, answered: it notices a lost network too
            self.send({"type": "pong"})
        elif kind == "offer" and isinstance(message.get("sdp"), str):
            self.spawn(self.negotiate(message["sdp"]))
        elif kind in ("answer", "decline"):
            future = self.ringing.get(str(message.get("call")))
            if future is not None and not future.done():
                future.set_result(kind)
        elif kind == "hangup" and call is not None:
            call.end("bye")
        elif kind == "mute" and call is not None:
            call.leg.muted = bool(message.get("on"))
        elif kind == "hold" and call is not None:
            call.leg.hold(bool(message.get("on")), self.phones.hold_music)
            self.send({"type": "held", "on": call.leg.held})
        elif kind == "dtmf" and call is not None:
            digits = str(message.get("digits", ""))
            for digit in digits[:32]:
                if digit in "0123456789*#ABCD":
                    call.leg.keyed(digit)
        elif kind == "transfer" and call is not None:
            target = str(message.get("target", ""))[:64]

            def answer(status: int, reason: str, call_id: str = call.call_id) -> None:
                self.send({"type": "transfer", "call": call_id, "status": status,
                           "reason": reason})

            call.referrals.put_nowait(Referral(target, answer))
        elif kind == "consult" and call is not None and self.consult is None:
            self.consult = Consult(str(message.get("target", ""))[:64], BrowserLeg(self))
            self.spawn(self._consult(call, self.consult))
        elif kind == "consult_cancel" and self.consult is not None:
            self.consult.cancel()
        elif kind == "consult_complete" and call is not None and self.consult is not None \
                and self.consult.call is not None:
            consult, self.consult = self.consult, None
            self.spawn(self._consult_complete(call, consult))
        elif kind == "dial" and call is None and self.consult is None \
                and self.phones.dialer is not None:
            number, caller_id = str(message.get("number", "")), str(message.get("caller_id", ""))
            if number.startswith("+") and number[1:].isdigit() and caller_id:
                self.spawn(self.phones.dialer(self, number, caller_id))
        elif kind == "stats":
            self.send({"type": "stats", "packets_in": self.packets_in,
                       "call": call.leg.stats() if call is not None else None})

    async def _consult_complete(self, call: BrowserCall, consult: Consult) -> None:
        """The attended transfer completes: the consulted agent is free again for the
        instant the queue offers them the caller (`offer_direct` takes an available
        agent), and the caller is handed to the consultation's call."""
        await self._consult_release(consult)
        consult.hand_over()

        def done(status: int, reason: str, call_id: str = call.call_id) -> None:
            self.send({"type": "transfer", "call": call_id, "status": status,
                       "reason": reason})

        call.referrals.put_nowait(Referral(consult.target, done, call=consult.call))
        if isinstance(consult.call, BrowserCall):  # its screen shows the caller now
            consult.call.caller, consult.call.crm = call.caller, call.crm
            consult.call.session.send({"type": "connected", "call": consult.call.call_id,
                                       "caller": call.caller, **call.crm})

    async def _consult_release(self, consult: Consult) -> None:
        """The consulted agent's state back from "on a call" (once, whoever ends first)."""
        if consult.busy and self.phones.busy is not None:
            consult.busy = False
            await asyncio.shield(self.phones.busy(consult.target_id, False))

    async def _consult(self, call: BrowserCall, consult: Consult) -> None:
        """An attended transfer's first half: the caller on hold (music), the target
        agent's phones rung; once they answer, the browser talks to them until it
        completes the transfer (`consult_complete`: the caller is handed to that call),
        cancels it, or either side hangs up (back to the caller)."""
        phones = self.phones
        target = (await phones.resolve(self.account_id, consult.target)
                  if phones.resolve is not None else None)
        if target is None or target.kind != "agent" or target.id == self.agent_id:
            self.consult = None
            self.send({"type": "consult_failed", "reason": "not an agent"})
            return
        consult.label = target.label
        call.leg.hold(True, phones.hold_music)
        self.send({"type": "held", "on": True})
        self.send({"type": "consulting", "target": target.label})
        ring = asyncio.ensure_future(ring_all(
            phones.originator, self.phones.registrations.contacts_of_agent(target.id),
            caller=self.label or "agent", timeout=30))
        consult.ringing = ring
        try:
            consult.call = await ring
        except (OutboundFailed, asyncio.CancelledError):
            if self.consult is consult:
                self.consult = None
            call.leg.hold(False, b"")
            self.send({"type": "consult_failed", "reason": "no answer"})
            self.send({"type": "held", "on": False})
            return
        if self.consult is not consult or call.ended.is_set():
            await consult.call.hangup()
            return
        consult.bridge = Bridge(consult.leg, consult.call.leg)
        self.send({"type": "consult_connected", "target": target.label})
        # The consulted agent talks: on a call, offered no queue call meanwhile.
        consult.target_id = target.id
        consult.busy = phones.busy is not None and await phones.busy(target.id, True)
        waits = [asyncio.ensure_future(e.wait())
                 for e in (consult.over, consult.call.ended, call.ended)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            if not consult.handed:
                await self._consult_release(consult)
        if consult.handed:
            return
        consult.bridge.stop()
        await consult.call.hangup()
        if self.consult is consult:
            self.consult = None
        if not call.ended.is_set():
            call.leg.hold(False, b"")
            self.send({"type": "held", "on": False})
        self.send({"type": "consult_ended"})

    def lose(self, reason: str) -> None:
        if self.gone.is_set():
            return
        self.gone_reason = reason
        self.gone.set()
        if self.call is not None:
            self.call.end("browser_gone")
        if self.consult is not None:
            self.consult.cancel()
        for future in self.ringing.values():
            if not future.done():
                future.set_result("gone")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.pc is not None:
            with contextlib.suppress(Exception):
                await self.pc.close()
        self.writer.close()


LostHandler = Callable[[str, str], Awaitable[None]]


class BrowserPhones:
    """The browsers connected to this engine (module doc): the control port's server,
    their bindings in `registrations`, and the INVITEs of those bindings."""

    def __init__(self, registrations: Registrations, *, secret: bytes,
                 on_lost: LostHandler | None = None, hold_music: bytes = b"",
                 heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
                 reconnect_grace: float = RECONNECT_GRACE,
                 wall: Callable[[], float] = time.time,
                 ice_servers: list[dict] | None = None) -> None:
        self.registrations = registrations
        self.ice_servers = ice_servers_checked(ice_servers or [])
        self.secret = secret
        self.on_lost = on_lost
        self.hold_music = hold_music
        self.heartbeat_timeout = heartbeat_timeout
        self.reconnect_grace = reconnect_grace
        self.wall = wall
        self.sessions: dict[str, BrowserSession] = {}  # by session id
        # What attended transfers use (the engine sets them): the phones' originator and
        # the desk's reading of a transfer target.
        self.originator: Originator | None = None
        self.resolve: Callable[[str, str], Awaitable[TransferTarget | None]] | None = None
        # Places the calls agents dial (`agent_dial`, wired by the engine).
        self.dialer: Callable[[BrowserSession, str, str], Awaitable[None]] | None = None
        # Marks an agent on a call (True) or free again (the desk's `own_call`, wired by
        # the engine): the consulted agent of an attended transfer. Returns whether their
        # state moved.
        self.busy: Callable[[str, bool], Awaitable[bool]] | None = None
        # Answers the web role's commands on the same port (chappe.voice.control).
        self.commands: Callable[[dict, asyncio.StreamWriter], Awaitable[None]] | None = None
        self._server: asyncio.AbstractServer | None = None
        self._watch: asyncio.Task | None = None
        self._serving: set[asyncio.Task] = set()  # one per control connection

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_LINE)
        self._watch = asyncio.get_running_loop().create_task(self._watchdog())
        return self._server.sockets[0].getsockname()[:2]

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions.values()):
            session.lose("engine stopping")
            await session.close()
        serving = list(self._serving)
        for task in serving:
            task.cancel()
        await asyncio.gather(*serving, return_exceptions=True)

    def of_agent(self, agent_id: str) -> list[BrowserSession]:
        return [s for s in self.sessions.values() if s.agent_id == agent_id]

    def bind(self, session: BrowserSession) -> None:
        self.registrations.attach(session.binding())

    async def originate(self, *, uri: str, caller: str, timeout: float,
                        caller_info: CallerInfo | None = None) -> OutboundCall:
        session = self.sessions.get(uri.removeprefix("webrtc:"))
        if session is None:
            raise OutboundFailed(480, "browser gone")
        return await session.ring(caller, timeout, caller_info)

    async def _serve(self, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        session = None
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
        try:
            hello = json.loads(await asyncio.wait_for(reader.readline(), 10) or b"{}")
            if isinstance(hello, dict) and hello.get("type") == "command" \
                    and self.commands is not None:  # the web role's (chappe.voice.control)
                await self.commands(hello, writer)
                return
            session = self._welcome(hello, writer)
            if session is None:
                writer.write(b'{"type": "refused"}\n')
                return
            while not session.gone.is_set():
                line = await self._next_line(reader, session)
                if not line:
                    session.lose("closed")
                    break
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict):
                    session.receive(message)
        except (TimeoutError, ValueError, ConnectionError, asyncio.LimitOverrunError):
            if session is not None:
                session.lose("connection error")
        finally:
            if session is not None:
                await self._forget(session)
            writer.close()

    @staticmethod
    async def _next_line(reader: asyncio.StreamReader, session: BrowserSession) -> bytes:
        line = asyncio.ensure_future(reader.readline())
        gone = asyncio.ensure_future(session.gone.wait())
        try:
            await asyncio.wait({line, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not line.done():
            line.cancel()
            return b""
        return line.result()

    def _welcome(self, hello: dict, writer: asyncio.StreamWriter) -> BrowserSession | None:
        try:
            agent_id, account_id = str(hello["agent_id"]), str(hello["account_id"])
            issued, signature = int(hello["issued"]), str(hello["sig"])
            nonce = str(hello["session"])
            label = str(hello.get("label", ""))[:32]
        except (KeyError, TypeError, ValueError):
            return None
        expected = hello_sign(self.secret, agent_id=agent_id, account_id=account_id,
                              session=f"{nonce}|{label}", issued=issued)
        if not hmac.compare_digest(expected, signature) or \
                abs(self.wall() - issued) > HELLO_TTL:
            logger.warning("browser hello for agent %s refused: bad signature", agent_id)
            return None
        for earlier in self.of_agent(agent_id):  # a second tab takes the phone over
            earlier.send({"type": "replaced"})
            earlier.gone_reason = "replaced"
            earlier.lose("replaced")
        session = BrowserSession(self, agent_id, account_id, writer, label)
        self.sessions[session.id] = session
        session.send({"type": "welcome", "session": session.id})
        logger.info("browser %s: agent %s connected", session.id, agent_id)
        return session

    async def _forget(self, session: BrowserSession) -> None:
        self.sessions.pop(session.id, None)
        self.registrations.detach(session.username)
        call = session.call
        await session.close()
        if call is not None:  # its bridge hangs up; wait for the call to be over
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.ended.wait(), 5)
        logger.info("browser %s (agent %s) gone: %s", session.id, session.agent_id,
                    session.gone_reason)
        if session.gone_reason == "replaced" or self.on_lost is None:
            return
        deadline = time.monotonic() + self.reconnect_grace
        while not self.of_agent(session.agent_id) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # the page reloading connects again
        if self.of_agent(session.agent_id) or \
                self.registrations.contacts_of_agent(session.agent_id):
            return  # the agent still has a phone
        try:
            await self.on_lost(session.agent_id, session.gone_reason)
        except Exception:
            logger.exception("browser %s: pausing agent %s failed", session.id,
                             session.agent_id)

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_timeout / 4)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                if now - session.last_heard > self.heartbeat_timeout:
                    session.lose("no heartbeat")


class PhoneOriginator:
    """The engine's originator for agents' phones: INVITEs over SIP, and the browsers'
    bindings rung here."""

    def __init__(self, sip: Originator, browsers: BrowserPhones) -> None:
        self.sip, self.browsers = sip, browsers

    async def originate(self, *, caller: str, callee: str, remote: tuple[str, int],
                        transport: str = "udp", auth: tuple[str, str] | None = None,
                        timeout: float = 30.0, uri: str = "",
                        caller_info: CallerInfo | None = None) -> OutboundCall:
        if transport == TRANSPORT:
            return await self.browsers.originate(uri=uri, caller=caller, timeout=timeout,
                                                 caller_info=caller_info)
        return await self.sip.originate(caller=caller, callee=callee, remote=remote,
                                        transport=transport, auth=auth, timeout=timeout,
                                        uri=uri)


# --- calls the agent places from the browser (the dial pad, click-to-call) ----------------

Routes = Callable[[str], Awaitable[list]]
Finish = Callable[[CallOutcome], Awaitable[None]]


async def agent_dial(session: BrowserSession, *, number: str, caller_id: str,
                     originator: Originator, gate: TrunkGate, routes: Routes,
                     finish: Finish, ring_timeout: float = 60.0) -> None:
    """Call `number` (E.164) through the trunks for the agent of `session`, presenting
    `caller_id` (one of the account's numbers: the web role checked both), bridge the
    browser to it until either side hangs up, and store the call's record (an outbound
    call of the agent, charged per second like any outbound leg)."""
    call = session.call = BrowserCall(f"webrtc-{uuid.uuid4().hex}", BrowserLeg(session),
                                      session)
    session.send({"type": "dialing", "call": call.call_id, "number": number})
    log = CallLog(f"agent-out:{number}", account_id=session.account_id)
    placing = asyncio.ensure_future(dial(
        originator, gate, await routes(number), log=log, caller=caller_id.lstrip("+"),
        callee=number.lstrip("+"), timeout=ring_timeout))
    hung_up = asyncio.ensure_future(call.ended.wait())
    try:
        await asyncio.wait({placing, hung_up}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hung_up.cancel()
        if not placing.done():
            placing.cancel()
        await asyncio.gather(placing, hung_up, return_exceptions=True)
    if placing.cancelled() or placing.exception() is not None:
        if placing.done() and not placing.cancelled():
            logger.error("agent %s: dialling %s failed", session.agent_id, number,
                         exc_info=placing.exception())
        if log.state != CallState.ENDED:
            log.move(CallState.ENDED, "canceled by the agent")
        await call.hangup()
        await finish(_outcome(session, number, caller_id, log, "canceled", "caller_cancel"))
        return
    dialed = placing.result()
    if dialed.call is None:
        await call.hangup()
        await finish(_outcome(session, number, caller_id, log, status_for(dialed.status)
                              if dialed.invited else "failed", dialed.cause))
        return
    # `record`: the reference of the call's record (its trunk leg's Call-ID), which the
    # wrap-up form writes to.
    session.send({"type": "connected", "call": call.call_id, "caller": number,
                  "outbound": True, "record": dialed.log.call_id})
    bridge = Bridge(call.leg, dialed.call.leg)
    waits = [asyncio.ensure_future(e.wait()) for e in (call.ended, dialed.call.ended)]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        bridge.stop()
        media = {**call.leg.stats(), **bridge.stats()}
        await dialed.end(gate, "the agent hung up")
        await call.hangup()
    outcome = _outcome(session, number, caller_id, dialed.log, "answered", dialed.cause)
    outcome.media = media
    await finish(outcome)


def _outcome(session: BrowserSession, number: str, caller_id: str, log: CallLog,
             disposition: str, cause: str) -> CallOutcome:
    return CallOutcome(target=CallTarget(account_id=session.account_id, e164=number,
                                         definition=None),
                       caller=caller_id, log=log, state=FlowState(path=("agent_dial",)),
                       disposition=disposition, hangup_cause=cause, direction="outbound",
                       agent_id=session.agent_id)
