"""The SMSC simulator: a carrier's SMSC that speaks real SMPP 3.4 (`chappe smsc-sim`).

It accepts binds (tx, rx, trx) with configurable credentials, acknowledges submit_sm
(short, UDH 8/16-bit, SAR and message_payload long messages; data_coding 0, 3, 8), and
sends delivery receipts as deliver_sm (esm_class 0x04, Appendix B text, TLVs
`receipted_message_id` + `message_state`) with the outcomes of the built-in simulator's
test numbers (chappe/carriers/simulator/connector.py):

| number | outcome |
|---|---|
| +33600000001 | DELIVRD after `latency` |
| +33600000002 | UNDELIV, err 001 |
| +33600000003 | no receipt |
| +33600000004 | submit_sm_resp ESME_RINVDSTADR (0x0000000B) |
| +33600000005 | DELIVRD after `slow_seconds` |
| +33600000006 | ESME_RTHROTTLED once, then accepted |

Like a carrier that deduplicates, it recognises a submit_sm carrying a reference it has
already accepted (our vendor TLV, see `pdu.REF_TLV`) and answers with the same message
id without delivering again. Receipts and MOs are queued per system_id and sent on a
receiver/transceiver bind; one not acknowledged (bind dropped) is sent again later.
Message ids are hex or decimal (`id_format`), and the receipt text may carry them in the
other base (`receipt_id_format`), as some SMSCs do.

Misbehaviour for tests: `drop_binds()`, `mute` (stop answering), `throttle` (answer
ESME_RTHROTTLED), `ack_delay` (slow acks), `drop_after_submits` (after N submit_sm,
accept the next one but drop the bind before answering it).

In-process use: `SimulatorThread(SimConfig(...)).start()` returns the port.
"""

import asyncio
import itertools
import logging
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chappe.smpp import pdu as P
from chappe.smpp import receipts as R
from chappe.smpp import text as T
from chappe.smpp.encoding import detect_encoding
from chappe.smpp.test_numbers import TEST_NUMBERS
from chappe.smpp.transport import Session, SmppError

log = logging.getLogger("chappe.smsc_sim")


@dataclass
class SimConfig:
    credentials: dict[str, str] = field(default_factory=lambda: {"chappe": "secret"})
    id_format: str = "hex"  # submit_sm_resp ids: hex or decimal
    receipt_id_format: str | None = None  # in the receipt text; default: id_format
    receipt_tlvs: bool = True  # send receipted_message_id + message_state
    latency: float = 0.05
    slow_seconds: float = 120.0
    window: int = 50
    enquire_link: float = 30.0
    response_timeout: float = 10.0
    max_binds: int = 20
    # Misbehaviour.
    mute: bool = False
    throttle: bool = False
    ack_delay: float = 0.0
    drop_after_submits: int | None = None


@dataclass
class SimMessage:
    id: str
    system_id: str
    source: str
    destination: str
    data_coding: int
    body: bytes
    concat: tuple[int, int, int] | None
    ref: str
    outcome: str
    submitted_at: datetime
    payload: bool = False

    @property
    def text(self) -> str:
        return T.decode(self.body, self.data_coding)


