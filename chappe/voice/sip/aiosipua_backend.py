"""The engine interface (chappe.voice.sip.base) on aiosipua 0.7 + aiortp 0.8.

Everything that knows these libraries lives in this module, so they can be replaced
(docs/decisions/0016-voice-engine.md). What 0.7.1 lacks or gets wrong is filled in here,
each with its reason: TCP replies on the connection a request came in on, the Via
transport of requests sent over TCP, the ACK of a non-2xx final response, INVITE
retransmission over UDP (sending it, and answering a retransmitted one), the timers that
end a refused INVITE's transaction (chappe.voice.sip.transactions), SIP INFO DTMF,
session timers only where the caller offers them, answers to mid-call offers (re-INVITE,
UPDATE) that keep the media running, INVITEs without an offer (ours goes in the 200, the
answer comes in the ACK), refusals of what cannot be served (no common codec: 488; a
malformed SDP or a datagram shorter than its Content-Length: 400), the telephone-event
payload type the caller offered, and RFC 4733 digits whose end packets never came. The
media clock (chappe.voice.sip.pacing) sends every call's frames, silence included. A
REFER (aiosipua answers it 202 with the first NOTIFY) is queued on its call
(`referrals`) for whoever handles transfers."""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import socket
import time
from collections import OrderedDict
from collections.abc import Callable

import aiortp
from aiortp.dtmf import DtmfEvent
from aiosipua import (
    SdpMessage,
    SdpNegotiationError,
    SipDigestAuth,
    SipUAC,
    SipUAS,
    negotiate_sdp,
    parse_sdp,
    serialize_sdp,
)
from aiosipua.dialog import DialogState, _default_reason
from aiosipua.message import SipRequest, SipResponse, missing_required_headers
from aiosipua.refer import notify_refer
from aiosipua.session_timer import parse_session_expires, peer_allows_update
from aiosipua.transaction import T1, TransactionLayer
from aiosipua.transport import TcpSipTransport, UdpSipTransport
from aiosipua.uas_requests import handle_ack, session_refreshed
from aiosipua.utils import generate_tag

from chappe.voice.sip.base import (
    CallHandler,
    MediaRefused,
    OutboundFailed,
    Referral,
    RegisterHandler,
    RegisterReply,
    RegisterRequest,
)
from chappe.voice.sip.pacing import Pacer, frames
from chappe.voice.sip.telephone_events import TelephoneEvents
from chappe.voice.sip.transactions import AnsweredRequests, RefusedInvites, SipTimers

logger = logging.getLogger("chappe.voice.sip")

PCMU, PCMA, TELEPHONE_EVENT = 0, 8, 101
CODEC_NAMES = {PCMU: "PCMU", PCMA: "PCMA"}
# RFC 4028 §4: the smallest session interval we accept (a 422 names it).
DEFAULT_MIN_SE = 90
# A SIP INFO digit without a Duration lasts this long when relayed as RFC 4733.
INFO_DTMF_MS = 160


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
            if port not in self.in_use and _udp_free(port) and _udp_free(port + 1):
                self.in_use.add(port)
                return port
        raise RuntimeError("no free RTP port")

    def give_back(self, port: int) -> None:
        self.in_use.discard(port)


