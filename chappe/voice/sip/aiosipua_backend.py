"""The engine interface (chappe.voice.sip.base) on aiosipua 0.7 + aiortp 0.8.

Everything that knows these libraries lives in this module, so they can be replaced
(docs/decisions/0016-voice-engine.md)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable

from aiosipua import CallSession, SipUAC, SipUAS, parse_sdp
from aiosipua.message import SipRequest
from aiosipua.transport import TcpSipTransport, UdpSipTransport

from chappe.voice.sip.base import FRAME_BYTES, FRAME_MS, FRAME_SAMPLES, CallHandler

logger = logging.getLogger("chappe.voice.sip")

PCMU, PCMA, TELEPHONE_EVENT = 0, 8, 101
CODEC_NAMES = {PCMU: "PCMU", PCMA: "PCMA"}


class RtpPorts:
    """Even RTP ports handed out round-robin from a range (RTCP takes port + 1)."""

    def __init__(self, first: int = 20000, last: int = 29998) -> None:
        self.first, self.last = first + first % 2, last
        self._next = self.first
        self.in_use: set[int] = set()

    def take(self) -> int:
        span = (self.last - self.first) // 2 + 1
        for _ in range(span):
            port = self._next
            self._next = self.first if port + 2 > self.last else port + 2
            if port not in self.in_use:
                self.in_use.add(port)
                return port
        raise RuntimeError("no free RTP port")

    def give_back(self, port: int) -> None:
        self.in_use.discard(port)


class _TcpTransport(TcpSipTransport):
    """TCP transport answering on the connection the request came in on (RFC 3261
    §18.2.2), not on a new connection to the Via address (aiosipua 0.7.1 does the
    latter and fails when the peer's Via names its listening port)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._by_call: dict[str, tuple[str, int]] = {}

    def remember(self, call_id: str, addr: tuple[str, int]) -> None:
        self._by_call[call_id] = addr
        if len(self._by_call) > 10_000:
            self._by_call.pop(next(iter(self._by_call)))

    def send(self, message, addr: tuple[str, int]) -> None:
        if addr not in self._connections:
            addr = self._by_call.get(message.call_id or "", addr)
        super().send(message, addr)


class AiortpLeg:
    """MediaLeg on an aiosipua CallSession."""

    def __init__(self, session: CallSession) -> None:
        self._session = session
        self.codec = CODEC_NAMES.get(session.chosen_payload_type, str(session.chosen_payload_type))
        self._timestamp = 0
        self._marker_pending = True
        self._dtmf: Callable[[str], None] | None = None
        self._recording: bytearray | None = None
        self._record_base: int | None = None
        self.frames_sent = 0
        self.late_frames = 0
        session.on_dtmf = self._on_dtmf
        session.on_audio = self._on_audio

    def set_dtmf_handler(self, handler: Callable[[str], None]) -> None:
        self._dtmf = handler

    def _on_dtmf(self, digit: str, _duration: int) -> None:
        if self._dtmf is not None:
            self._dtmf(digit)

    def dtmf_info(self, digit: str) -> None:
        self._on_dtmf(digit, 0)

    def _on_audio(self, pcm: bytes, timestamp: int) -> None:
        if self._recording is None:
            return
        if self._record_base is None:
            self._record_base = timestamp
        # Place the frame by its RTP timestamp: lost packets become silence, the length
        # stays true to the caller's clock.
        offset = ((timestamp - self._record_base) % (1 << 32)) * 2
        if offset > 600 * 8000 * 2:  # a timestamp jump (new SSRC): append instead
            offset = len(self._recording)
            self._record_base = timestamp - offset // 2
        end = offset + len(pcm)
        if end > len(self._recording):
            self._recording.extend(b"\0" * (end - len(self._recording)))
        self._recording[offset:end] = pcm

    def start_recording(self) -> None:
        self._recording = bytearray()
        self._record_base = None

    def stop_recording(self) -> bytes:
        data, self._recording = bytes(self._recording or b""), None
        return data

    async def play(self, pcm: bytes, stop: asyncio.Event | None = None) -> bool:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(range(0, len(pcm), FRAME_BYTES)):
            if stop is not None and stop.is_set():
                return False
            frame = pcm[offset:offset + FRAME_BYTES]
            if len(frame) < FRAME_BYTES:
                frame += b"\0" * (FRAME_BYTES - len(frame))
            rtp = self._session.rtp_session
            if rtp is None:
                return False
            rtp.send_audio_pcm(frame, self._timestamp)
            self._timestamp = (self._timestamp + FRAME_SAMPLES) % (1 << 32)
            self.frames_sent += 1
            due = start + (index + 1) * FRAME_MS / 1000
            delay = due - loop.time()
            if delay < -FRAME_MS / 1000:
                self.late_frames += 1
            if delay > 0:
                if stop is None:
                    await asyncio.sleep(delay)
                else:
                    try:
                        await asyncio.wait_for(stop.wait(), delay)
                        return False
                    except TimeoutError:
                        pass
        return True

    def stats(self) -> dict:
        return {"codec": self.codec, "frames_sent": self.frames_sent,
                "late_frames": self.late_frames, **(self._session.stats or {})}

    async def close(self) -> None:
        await self._session.close()


class AiosipuaCall:
    """InboundCall on an aiosipua IncomingCall."""

    def __init__(self, endpoint: AiosipuaEndpoint, incoming) -> None:
        self._endpoint = endpoint
        self._incoming = incoming
        self.call_id = incoming.call_id
        self.caller = _user_of(incoming.caller)
        self.callee = _user_of(str(incoming.invite.uri)) or _user_of(incoming.callee)
        self.source = incoming.source_addr
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.leg: AiortpLeg | None = None
        self._rtp_port: int | None = None

    def ringing(self) -> None:
        self._incoming.ringing()

    async def answer(self) -> AiortpLeg:
        offer = self._incoming.sdp_offer
        if offer is None:
            raise ValueError("INVITE without SDP offer")
        self._rtp_port = self._endpoint.rtp_ports.take()
        session = CallSession(local_ip=self._endpoint.host, rtp_port=self._rtp_port, offer=offer,
                              supported_codecs=[PCMA, PCMU], dtmf_payload_type=TELEPHONE_EVENT)
        # Register the leg before awaiting: a BYE may arrive while RTP starts.
        self.leg = AiortpLeg(session)
        await session.start()
        self._incoming.accept(session.sdp_answer)
        return self.leg

    def reject(self, status: int, reason: str = "") -> None:
        self._incoming.reject(status, reason)
        self._endpoint.forget(self.call_id)

    def peer_ended(self, reason: str) -> None:
        self.end_reason = reason
        self.ended.set()

    async def hangup(self) -> None:
        if not self.ended.is_set():
            self._incoming.hangup()
        await self.release()

    async def release(self) -> None:
        if self.leg is not None:
            await self.leg.close()
            self.leg = None
        if self._rtp_port is not None:
            self._endpoint.rtp_ports.give_back(self._rtp_port)
            self._rtp_port = None
        self._endpoint.forget(self.call_id)


class _OutboundSession:
    """The CallSession-like face AiortpLeg needs, for a leg we originated (aiosipua's
    CallSession only negotiates as the answerer)."""

    def __init__(self, rtp_session, payload_type: int) -> None:
        self.rtp_session = rtp_session
        self.chosen_payload_type = payload_type
        self.on_dtmf = None
        self.on_audio = None
        rtp_session.on_audio = lambda pcm, ts: self.on_audio and self.on_audio(pcm, ts)
        rtp_session.on_dtmf = lambda digit, d: self.on_dtmf and self.on_dtmf(digit, d)

    @property
    def stats(self) -> dict:
        return self.rtp_session.stats

    async def close(self) -> None:
        await self.rtp_session.close()


class OutboundFailed(RuntimeError):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.reason = status, reason


class AiosipuaOutbound:
    """An outbound leg: INVITE sent by us (TTS messages, transfers)."""

    def __init__(self, endpoint: AiosipuaEndpoint, call, rtp_port: int) -> None:
        self._endpoint = endpoint
        self._call = call
        self.call_id = call.call_id
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.leg: AiortpLeg | None = None
        self._rtp_port = rtp_port

    def peer_ended(self, reason: str) -> None:
        self.end_reason = reason
        self.ended.set()

    async def hangup(self) -> None:
        if not self.ended.is_set():
            self._call.hangup(self._endpoint.uac)
        await self.release()

    async def release(self) -> None:
        if self.leg is not None:
            await self.leg.close()
            self.leg = None
        if self._rtp_port is not None:
            self._endpoint.rtp_ports.give_back(self._rtp_port)
            self._rtp_port = None
        self._endpoint.forget(self.call_id)


def _offer(ip: str, port: int) -> str:
    return ("v=0\r\n"
            f"o=chappe {port} 1 IN IP4 {ip}\r\n"
            "s=-\r\n"
            f"c=IN IP4 {ip}\r\n"
            "t=0 0\r\n"
            f"m=audio {port} RTP/AVP {PCMA} {PCMU} {TELEPHONE_EVENT}\r\n"
            f"a=rtpmap:{PCMA} PCMA/8000\r\n"
            f"a=rtpmap:{PCMU} PCMU/8000\r\n"
            f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000\r\n"
            f"a=fmtp:{TELEPHONE_EVENT} 0-16\r\n"
            "a=ptime:20\r\n"
            "a=sendrecv\r\n")


def _user_of(uri: str) -> str:
    match = re.search(r"sips?:([^@;>]+)@", uri or "")
    return match.group(1) if match else ""


class AiosipuaEndpoint:
    """SipEndpoint: one UAS on UDP and one on TCP, same host and port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5060, *,
                 rtp_ports: RtpPorts | None = None, user_agent: str = "Chappe") -> None:
        self.host, self.port = host, port
        self.rtp_ports = rtp_ports or RtpPorts()
        self.user_agent = user_agent
        self.on_call: CallHandler | None = None
        self._uases: list[SipUAS] = []
        self._calls: dict[str, AiosipuaCall | AiosipuaOutbound] = {}
        self.uac: SipUAC | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    async def originate(self, *, caller: str, callee: str, remote: tuple[str, int],
                        timeout: float = 30.0) -> AiosipuaOutbound:
        """Call `callee` at `remote` (a trunk or a phone) over UDP; returns the answered
        leg. Raises OutboundFailed (status 4xx-6xx, or 408 when nobody answered in time:
        the INVITE is then CANCELed)."""
        import aiortp

        port = self.rtp_ports.take()
        offer = parse_sdp(_offer(self.host, port))
        call = self.uac.send_invite(f"sip:{caller}@{self.host}:{self.port}",
                                    f"sip:{callee}@{remote[0]}:{remote[1]}", remote, offer,
                                    user_agent=self.user_agent)
        outbound = AiosipuaOutbound(self, call, port)
        self._calls[call.call_id] = outbound  # a BYE may come at any time
        try:
            await call.wait_answered(timeout)
        except TimeoutError:
            call.cancel(self.uac)
            await outbound.release()
            raise OutboundFailed(408, "no answer") from None
        except RuntimeError:
            await outbound.release()
            raise OutboundFailed(call._reject_code, call._reject_reason) from None
        answer = call.sdp_answer
        remote_rtp = answer.rtp_address if answer is not None else None
        codecs = [c.payload_type for c in (answer.audio.codecs if answer and answer.audio
                                           else [])]
        chosen = next((pt for pt in codecs if pt in (PCMA, PCMU)), None)
        if remote_rtp is None or chosen is None:
            await outbound.hangup()
            raise OutboundFailed(488, "no common codec")
        rtp = await aiortp.RTPSession.create(local_addr=(self.host, port), remote_addr=remote_rtp,
                                             payload_type=chosen, clock_rate=8000,
                                             dtmf_payload_type=TELEPHONE_EVENT)
        outbound.leg = AiortpLeg(_OutboundSession(rtp, chosen))
        return outbound

    async def start(self) -> tuple[str, int]:
        udp = UdpSipTransport(local_addr=(self.host, self.port))
        self.uac = SipUAC(udp)
        udp_uas = self._uas(udp, self.uac)
        await udp_uas.start()
        sockname = udp._udp_transport.get_extra_info("sockname")
        self.port = sockname[1]
        tcp = _TcpTransport(local_addr=(self.host, self.port))
        tcp_uas = self._uas(tcp)
        await tcp_uas.start()
        dispatch = tcp.on_message

        def remembering(message, addr) -> None:
            tcp.remember(message.call_id or "", addr)
            dispatch(message, addr)

        tcp.on_message = remembering
        self._uases = [udp_uas, tcp_uas]
        return self.host, self.port

    def _uas(self, transport, uac: SipUAC | None = None) -> SipUAS:
        uas = SipUAS(transport, user_agent=self.user_agent, uac=uac)
        uas.on_invite = self._on_invite
        uas.on_bye = lambda call, _req: self._peer_ended(call.call_id, "bye")
        uas.on_cancel = lambda req, _addr: self._peer_ended(req.call_id or "", "cancel")
        uas.on_ack_timeout = lambda call: self._peer_ended(call.call_id, "ack_timeout")
        uas.on_options = lambda req, addr: None  # aiosipua answers 200 itself
        uas._handlers["INFO"] = lambda req, addr: self._on_info(uas, req)
        return uas

    def _on_invite(self, incoming) -> None:
        if incoming.call_id in self._calls:
            return  # a retransmitted INVITE: the 100 Trying went out again
        call = AiosipuaCall(self, incoming)
        self._calls[call.call_id] = call
        if self.on_call is None:
            call.reject(503)
            return
        task = asyncio.get_running_loop().create_task(self.on_call(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_info(self, uas: SipUAS, request: SipRequest) -> None:
        """SIP INFO DTMF (application/dtmf-relay `Signal=5`), the RFC 4733 fallback."""
        call = self._calls.get(request.call_id or "")
        incoming = uas.get_call(request.call_id or "")
        if call is None or incoming is None:
            uas._send_error(request, 481, "Call/Transaction Does Not Exist")
            return
        uas.transport.send_reply(incoming.dialog.create_response(request, 200, "OK"))
        match = re.search(r"Signal\s*=\s*([0-9*#A-D])", request.text or "", re.IGNORECASE)
        if match and call.leg is not None:
            call.leg.dtmf_info(match.group(1).upper())

    def _peer_ended(self, call_id: str, reason: str) -> None:
        call = self._calls.get(call_id)
        if call is not None:
            call.peer_ended(reason)

    def forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for uas in self._uases:
            await uas.stop()
        self._uases = []