class SmscSimulator:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.messages: dict[str, SimMessage] = {}
        self.by_ref: dict[tuple[str, str], str] = {}
        self.stats: Counter = Counter()
        self.sessions: set[Session] = set()
        self._ids = itertools.count(0x1000)
        self._throttled: set[str] = set()
        self._queues: dict[str, deque] = defaultdict(deque)
        self._server: asyncio.AbstractServer | None = None
        self._timers: set[asyncio.TimerHandle] = set()
        self._outstanding: dict[Session, int] = {}
        self.port = 0

    # -- server ---------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._on_connect, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.close()
        if self._server is not None:
            await self._server.wait_closed()

    async def _on_connect(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        session = Session(reader, writer, handler=self._on_request, window=self.config.window,
                          response_timeout=self.config.response_timeout,
                          enquire_link=self.config.enquire_link, name="smsc-sim")
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            self._outstanding.pop(session, None)
            self.stats["disconnects"] += 1

    def drop_binds(self) -> None:
        """Cut every connection at once, without unbind (a network failure)."""
        for session in list(self.sessions):
            transport = session.writer.transport
            if transport is not None:
                transport.abort()
            session.close()

    # -- requests -------------------------------------------------------------------
    async def _on_request(self, session: Session, pdu: Any) -> Any:
        if pdu.id in P.BIND_REQUESTS:
            return self._bind(session, pdu)
        if session.mode is None:
            return P.error_response(P.command_id(pdu), pdu.seqNum, P.RINVBNDSTS)
        if pdu.id == P.t.CommandId.submit_sm:
            return await self._submit(session, pdu)
        if pdu.id == P.t.CommandId.query_sm:
            return self._query(pdu)
        return P.error_response(P.command_id(pdu), pdu.seqNum, P.RINVCMDID)

    def _bind(self, session: Session, pdu: Any) -> Any:
        system_id = P.text_of(pdu.params["system_id"])
        password = P.text_of(pdu.params["password"])
        if session.mode is not None:
            return P.bind_resp(pdu, status=P.RALYBND)
        if system_id not in self.config.credentials:
            return P.bind_resp(pdu, status=P.RINVSYSID)
        if self.config.credentials[system_id] != password:
            return P.bind_resp(pdu, status=P.RINVPASWD)
        if sum(1 for s in self.sessions if s.system_id == system_id) > self.config.max_binds:
            return P.bind_resp(pdu, status=P.RBINDFAIL)
        session.mode, session.system_id = P.BIND_REQUESTS[pdu.id], system_id
        self.stats["binds"] += 1
        if session.can_receive:
            asyncio.get_running_loop().call_soon(self._pump, system_id)
        return P.bind_resp(pdu, system_id="smsc-sim")

    async def _submit(self, session: Session, pdu: Any) -> Any:
        outstanding = self._outstanding
        outstanding[session] = outstanding.get(session, 0) + 1
        self.stats["max_outstanding"] = max(self.stats["max_outstanding"], outstanding[session])
        try:
            response = await self._accept(session, pdu)
        finally:
            outstanding[session] -= 1
        config = self.config
        if config.drop_after_submits is not None:
            config.drop_after_submits -= 1
            if config.drop_after_submits < 0:
                # Accepted, but the bind drops before the answer leaves: the ESME cannot
                # know, and will send it again.
                config.drop_after_submits = None
                self.stats["dropped_binds"] += 1
                if session.writer.transport is not None:
                    session.writer.transport.abort()
                session.close()
                return None
        return response

    async def _accept(self, session: Session, pdu: Any) -> Any:
        config = self.config
        self.stats["submit_sm"] += 1
        if config.mute:
            self.stats["unanswered"] += 1
            return None
        if config.ack_delay:
            await asyncio.sleep(config.ack_delay)
        if config.throttle:
            self.stats["throttled"] += 1
            return P.op.SubmitSMResp(seqNum=pdu.seqNum, status=P.status_enum(P.RTHROTTLED))
        params = pdu.params
        destination = P.text_of(params["destination_addr"])
        number = destination if destination.startswith("+") else f"+{destination}"
        outcome = TEST_NUMBERS.get(number, ("delivered", ""))[0]
        ref = pdu.raw_tlvs.get(P.REF_TLV, b"").rstrip(b"\0").decode("latin-1")
        if ref and (session.system_id, ref) in self.by_ref:
            self.stats["duplicates"] += 1
            return P.op.SubmitSMResp(seqNum=pdu.seqNum,
                                     message_id=self.by_ref[(session.system_id, ref)])
        if outcome == "rejected":
            self.stats["rejected"] += 1
            return P.op.SubmitSMResp(seqNum=pdu.seqNum, status=P.status_enum(P.RINVDSTADR))
        throttle_key = ref or f"{destination}:{params.get('short_message')!r}"
        if outcome == "throttled_once" and throttle_key not in self._throttled:
            self._throttled.add(throttle_key)
            self.stats["throttled"] += 1
            return P.op.SubmitSMResp(seqNum=pdu.seqNum, status=P.status_enum(P.RTHROTTLED))
        esm = P.esm_value(params["esm_class"])
        dc = P.data_coding_value(params["data_coding"])
        data = P.short_message_of(pdu)
        ud = T.user_data(data, esm, params)
        number_id = next(self._ids)
        message_id = f"{number_id:08x}" if config.id_format == "hex" else str(number_id)
        message = SimMessage(
            id=message_id, system_id=session.system_id, source=P.text_of(params["source_addr"]),
            destination=destination, data_coding=dc, body=ud.body, concat=ud.concat, ref=ref,
            outcome=outcome, submitted_at=datetime.now(UTC),
            payload=bool(params.get("message_payload")))
        self.messages[message_id] = message
        if ref:
            self.by_ref[(session.system_id, ref)] = message_id
        self.stats["accepted"] += 1
        rd = P.registered_delivery_value(params["registered_delivery"]) & 0x03
        if rd and outcome != "silent":
            delay = config.slow_seconds if outcome == "slow" else config.latency
            self._later(delay, self._queue_receipt, message, number_id)
        return P.op.SubmitSMResp(seqNum=pdu.seqNum, message_id=message_id)

    def _query(self, pdu: Any) -> Any:
        message_id = P.text_of(pdu.params["message_id"])
        message = self.messages.get(message_id)
        if message is None:
            return P.error_response(P.command_id(pdu), pdu.seqNum, P.RQUERYFAIL)
        state = {"delivered": 2, "slow": 1, "silent": 1, "undelivered": 5}.get(
            message.outcome, 2)
        return P.op.QuerySMResp(seqNum=pdu.seqNum, message_id=message_id, final_date=None,
                                message_state=P.message_state(state), error_code=0)

    # -- receipts and MOs -----------------------------------------------------------
    def _later(self, delay: float, fn: Callable, *args: Any) -> None:
        loop = asyncio.get_running_loop()
        holder: list[asyncio.TimerHandle] = []

        def run() -> None:
            self._timers.discard(holder[0])
            fn(*args)

        holder.append(loop.call_later(delay, run))
        self._timers.add(holder[0])

    def _queue_receipt(self, message: SimMessage, number_id: int) -> None:
        stat = {"undelivered": "UNDELIV"}.get(message.outcome, "DELIVRD")
        err = "001" if stat == "UNDELIV" else "000"
        fmt = self.config.receipt_id_format or self.config.id_format
        text_id = f"{number_id:010x}" if fmt == "hex" else f"{number_id:010d}"
        body = R.format_text(id=text_id, stat=stat, err=err, submitted=message.submitted_at,
                             done=datetime.now(UTC), text=message.text)
        tlvs: dict[str, Any] = {}
        if self.config.receipt_tlvs:
            tlvs = {"receipted_message_id": message.id,
                    "message_state": P.message_state(R.STAT_STATE[stat])}
        self._enqueue(message.system_id, {
            "source": message.destination, "destination": message.source,
            "short_message": body.encode("ascii", errors="replace"), "esm": 0x04,
            "data_coding_value": 0, **tlvs}, kind="receipts")

    def inject_mo(self, *, system_id: str, source: str, destination: str, text: str,
                  method: str = "udh8", data_coding: int | None = None, ref: int = 1) -> int:
        """Queue an MO (from handset `source` to `destination`), split into parts when
        long; returns the number of deliver_sm it takes."""
        dc = data_coding if data_coding is not None else (
            T.choose_data_coding(text, detect_encoding(text)))
        parts = T.split(text, dc, method, ref)
        for part in parts:
            self._enqueue(system_id, {
                "source": source.lstrip("+"), "destination": destination,
                "short_message": part.short_message, "esm": part.esm_class,
                "data_coding_value": dc, **part.tlvs}, kind="mo")
        return len(parts)

    def _enqueue(self, system_id: str, fields: dict[str, Any], *, kind: str) -> None:
        self._queues[system_id].append((kind, fields))
        self._pump(system_id)

    def _receiver(self, system_id: str) -> Session | None:
        candidates = [s for s in self.sessions if s.system_id == system_id and s.can_receive]
        return min(candidates, key=lambda s: s.in_flight, default=None)

    def _pump(self, system_id: str) -> None:
        queue = self._queues[system_id]
        while queue:
            session = self._receiver(system_id)
            if session is None:
                return
            item = queue.popleft()
            asyncio.get_running_loop().create_task(self._deliver(session, item))

    async def _deliver(self, session: Session, item: tuple[str, dict[str, Any]]) -> None:
        kind, fields = item
        ton = 1 if fields["source"].isdigit() else 5
        request = P.deliver_sm(source_ton=ton, source_npi=1, dest_ton=0, dest_npi=0,
                               **{k: v for k, v in fields.items() if k not in ("esm",)},
                               esm=fields["esm"], registered=0)
        try:
            await session.request(request)
        except SmppError as exc:
            self.stats[f"{kind}_retried"] += 1
            log.info("smsc-sim: deliver_sm not acknowledged (%s); retrying", exc)
            system_id = session.system_id
            self._queues[system_id].append(item)
            self._later(0.5, self._pump, system_id)
            return
        self.stats[f"{kind}_acked"] += 1

    def snapshot(self) -> dict[str, Any]:
        return {"stats": dict(self.stats), "messages": len(self.messages),
                "pending": {k: len(v) for k, v in self._queues.items() if v}}


class SimulatorThread:
    """The simulator on its own event loop in a thread (tests, benchmarks)."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.sim = SmscSimulator(config)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="smsc-sim",
                                        daemon=True)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.sim.start(host, port), self.loop).result(5)

    @property
    def port(self) -> int:
        return self.sim.port

    @property
    def config(self) -> SimConfig:
        return self.sim.config

    def call(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        async def run() -> Any:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