def _udp_free(port: int) -> bool:
    """Whether no other process holds the UDP port (another engine, another service in the
    range): a port of ours another program took is skipped, not a failed call."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def _bounded_put(store: OrderedDict, key, value, limit: int = 10_000) -> None:
    store[key] = value
    if len(store) > limit:
        store.popitem(last=False)


class _Transactions(TransactionLayer):
    """aiosipua's transaction table, pruned of expired entries once a second instead of
    on every new transaction: 0.7.1 walks the whole table for each INVITE, a cost that
    grows with the call rate (2 % of the engine's time at 150 calls/s)."""

    def __init__(self) -> None:
        super().__init__()
        self._pruned_at = 0.0

    def _prune_expired(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at >= 1.0:
            self._pruned_at = now
            super()._prune_expired()


class _TcpTransport(TcpSipTransport):
    """TCP transport answering on the connection the request came in on (RFC 3261
    §18.2.2), not on a new connection to the Via address (aiosipua 0.7.1 does the
    latter and fails when the peer's Via names its listening port). Requests we send
    say TCP in their Via (0.7.1 always writes UDP)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._by_call: OrderedDict[str, tuple[str, int]] = OrderedDict()

    def remember(self, call_id: str, addr: tuple[str, int]) -> None:
        _bounded_put(self._by_call, call_id, addr)

    async def connect_once(self, remote: tuple[str, int]) -> None:
        """Open (or reuse) a connection to a trunk."""
        if remote not in self._connections:
            await self.connect(remote)

    def send(self, message, addr: tuple[str, int]) -> None:
        if isinstance(message, SipRequest):
            vias = message.headers.get("via")
            if vias and vias[0].startswith("SIP/2.0/UDP"):
                message.headers.remove("Via")
                for via in ["SIP/2.0/TCP" + vias[0][len("SIP/2.0/UDP"):], *vias[1:]]:
                    message.headers.append("Via", via)
        if addr not in self._connections:
            addr = self._by_call.get(message.call_id or "", addr)
        super().send(message, addr)


class _Uac(SipUAC):
    """SipUAC that ACKs non-2xx final responses to its INVITEs (RFC 3261 §17.1.1.3),
    retransmissions included: aiosipua 0.7.1 sends no such ACK, so the far end keeps
    retransmitting its 4xx/5xx and never completes the transaction."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.transactions = _Transactions()
        self._invite_uris: OrderedDict[str, str] = OrderedDict()

    def send_invite(self, *args, **kwargs):
        call = super().send_invite(*args, **kwargs)
        _bounded_put(self._invite_uris, call.call_id, call.invite.uri)
        return call

    def handle_response(self, response: SipResponse, addr: tuple[str, int]) -> None:
        cseq = response.cseq
        uri = self._invite_uris.get(response.call_id or "")
        if (response.status_code >= 300 and uri is not None and cseq is not None
                and cseq.method.upper() == "INVITE"):
            ack = SipRequest(method="ACK", uri=uri)
            ack.headers.append("Via", response.headers.get("via")[0])
            for name in ("From", "To", "Call-ID"):
                ack.headers.set_single(name, response.headers.get_first(name) or "")
            ack.headers.set_single("CSeq", f"{cseq.seq} ACK")
            ack.headers.set_single("Max-Forwards", "70")
            self.transport.send(ack, addr)
        super().handle_response(response, addr)


class _EventPackets:
    """Stands in for aiortp's DTMF receiver (`RTPSession._dtmf_receiver`, pinned 0.8):
    telephone-event packets go to TelephoneEvents, which also ends an event that lost
    its end packets (chappe.voice.sip.telephone_events)."""

    def __init__(self, events: TelephoneEvents) -> None:
        self._events = events

    def handle_packet(self, packet) -> None:
        try:
            event = DtmfEvent.parse(packet.payload)
        except ValueError:
            return
        self._events.packet(timestamp=packet.timestamp, event=event.event, end=event.end,
                            duration=event.duration)


class AiortpLeg:
    """MediaLeg on an aiortp RTP session, on the media clock (chappe.voice.sip.pacing)
    from its start to its close."""

    def __init__(self, rtp, *, payload_type: int, dtmf_payload_type: int,
                 pacer: Pacer) -> None:
        self._rtp = rtp
        self._pacer = pacer
        self.payload_type = payload_type
        # The telephone-event payload type in our SDP: the far end's, mirrored.
        self.dtmf_payload_type = dtmf_payload_type
        self.codec = CODEC_NAMES.get(self.payload_type, str(self.payload_type))
        self._timestamp = 0
        self._dtmf: Callable[[str, int], None] | None = None
        self._sink: Callable[[bytes], None] | None = None
        self._recording: bytearray | None = None
        self._record_base: int | None = None
        # False while the peer holds the call (its offer said sendonly or inactive).
        self.sending = True
        self.frames_sent = 0
        self.late_frames = 0
        # When a frame or digit from elsewhere (a bridge) was last sent: the pacer fills
        # only what nobody feeds.
        self.fed_at = 0.0
        self._events = TelephoneEvents(self._on_dtmf)
        rtp.on_audio = self._on_audio
        rtp._dtmf_receiver = _EventPackets(self._events)
        pacer.attach(self)

    @property
    def codec_impl(self):
        return self._rtp.codec if self._rtp is not None else None

    def set_dtmf_handler(self, handler: Callable[[str, int], None]) -> None:
        self._dtmf = handler

    def set_audio_sink(self, sink: Callable[[bytes], None] | None) -> None:
        self._sink = sink

    def _on_dtmf(self, digit: str, duration: int) -> None:
        if self._dtmf is not None:
            self._dtmf(digit, duration * 1000 // 8000)  # RTP clock units → ms

    def dtmf_info(self, digit: str, duration_ms: int) -> None:
        if self._dtmf is not None:
            self._dtmf(digit, duration_ms)

    def _on_audio(self, pcm: bytes, timestamp: int) -> None:
        if self._sink is not None:
            self._sink(pcm)
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

    def send_payload(self, payload: bytes, late: bool = False) -> bool:
        """Send one encoded frame (the pacer's tick); False once the media is gone."""
        rtp = self._rtp
        if rtp is None:
            return False
        if self.sending:
            rtp.send_audio(payload, self._timestamp)
            self.frames_sent += 1
            self.late_frames += late
        self._timestamp = (self._timestamp + len(payload)) % (1 << 32)  # G.711: a byte a sample
        return True

    def send_audio(self, pcm: bytes) -> None:
        rtp = self._rtp
        if rtp is not None:
            self.fed_at = asyncio.get_running_loop().time()
            self.send_payload(rtp.codec.encode(pcm))

    def send_dtmf(self, digit: str, duration_ms: int) -> None:
        rtp = self._rtp
        if rtp is None or not self.sending:
            return
        self.fed_at = asyncio.get_running_loop().time()
        rtp.send_dtmf(digit, duration_ms, timestamp=self._timestamp)
        self._timestamp = (self._timestamp + duration_ms * 8) % (1 << 32)

    def redirect(self, address: tuple[str, int]) -> None:
        """Send to a new address (a mid-call offer moved the peer's media)."""
        if self._rtp is not None:
            self._rtp.update_remote(address)

    async def play(self, pcm: bytes, stop: asyncio.Event | None = None) -> bool:
        rtp = self._rtp
        if rtp is None:
            return False
        return await self._pacer.play(self, frames(pcm, self.payload_type, rtp.codec), stop)

    def stats(self) -> dict:
        return {"codec": self.codec, "frames_sent": self.frames_sent,
                "late_frames": self.late_frames,
                **(self._rtp.stats if self._rtp is not None else {})}

    async def close(self) -> None:
        self._pacer.detach(self)
        self._events.close()
        rtp, self._rtp = self._rtp, None
        if rtp is not None:
            await rtp.close()


class _Side:
    """What an inbound call and a call we placed share: media, our current SDP, how the
    call ended, and answers to the far end's mid-call offers."""

    def __init__(self, endpoint: AiosipuaEndpoint, call_id: str) -> None:
        self._endpoint = endpoint
        self.call_id = call_id
        self.ended = asyncio.Event()
        self.end_reason = ""
        self.leg: AiortpLeg | None = None
        self.sdp: SdpMessage | None = None  # what we last told the far end
        self._rtp_port: int | None = None
        self.referrals: asyncio.Queue[Referral] = asyncio.Queue()

    def peer_ended(self, reason: str) -> None:
        self.end_reason = reason
        self.ended.set()

    def answer_offer(self, offer: SdpMessage) -> SdpMessage | None:
        """Our answer to a mid-call offer (re-INVITE, UPDATE; RFC 3264 §8): same port and
        codec, media sent where the offer says, direction mirrored (hold). None when the
        offer drops our codec (488)."""
        if self.leg is None or self.sdp is None or self._rtp_port is None:
            return None
        try:
            answer, _chosen = negotiate_sdp(
                offer, self._endpoint.host, self._rtp_port,
                supported_codecs=[self.leg.payload_type],
                dtmf_payload_type=self.leg.dtmf_payload_type,
                session_id=self.sdp.origin.session_id)
        except SdpNegotiationError:
            return None
        answer.origin.username = self.sdp.origin.username
        answer.origin.session_version = str(int(self.sdp.origin.session_version) + 1)
        if offer.rtp_address is not None and offer.rtp_address[1]:
            self.leg.redirect(offer.rtp_address)
        self.leg.sending = answer.audio is not None and answer.audio.direction in (
            "sendrecv", "sendonly")
        self.sdp = answer
        return answer

    def _send_bye(self) -> None:
        raise NotImplementedError

    async def hangup(self) -> None:
        """Send BYE (unless the far end already ended) and release media."""
        if not self.ended.is_set():
            try:
                self._send_bye()
            except RuntimeError:  # a TCP connection that is gone
                logger.warning("call %s: BYE not sent", self.call_id, exc_info=True)
        await self.release()

    async def release(self) -> None:
        if self.leg is not None:
            await self.leg.close()
            self.leg = None
        if self._rtp_port is not None:
            self._endpoint.rtp_ports.give_back(self._rtp_port)
            self._rtp_port = None
        self._endpoint.forget(self.call_id)


class AiosipuaCall(_Side):
    """InboundCall on an aiosipua IncomingCall."""

    def __init__(self, endpoint: AiosipuaEndpoint, incoming) -> None:
        super().__init__(endpoint, incoming.call_id)
        self._incoming = incoming
        self.caller = _user_of(incoming.caller)
        self.callee = _user_of(str(incoming.invite.uri)) or _user_of(incoming.callee)
        self.source = incoming.source_addr
        self._last_sent = "trying"  # the 100 aiosipua sent; then ringing, answered
        # An INVITE without an offer: the ACK's SDP answer (None: the ACK had none).
        self.ack_answer: asyncio.Future[SdpMessage | None] | None = None

    @property
    def authorization(self) -> str:
        return self._incoming.invite.get_header("authorization") or ""

    def ringing(self) -> None:
        self._incoming.ringing()
        self._last_sent = "ringing"

    def resend(self) -> None:
        """Our last response again, to a retransmission of the INVITE."""
        if self._last_sent == "answered":
            self._incoming.accept(self.sdp)
        elif self._last_sent == "ringing":
            self._incoming.ringing()
        else:
            self._incoming.trying()

    async def answer(self) -> AiortpLeg:
        offer = self._incoming.sdp_offer
        if offer is None:
            self._rtp_port = self._endpoint.rtp_ports.take()
            return await self._answer_in_ack()
        media = _media_of(offer)
        if media is None:  # the INVITE's check lets none through: kept for safety
            self.reject(488)
            raise MediaRefused("no codec in common with the offer")
        payload_type, remote, dtmf = media
        dtmf = dtmf or TELEPHONE_EVENT
        self._rtp_port, self.leg = await self._endpoint.media_start(remote, payload_type, dtmf)
        answer, _chosen = negotiate_sdp(offer, self._endpoint.host, self._rtp_port,
                                        supported_codecs=[PCMA, PCMU],
                                        dtmf_payload_type=dtmf)
        self.sdp = answer
        self._incoming.accept(answer)
        self._last_sent = "answered"
        return self.leg

    async def _answer_in_ack(self) -> AiortpLeg:
        """An INVITE without an offer (RFC 3261 §13.2.1, RFC 3264 §5): our offer goes in
        the 200 OK, the caller's answer comes in its ACK. MediaRefused when the ACK
        carries no answer we can use (the runner then hangs up, RFC 3261 §13.3.1.4), or
        when no ACK comes."""
        assert self._rtp_port is not None
        self.sdp = parse_sdp(_offer(self._endpoint.host, self._rtp_port))
        self.ack_answer = asyncio.get_running_loop().create_future()
        self._incoming.accept(self.sdp)
        self._last_sent = "answered"
        ended = asyncio.ensure_future(self.ended.wait())
        try:
            await asyncio.wait([self.ack_answer, ended], return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
        answer = self.ack_answer.result() if self.ack_answer.done() else None
        media = _media_of(answer) if answer is not None else None
        if media is None:
            raise MediaRefused("no usable SDP answer in the ACK")
        payload_type, remote, dtmf = media
        _port, self.leg = await self._endpoint.media_start(remote, payload_type,
                                                           dtmf or TELEPHONE_EVENT,
                                                           port=self._rtp_port)
        return self.leg

    def reject(self, status: int, reason: str = "",
               headers: dict[str, str] | None = None) -> None:
        self._endpoint.refuse(self._incoming, status, reason, headers)
        self._endpoint.forget(self.call_id)

    def _send_bye(self) -> None:
        self._incoming.hangup()


class AiosipuaOutbound(_Side):
    """An outbound leg: INVITE sent by us (TTS messages, transfers)."""

    def __init__(self, endpoint: AiosipuaEndpoint, uac: SipUAC, call, rtp_port: int,
                 offer: SdpMessage) -> None:
        super().__init__(endpoint, call.call_id)
        self._uac = uac
        self._call = call
        self._rtp_port = rtp_port
        self.sdp = offer

    def _send_bye(self) -> None:
        self._call.hangup(self._uac)


def _media_of(sdp: SdpMessage) -> tuple[int, tuple[str, int], int | None] | None:
    """What we can send to an SDP's first audio stream: (G.711 payload type, RTP address,
    its telephone-event payload type or None), or None when it offers neither PCMA nor
    PCMU, or no address or port to send to."""
    audio, remote = sdp.audio, sdp.rtp_address
    if audio is None or remote is None or not audio.port:
        return None
    payload_type = next((c.payload_type for c in audio.codecs if c.payload_type in (PCMA, PCMU)),
                        None)
    if payload_type is None:
        return None
    dtmf = next((c.payload_type for c in audio.codecs
                 if (c.encoding_name or "").lower() == "telephone-event"), None)
    return payload_type, remote, dtmf


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


def _has_sdp(request: SipRequest) -> bool:
    return bool(request.body) and (request.content_type or "").startswith("application/sdp")


def _cut_short(message: SipRequest | SipResponse) -> bool:
    """A datagram whose body is shorter than its Content-Length says (or whose
    Content-Length is no number): cut in transit, or forged. aiosipua keeps it."""
    declared = message.headers.get_first("content-length")
    if declared is None:
        return False
    try:
        return int(declared.strip()) > len(message.body)
    except ValueError:
        return True


def _refuse_cut_short(uas: SipUAS, message: SipRequest | SipResponse,
                      addr: tuple[str, int]) -> None:
    """RFC 3261 §18.3: a request cut short gets a 400, a response is dropped (and so is
    what cannot be answered: an ACK, a request without a Via to route the answer by)."""
    logger.warning("message from %s: body shorter than its Content-Length: %s", addr,
                   "400" if isinstance(message, SipRequest) else "dropped")
    if (isinstance(message, SipRequest) and message.method.upper() != "ACK"
            and "via" not in missing_required_headers(message)):
        uas._send_error(message, 400, "Bad Request (Content-Length beyond the datagram)")


class AiosipuaEndpoint:
    """SipEndpoint and Originator: one UAS+UAC on UDP and one on TCP, same host and port.

    `min_se` is the shortest RFC 4028 session interval we accept from a caller; `timers`
    the RFC 3261 timer values (tests shorten them)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5060, *,
                 rtp_ports: RtpPorts | None = None, user_agent: str = "Chappe",
                 min_se: int = DEFAULT_MIN_SE, timers: SipTimers | None = None) -> None:
        self.host, self.port = host, port
        self.rtp_ports = rtp_ports or RtpPorts()
        self.user_agent = user_agent
        self.min_se = min_se
        self.on_call: CallHandler | None = None
        self.on_register: RegisterHandler | None = None
        self.pacer = Pacer()
        self._uases: list[SipUAS] = []
        self._uacs: dict[str, _Uac] = {}
        self._tcp: _TcpTransport | None = None
        self._calls: dict[str, AiosipuaCall | AiosipuaOutbound] = {}
        # INVITEs answered with a final error, by (Call-ID, CSeq), until Timer H or I.
        self.refused = RefusedInvites(timers)
        # REGISTERs being answered or answered, until Timer J.
        self.registers = AnsweredRequests(timers)
        self._tasks: set[asyncio.Task] = set()

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    async def originate(self, *, caller: str, callee: str, remote: tuple[str, int],
                        transport: str = "udp", auth: tuple[str, str] | None = None,
                        timeout: float = 30.0, uri: str = "") -> AiosipuaOutbound:
        """Originator.originate (chappe.voice.sip.base)."""
        uac = self._uacs[transport]
        if transport == "tcp":
            assert self._tcp is not None
            try:
                await self._tcp.connect_once(remote)
            except OSError as exc:
                raise OutboundFailed(503, f"TCP connection failed: {exc}") from None
        port = self.rtp_ports.take()
        offer = parse_sdp(_offer(self.host, port))
        call = uac.send_invite(f"sip:{caller}@{self.host}:{self.port}",
                               uri or f"sip:{callee}@{remote[0]}:{remote[1]}", remote, offer,
                               user_agent=self.user_agent,
                               auth=SipDigestAuth(*auth) if auth else None)
        outbound = AiosipuaOutbound(self, uac, call, port, offer)
        self._calls[call.call_id] = outbound  # a BYE may come at any time
        call.on_session_expired = lambda _call: outbound.peer_ended("session_expired")
        resend = (self._spawn(self._retransmit_invite(uac, call, remote))
                  if transport == "udp" else None)
        try:
            await call.wait_answered(timeout)
        except TimeoutError:
            call.cancel(uac)
            await outbound.release()
            raise OutboundFailed(408, "no answer") from None
        except RuntimeError:
            await outbound.release()
            raise OutboundFailed(call._reject_code, call._reject_reason) from None
        except asyncio.CancelledError:
            if call.dialog.state == DialogState.EARLY:
                call.cancel(uac)
            await outbound.hangup()
            raise
        finally:
            if resend is not None:
                resend.cancel()
        media = _media_of(call.sdp_answer) if call.sdp_answer is not None else None
        if media is None:
            await outbound.hangup()
            raise OutboundFailed(488, "no common codec")
        payload_type, remote_rtp, dtmf = media
        _port, outbound.leg = await self.media_start(remote_rtp, payload_type,
                                                     dtmf or TELEPHONE_EVENT, port=port)
        return outbound

    async def media_start(self, remote: tuple[str, int], payload_type: int,
                          dtmf_payload_type: int, *,
                          port: int | None = None) -> tuple[int, AiortpLeg]:
        """RTP with `remote`: G.711 `payload_type`, telephone-events as
        `dtmf_payload_type` both ways, on `port` (already named in an SDP) or on the next
        free port of our range — one another program holds is skipped."""
        attempts = 0
        while True:
            chosen = port if port is not None else self.rtp_ports.take()
            try:
                rtp = await aiortp.RTPSession.create(
                    local_addr=(self.host, chosen), remote_addr=remote,
                    payload_type=payload_type, clock_rate=8000,
                    dtmf_payload_type=dtmf_payload_type)
            except OSError as exc:
                attempts += 1
                if port is not None:
                    raise
                self.rtp_ports.give_back(chosen)
                if exc.errno != errno.EADDRINUSE or attempts == 5:
                    raise
                logger.info("RTP port %s taken: trying another", chosen)
                continue
            return chosen, AiortpLeg(rtp, payload_type=payload_type,
                                     dtmf_payload_type=dtmf_payload_type, pacer=self.pacer)

    @staticmethod
    async def _retransmit_invite(uac: _Uac, call, remote: tuple[str, int]) -> None:
        """Timer A (RFC 3261 §17.1.1.2): resend the INVITE over UDP, T1 doubling, until a
        response to it (a provisional one will do) arrives. A 401/407 retry is a new
        INVITE with its own branch and starts over."""
        interval, invite = T1, call.invite
        while True:
            await asyncio.sleep(interval)
            if call.invite is not invite:
                interval, invite = T1, call.invite
                continue
            branch = invite.via[0].branch if invite.via else None
            transaction = uac.transactions.client_transactions.get((branch, "INVITE"))
            if transaction is None or transaction.response is not None:
                return
            uac.transport.send(invite, remote)
            interval *= 2

    async def start(self) -> tuple[str, int]:
        """Bind UDP, then TCP on the same port. With port 0 (any free port) the UDP port
        the system picked may be taken in TCP: then another one is tried."""
        any_port, attempts = self.port == 0, 0
        while True:
            try:
                return await self._bind()
            except OSError as exc:
                attempts += 1
                if not any_port or exc.errno != errno.EADDRINUSE or attempts == 5:
                    raise
                logger.info("SIP port %s taken in TCP: trying another", self.port)
                await self._uases[0].stop()
                self._uases, self.port = [], 0

    async def _bind(self) -> tuple[str, int]:
        udp = UdpSipTransport(local_addr=(self.host, self.port))
        self._uacs["udp"] = _Uac(udp)
        udp_uas = self._uas(udp, self._uacs["udp"])
        await udp_uas.start()
        self._uases = [udp_uas]
        sockname = udp._udp_transport.get_extra_info("sockname")
        self.port = sockname[1]
        # What our Via and Contact headers name: the port bound, not the 0 asked for.
        udp.local_addr = (self.host, self.port)
        dispatch_udp = udp.on_message

        def whole(message, addr) -> None:
            if _cut_short(message):
                _refuse_cut_short(udp_uas, message, addr)
            else:
                dispatch_udp(message, addr)

        udp.on_message = whole
        tcp = self._tcp = _TcpTransport(local_addr=(self.host, self.port))
        self._uacs["tcp"] = _Uac(tcp)
        tcp_uas = self._uas(tcp, self._uacs["tcp"])
        await tcp_uas.start()
        dispatch = tcp.on_message

        def remembering(message, addr) -> None:
            tcp.remember(message.call_id or "", addr)
            dispatch(message, addr)

        tcp.on_message = remembering
        self._uases = [udp_uas, tcp_uas]
        return self.host, self.port

    def _uas(self, transport, uac: _Uac) -> SipUAS:
        # No `session_expires`: aiosipua would then impose timers on every call; we apply
        # them only where the caller offers them (_session_timer).
        uas = SipUAS(transport, user_agent=self.user_agent, uac=uac)
        uas.transactions = _Transactions()
        uas._handlers["INVITE"] = lambda req, addr: self._on_invite_request(uas, req, addr)
        uas._handlers["ACK"] = lambda req, addr: self._on_ack(uas, req, addr)
        uas.on_invite = self._on_invite
        uas.on_reinvite = self._on_reinvite
        uas.on_bye = lambda call, _req: self._peer_ended(call.call_id, "bye")
        uas.on_cancel = lambda req, _addr: self._peer_ended(req.call_id or "", "cancel")
        uas.on_ack_timeout = lambda call: self._peer_ended(call.call_id, "ack_timeout")
        uas.on_session_expired = lambda call: self._peer_ended(call.call_id, "session_expired")
        uas._handlers["INFO"] = lambda req, addr: self._on_info(uas, req)
        uas._handlers["UPDATE"] = lambda req, addr: self._on_update(uas, req)
        uas._handlers["REGISTER"] = lambda req, addr: self._on_register(uas, req, addr)
        uas.on_refer = self._on_refer
        return uas

    def _on_refer(self, call, refer_to: str) -> None:
        """A REFER (aiosipua answered 202 and NOTIFY 100): queued on the call for whoever
        handles its transfers; a REFER to no user, or on a call we no longer hold, is
        answered at once (NOTIFY 400, 481)."""
        side = self._calls.get(call.call_id)
        target = _user_of(refer_to)
        if side is None or not target:
            notify_refer(call, 481 if side is None else 400)
            return
        side.referrals.put_nowait(Referral(
            target, lambda status, reason="": notify_refer(call, status, reason)))

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_invite_request(self, uas: SipUAS, request: SipRequest,
                           addr: tuple[str, int]) -> None:
        """Before aiosipua sees an INVITE: a retransmission (the CSeq of the call's
        current INVITE, RFC 3261 §17.2.1) gets our last response again — aiosipua 0.7.1
        takes it for a new call before the answer (replacing the dialog: the ACK and BYE
        then no longer match) and for a re-INVITE after it (481) —, and a body that is no
        SDP we can read gets a 400 (aiosipua raised in its parser and answered nothing)."""
        call_id, cseq = request.call_id or "", request.cseq
        if cseq is not None and self.refused.retransmitted((call_id, cseq.seq)):
            return
        if _has_sdp(request):
            try:
                parse_sdp(request.text)
            except ValueError as exc:
                logger.warning("INVITE %s from %s: malformed SDP (%s): 400", call_id, addr, exc)
                uas._send_error(request, 400, "Bad Request (Malformed SDP)")
                return
        known = uas.get_call(call_id)
        current = known.invite.cseq if known is not None else None
        if current is None or cseq is None or cseq.seq != current.seq:
            uas._handle_invite(request, addr)
            return
        side = self._calls.get(call_id)
        if isinstance(side, AiosipuaCall):
            side.resend()

    def _on_ack(self, uas: SipUAS, request: SipRequest, addr: tuple[str, int]) -> None:
        """The ACK of a final error ends its transaction by the timers (RefusedInvites);
        any other goes to aiosipua, and the answer an ACK carries (to the offer of our
        200, for an INVITE that had none) goes to the call waiting for it."""
        call_id, cseq = request.call_id or "", request.cseq
        if cseq is not None and self.refused.acked(
                (call_id, cseq.seq), reliable=getattr(uas.transport, "reliable", False)):
            return
        handle_ack(uas, request, addr)
        call = self._calls.get(call_id)
        if isinstance(call, AiosipuaCall) and call.ack_answer is not None \
                and not call.ack_answer.done():
            try:
                answer = parse_sdp(request.text) if _has_sdp(request) else None
            except ValueError:
                answer = None
            call.ack_answer.set_result(answer)

    def refuse(self, incoming, status: int, reason: str = "",
               headers: dict[str, str] | None = None) -> None:
        """A final error response to an INVITE, with extra headers (WWW-Authenticate of a
        401, Min-SE of a 422) that IncomingCall.reject cannot carry. Its transaction is
        kept by the RFC 3261 timers, then forgotten (chappe.voice.sip.transactions)."""
        response = incoming._send_response(status, reason or _default_reason(status),
                                           extra_headers=headers)
        incoming.dialog.terminate()
        cseq = incoming.invite.cseq
        transport = incoming.transport
        self.refused.add(
            (incoming.call_id, cseq.seq if cseq is not None else 0),
            reliable=getattr(transport, "reliable", False),
            resend=lambda: transport.send_reply(response) if response is not None else None,
            forget=lambda: self._drop_incoming(incoming))

    def _drop_incoming(self, incoming) -> None:
        """What aiosipua keeps of an inbound call that is over on our side (refused, or
        hung up by us: aiosipua drops it only on the peer's BYE, CANCEL, ACK timeout or
        the ACK of an error). Idempotent."""
        incoming._stop_retransmissions()
        for uas in self._uases:
            if uas._calls.get(incoming.call_id) is incoming:
                del uas._calls[incoming.call_id]
            uas._remove_invite_transaction(incoming.invite)

    def _on_invite(self, incoming) -> None:
        if incoming.call_id in self._calls:
            logger.warning("INVITE for call %s, already in progress: ignored", incoming.call_id)
            return
        offer = incoming.sdp_offer
        if offer is not None and _media_of(offer) is None:
            logger.info("INVITE %s: no codec in common with the offer: 488", incoming.call_id)
            self.refuse(incoming, 488, "Not Acceptable Here",
                        {"Warning": '305 chappe "Incompatible media format: PCMA or PCMU"'})
            return
        if not self._session_timer(incoming):
            return
        call = AiosipuaCall(self, incoming)
        self._calls[call.call_id] = call
        if self.on_call is None:
            call.reject(503)
            return
        self._spawn(self.on_call(call))

    def _session_timer(self, incoming) -> bool:
        """RFC 4028 where the caller offers it: too short an interval gets 422 with our
        Min-SE (False); otherwise the 200 carries Session-Expires with the refresher the
        caller asked for (or us, refreshing with UPDATE, when it left the choice to us and
        allows UPDATE), and aiosipua arms the refresh or the watchdog once the ACK comes:
        with no refresh in time we send BYE (§10)."""
        raw = incoming.invite.get_header("session-expires")
        interval, refresher = parse_session_expires(raw) if raw else (0, None)
        if interval <= 0:
            return True
        if interval < self.min_se:
            self.refuse(incoming, 422, "Session Interval Too Small",
                        {"Min-SE": str(self.min_se)})
            return False
        incoming.session_interval = interval
        incoming.session_refresher_us = refresher == "uas" or (
            refresher is None and peer_allows_update(incoming.invite.headers.get("allow")))
        return True

    def _on_reinvite(self, incoming) -> None:
        """A re-INVITE (either direction of call): 200 with our SDP, media kept running.
        An offerless re-INVITE gets our current SDP as the offer."""
        side = self._calls.get(incoming.call_id)
        if side is None:
            incoming._send_response(481, "Call/Transaction Does Not Exist")
            return
        answer = side.answer_offer(parse_sdp(incoming.invite.text)) \
            if _has_sdp(incoming.invite) else side.sdp
        if answer is None:
            incoming._send_response(488, "Not Acceptable Here")
            return
        incoming.accept(answer)

    def _on_update(self, uas: SipUAS, request: SipRequest) -> None:
        """UPDATE (RFC 3311) on either direction of call: a session refresh (RFC 4028,
        answered with its Session-Expires) and/or a new offer (answered like a re-INVITE).
        Replaces aiosipua's handler, which does neither for calls we placed."""
        call_id = request.call_id or ""
        incoming, dialog = uas._find_dialog(call_id)
        if dialog is None:
            uas._send_error(request, 481, "Call/Transaction Does Not Exist")
            return
        if not uas._validate_in_dialog(dialog, request):
            return
        answer = None
        if _has_sdp(request):
            side = self._calls.get(call_id)
            answer = side.answer_offer(parse_sdp(request.text)) if side is not None else None
            if answer is None:
                uas.transport.send_reply(dialog.create_response(request, 488))
                return
        response = dialog.create_response(request, 200, "OK")
        if answer is not None:
            response.text = serialize_sdp(answer)
            response.headers.set_single("Content-Type", "application/sdp")
        expires = request.get_header("session-expires")
        if expires:
            interval, refresher = parse_session_expires(expires)
            response.headers.set_single("Session-Expires",
                                        f"{interval};refresher={refresher or 'uac'}")
            response.headers.set_single("Require", "timer")
        response.headers.set_single("User-Agent", self.user_agent)
        uas.transport.send_reply(response)
        session_refreshed(uas, call_id, incoming)

    def _on_info(self, uas: SipUAS, request: SipRequest) -> None:
        """SIP INFO DTMF (application/dtmf-relay `Signal=5`), the RFC 4733 fallback."""
        call = self._calls.get(request.call_id or "")
        _incoming, dialog = uas._find_dialog(request.call_id or "")
        if call is None or dialog is None:
            uas._send_error(request, 481, "Call/Transaction Does Not Exist")
            return
        uas.transport.send_reply(dialog.create_response(request, 200, "OK"))
        text = request.text or ""
        signal = re.search(r"Signal\s*=\s*([0-9*#A-D])", text, re.IGNORECASE)
        duration = re.search(r"Duration\s*=\s*(\d+)", text, re.IGNORECASE)
        if signal and call.leg is not None:
            call.leg.dtmf_info(signal.group(1).upper(),
                               int(duration.group(1)) if duration else INFO_DTMF_MS)

    def _on_register(self, uas: SipUAS, request: SipRequest, addr: tuple[str, int]) -> None:
        """A REGISTER goes to the registrar (`on_register`) and is answered once it has
        worked out the answer; its retransmissions meanwhile are absorbed, later ones
        answered again (AnsweredRequests)."""
        if self.on_register is None:
            uas._send_error(request, 405, "Method Not Allowed")
            return
        key = (request.call_id, request.headers.get_first("cseq"),
               request.headers.get("via")[0])
        if self.registers.begin(key):
            self._spawn(self._register(uas, request, addr, key))

    async def _register(self, uas: SipUAS, request: SipRequest, addr: tuple[str, int],
                        key: tuple) -> None:
        assert self.on_register is not None
        reliable = getattr(uas.transport, "reliable", False)
        try:
            reply = await self.on_register(RegisterRequest(
                uri=request.uri, to=request.headers.get_first("to") or "",
                call_id=request.call_id or "", cseq=request.headers.get_first("cseq") or "",
                contacts=request.headers.get("contact"),
                expires=request.headers.get_first("expires"),
                authorization=request.headers.get_first("authorization") or "",
                source=addr, transport="tcp" if reliable else "udp",
                user_agent=request.headers.get_first("user-agent") or ""))
        except Exception:
            logger.exception("REGISTER %s from %s failed", request.call_id, addr)
            reply = RegisterReply(500, "Server Internal Error")
        response = self._response(request, reply)
        try:
            uas.transport.send_reply(response)
        except (OSError, RuntimeError, ValueError):  # a TCP connection that is gone
            logger.warning("REGISTER %s from %s: answer not sent", request.call_id, addr,
                           exc_info=True)
        self.registers.answered(key, reliable=reliable,
                                resend=lambda: uas.transport.send_reply(response))

    def _response(self, request: SipRequest, reply: RegisterReply) -> SipResponse:
        """The response to a request outside any dialog: its Via, From, Call-ID and CSeq,
        its To with our tag, then `reply`'s headers in order."""
        response = SipResponse(status_code=reply.status, reason_phrase=reply.reason)
        for via in request.headers.get("via"):
            response.headers.append("Via", via)
        response.headers.set_single("From", request.headers.get_first("from") or "")
        to = request.headers.get_first("to") or ""
        response.headers.set_single("To", to if ";tag=" in to else f"{to};tag={generate_tag()}")
        response.headers.set_single("Call-ID", request.call_id or "")
        response.headers.set_single("CSeq", request.headers.get_first("cseq") or "")
        for name, value in reply.headers:
            response.headers.append(name, value)
        response.headers.set_single("User-Agent", self.user_agent)
        return response

    def _peer_ended(self, call_id: str, reason: str) -> None:
        call = self._calls.get(call_id)
        if call is not None:
            call.peer_ended(reason)

    def forget(self, call_id: str) -> None:
        """A call is over on our side: drop it, an inbound one from aiosipua too (what
        answers a refused INVITE's retransmissions lives on in `refused`)."""
        call = self._calls.pop(call_id, None)
        if isinstance(call, AiosipuaCall):
            self._drop_incoming(call._incoming)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pacer.stop()
        self.refused.close()
        self.registers.close()
        for uas in self._uases:
            await uas.stop()
        self._uases = []
