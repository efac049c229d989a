"""`SmppConnector`: the platform as an ESME bound to a carrier's SMSC.

Threads. The gateway loop is synchronous; the binds live on an asyncio loop in a
background thread owned by the gateway process (`Engine`, one per connector name and
config, kept across the gateway's periodic reloads). `submit(batch)` hands the batch to
that loop and blocks until every message has its submit_sm_resp (or an error).

Sending. Each message is split per the configured long-message method (udh8, udh16, sar,
payload); every part is a submit_sm, paced by the connector's cap (`max_mps`) and
windowed per bind (`window`), on the bind with the fewest in flight. A single-part
message's carrier id is the SMSC's id; a multi-part message's is `<part 1 id>#<parts>`,
and each part's id is recorded in `SmppPart` so per-part receipts aggregate: delivered
when every part is, else the first failing part's status.

Answers. ESME_RTHROTTLED / ESME_RMSGQFUL: `retry=True` (the dispatcher retries later,
never fails the message) and the whole connector pauses (back-off doubling from 0.2 s to
5 s). Any other error status: rejected, with the status as `0x%08X`. No response (timeout)
or bind lost with the PDU in flight: `retry=True` — the outcome is unknown, so the message
is sent again (at-least-once) carrying the same reference `<message id>:<part>` in our
vendor TLV 0x1501: an SMSC that deduplicates on it (the simulator does) never delivers it
twice; parts already acknowledged are remembered and not re-sent. At-most-once would mean
losing messages on every dropped bind; see docs/decisions/0014-smpp.md.

Receipts and MOs. A deliver_sm is written to `SmppInbox` (group commit: one INSERT for all
that arrived meanwhile) before its deliver_sm_resp leaves; if the write fails we answer
ESME_RX_T_APPN and the SMSC re-sends. `poll()` reads the inbox, `ack()` deletes what the
gateway applied, in its transaction. Concatenated MOs (UDH 8/16, SAR) are kept per part
and reassembled at poll time (bytes joined, then decoded: UCS-2 exact).

Binds reconnect with exponential back-off (`reconnect_min` … `reconnect_max`, jittered).
The connector is `down` when no transmitter is bound and binding has failed (routing then
fails over). Live state goes to `SmppBindState` every 2 s (admin, /metrics).
"""

import asyncio
import contextlib
import json
import logging
import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from chappe.carriers.base import Inbound, Outbound, PollResult, Receipt, SubmitResult
from chappe.common.bulk import bulk_insert
from chappe.smpp import pdu as P
from chappe.smpp import receipts as R
from chappe.smpp import text as T
from chappe.smpp.transport import (
    CommandStatusError,
    ConnectionLost,
    ResponseTimeout,
    Session,
    SmppError,
)

log = logging.getLogger("chappe.carriers.smpp")
RETRY_UNMATCHED = timedelta(seconds=2)
GIVE_UP_AFTER = timedelta(days=1)
MO_PART_TIMEOUT = timedelta(hours=1)
STATE_EVERY = 2.0
POLL_LIMIT = 2000


@dataclass(frozen=True)
class SmppSettings:
    """Connector.config keys (all optional except host, port, system_id, password)."""

    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    bind_mode: str = "trx"  # "trx", or "tx+rx" (a transmitter and a receiver per bind)
    binds: int = 1
    window: int = 10
    max_mps: float = 0  # 0: no cap
    source_ton: int | None = None  # None: 5 (alphanumeric) or 1 (international) by sender
    source_npi: int | None = None
    dest_ton: int = 1
    dest_npi: int = 1
    data_coding: int = 0  # for GSM-7 texts: 0 (SMSC default) or 3 (Latin-1)
    long_method: str = "udh8"  # udh8, udh16, sar, payload
    message_id_format: str = "string"  # submit_sm_resp ids: string, hex or decimal
    receipt_id_format: str | None = None  # ids in receipt texts; default as above
    registered_delivery: int = 1
    ref_tlv: bool = True  # send our reference in vendor TLV 0x1501
    response_timeout: float = 10.0
    enquire_link: float = 30.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    bind_wait: float = 5.0

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "SmppSettings":
        known = {f.name for f in fields(cls)}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown SMPP connector settings: {sorted(unknown)}")
        settings = cls(**config)
        if settings.bind_mode not in ("trx", "tx+rx"):
            raise ValueError("bind_mode is trx or tx+rx")
        if settings.long_method not in T.METHODS:
            raise ValueError(f"long_method is one of {T.METHODS}")
        for fmt in (settings.message_id_format, settings.receipt_id_format or "string"):
            if fmt not in R.ID_FORMATS:
                raise ValueError(f"id formats are {R.ID_FORMATS}")
        if settings.data_coding not in (0, 3):
            raise ValueError("data_coding is 0 or 3 (UCS-2 texts always go as 8)")
        return settings


@dataclass
class SlotState:
    mode: str
    state: str = "connecting"
    submitted: int = 0
    errors: int = 0
    throttled: int = 0
    reconnects: int = 0
    last_error: str = ""


@dataclass
class SubmitOutcome:
    result: SubmitResult
    parts: dict[int, str] = field(default_factory=dict)
    total: int = 1


class Engine:
    """The binds of one connector in this process, on their own event loop."""

    def __init__(self, name: str, settings: SmppSettings, process: str) -> None:
        self.name, self.settings, self.process = name, settings, process
        self.loop = asyncio.new_event_loop()
        self.db = ThreadPoolExecutor(1, thread_name_prefix=f"smpp-db-{name}")
        modes = ["trx"] if settings.bind_mode == "trx" else ["tx", "rx"]
        self.slots = [SlotState(mode) for _ in range(settings.binds) for mode in modes]
        self.sessions: list[Session | None] = [None] * len(self.slots)
        self.running = True
        self.started = time.monotonic()
        self.bind_failed = False
        self._ref = random.randrange(1, 0xFFFF)  # noqa: S311 (a concatenation ref)
        self._accepted: dict[str, dict[int, str]] = {}
        self._next_slot = 0.0
        self._pause_until = 0.0
        self._throttle_backoff = 0.2
        self._pending_rows: list[tuple[Any, asyncio.Future]] = []
        self._flush_scheduled = False
        self._sent_window: list[float] = []
        self._tasks: list[asyncio.Task] = []
        self._thread = threading.Thread(target=self._run, name=f"smpp-{name}", daemon=True)
        self._thread.start()

    # -- lifecycle ------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        for index in range(len(self.slots)):
            self._tasks.append(self.loop.create_task(self._bind_loop(index)))
        self._tasks.append(self.loop.create_task(self._report_loop()))
        self.loop.run_forever()

    def call(self, coro: Any, timeout: float) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        if not self.running:
            return
        self.running = False

        async def shutdown() -> None:
            sessions = [s for s in self.sessions if s is not None and not s.closed]
            await asyncio.gather(*(s.unbind(timeout=2) for s in sessions),
                                 return_exceptions=True)
            for task in self._tasks:
                task.cancel()

        with contextlib.suppress(Exception):  # stopping anyway
            self.call(shutdown(), timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        self.db.submit(self._forget_state).result(timeout)
        self.db.shutdown(wait=True)

    @property
    def transmitters(self) -> list[Session]:
        return [s for s in self.sessions if s is not None and s.can_transmit]

    def is_down(self) -> bool:
        if self.transmitters:
            return False
        return self.bind_failed or time.monotonic() - self.started > self.settings.bind_wait

    # -- binds ----------------------------------------------------------------------
    async def _bind_loop(self, index: int) -> None:
        s, slot = self.settings, self.slots[index]
        delay = s.reconnect_min
        first = True
        while self.running:
            session = None
            slot.state = "connecting"
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(s.host, s.port), timeout=10)
                session = Session(reader, writer, handler=self._on_request, window=s.window,
                                  response_timeout=s.response_timeout,
                                  enquire_link=s.enquire_link, name=f"{self.name}#{index}")
                runner = asyncio.create_task(session.run())
                await session.request(P.bind(slot.mode, system_id=s.system_id,
                                             password=s.password, system_type=s.system_type),
                                      windowed=False)
                session.mode = slot.mode
                self.sessions[index] = session
                slot.state = "bound"
                if not first:
                    slot.reconnects += 1
                first = False
                delay = s.reconnect_min
                log.info("%s: bound %s #%d to %s:%d", self.name, slot.mode, index, s.host, s.port)
                await runner
                log.warning("%s: bind #%d lost", self.name, index)
            except asyncio.CancelledError:
                if session is not None:
                    session.close()
                raise
            except (OSError, SmppError, TimeoutError) as exc:
                slot.last_error = str(exc)[:200] or exc.__class__.__name__
                slot.errors += 1
                self.bind_failed = True
                log.warning("%s: bind #%d failed: %s", self.name, index, slot.last_error)
            finally:
                self.sessions[index] = None
                if session is not None:
                    session.close()
            slot.state = "unbound"
            if not self.transmitters:
                self.bind_failed = True
            if not self.running:
                return
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311
            delay = min(delay * 2, s.reconnect_max)

    async def _transmitter(self) -> Session:
        deadline = time.monotonic() + self.settings.bind_wait
        while True:
            candidates = self.transmitters
            if candidates:
                return min(candidates, key=lambda session: session.in_flight)
            if time.monotonic() >= deadline:
                raise ConnectionLost(f"{self.name}: no transmitter bound")
            await asyncio.sleep(0.05)

    # -- sending --------------------------------------------------------------------
    async def _pace(self) -> None:
        now = time.monotonic()
        if self._pause_until > now:
            await asyncio.sleep(self._pause_until - now)
            now = time.monotonic()
        if self.settings.max_mps > 0:
            slot = max(self._next_slot, now)
            self._next_slot = slot + 1.0 / self.settings.max_mps
            if slot > now:
                await asyncio.sleep(slot - now)

    def _next_ref(self) -> int:
        self._ref = self._ref % 0xFFFF + 1
        return self._ref

    async def submit_many(self, batch: list[Outbound]) -> list[SubmitOutcome]:
        return list(await asyncio.gather(*(self._submit_one(out) for out in batch)))

    async def _submit_one(self, out: Outbound) -> SubmitOutcome:
        s = self.settings
        dc = T.choose_data_coding(out.text, out.encoding, s.data_coding)
        parts = T.split(out.text, dc, s.long_method, self._next_ref())
        accepted = self._accepted.pop(out.message_id, {})
        total = len(parts)
        for part in parts:
            if part.index in accepted:
                continue
            try:
                accepted[part.index] = await self._submit_part(out, part, dc)
            except CommandStatusError as exc:
                if exc.status in P.TEMPORARY:
                    self._accepted[out.message_id] = accepted
                    return SubmitOutcome(SubmitResult(out.message_id,
                                                      error_code=f"0x{exc.status:08X}",
                                                      retry=True))
                return SubmitOutcome(SubmitResult(out.message_id,
                                                  error_code=f"0x{exc.status:08X}"))
            except (ResponseTimeout, ConnectionLost) as exc:
                self._accepted[out.message_id] = accepted
                code = "timeout" if isinstance(exc, ResponseTimeout) else "unbound"
                return SubmitOutcome(SubmitResult(out.message_id, error_code=code, retry=True))
        head = accepted[1] if total == 1 else f"{accepted[1]}#{total}"
        return SubmitOutcome(SubmitResult(out.message_id, carrier_message_id=head),
                             parts=accepted, total=total)

    async def _submit_part(self, out: Outbound, part: T.Part, dc: int) -> str:
        s = self.settings
        await self._pace()
        session = await self._transmitter()
        slot = self.slots[self.sessions.index(session)]
        sender = out.sender
        if s.source_ton is not None:
            source_ton, source_npi = s.source_ton, s.source_npi or 0
        elif sender.lstrip("+").isdigit():
            source_ton, source_npi = 1, 1
        else:
            source_ton, source_npi = 5, 0
        custom = []
        if s.ref_tlv:
            custom = [(P.REF_TLV, None, "COctetString",
                       f"{out.message_id}:{part.index}".encode())]
        request = P.submit_sm(
            source=sender.lstrip("+") if source_ton == 1 else sender, source_ton=source_ton,
            source_npi=source_npi, destination=out.recipient.lstrip("+"), dest_ton=s.dest_ton,
            dest_npi=s.dest_npi, short_message=part.short_message, data_coding_value=dc,
            esm=part.esm_class, registered=s.registered_delivery, custom_tlvs=custom,
            **part.tlvs)
        try:
            response = await session.request(request)
        except CommandStatusError as exc:
            if exc.status in P.TEMPORARY:
                slot.throttled += 1
                self._pause_until = time.monotonic() + self._throttle_backoff
                self._throttle_backoff = min(self._throttle_backoff * 2, 5.0)
            else:
                slot.errors += 1
            raise
        except SmppError as exc:
            slot.errors += 1
            slot.last_error = str(exc)[:200]
            raise
        self._throttle_backoff = 0.2
        slot.submitted += 1
        self._sent_window.append(time.monotonic())
        raw = P.text_of(response.params.get("message_id"))
        return R.normalize_id(raw, s.message_id_format)

    # -- receiving ------------------------------------------------------------------
    async def _on_request(self, session: Session, pdu: Any) -> Any:
        if pdu.id != P.t.CommandId.deliver_sm:
            return P.error_response(P.command_id(pdu), pdu.seqNum, P.RINVCMDID)
        try:
            row = self._inbox_row(pdu)
        except Exception:
            log.exception("%s: deliver_sm not understood", self.name)
            return P.op.DeliverSMResp(seqNum=pdu.seqNum, message_id=None)
        if row is not None:
            future = asyncio.get_running_loop().create_future()
            self._pending_rows.append((row, future))
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
            try:
                await future
            except Exception:
                log.exception("%s: could not store a deliver_sm; SMSC will retry", self.name)
                return P.op.DeliverSMResp(seqNum=pdu.seqNum, status=P.status_enum(P.RX_T_APPN),
                                          message_id=None)
        return P.op.DeliverSMResp(seqNum=pdu.seqNum, message_id=None)

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._pending_rows = self._pending_rows, []
        if not batch:
            return
        done = self.loop.run_in_executor(self.db, _store_rows, [row for row, _f in batch])

        def settle(result: asyncio.Future) -> None:
            error = result.exception()
            for _row, future in batch:
                if future.done():
                    continue
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

        done.add_done_callback(settle)

    def _inbox_row(self, pdu: Any) -> tuple | None:
        from chappe.carriers.smpp.models import SmppInbox

        params = pdu.params
        esm = P.esm_value(params["esm_class"])
        now = timezone.now()
        if esm & 0x3C in (0x04, 0x10):  # SMSC delivery receipt / intermediate notification
            state = params.get("message_state")
            receipt = R.parse(
                text=P.text_of(params.get("short_message") or params.get("message_payload")),
                receipted_id=P.text_of(params.get("receipted_message_id")) or None,
                state=P.message_state_value(state) if state is not None else None,
                message_id_format=self.settings.message_id_format,
                receipt_id_format=self.settings.receipt_id_format)
            if receipt is None or receipt.status is None:
                return None  # not a receipt we can read, or an intermediate state
            return _inbox(connector=self.name, kind=SmppInbox.RECEIPT, carrier_id=receipt.id,
                          status=receipt.status, error_code=receipt.error,
                          at=receipt.done_at or now)
        dc = P.data_coding_value(params["data_coding"])
        ud = T.user_data(P.short_message_of(pdu), esm, params)
        source = P.text_of(params["source_addr"])
        if P.ton_value(params["source_addr_ton"]) == 1 and source.isdigit():
            source = f"+{source}"
        destination = P.text_of(params["destination_addr"])
        concat: dict[str, Any] = {}
        if ud.concat is not None and ud.concat[1] > 1:
            ref, total, seq = ud.concat
            concat = {"concat_key": f"{source}|{destination}|{ref}|{total}"[:120],
                      "part_seq": seq, "part_total": total}
        return _inbox(connector=self.name, kind=SmppInbox.MO,
                      carrier_id=f"mo-{random.getrandbits(64):016x}", at=now,
                      from_number=source[:32], to=destination[:32], data_coding=dc,
                      body=ud.body, **concat)

    # -- live state -----------------------------------------------------------------
    async def _report_loop(self) -> None:
        while self.running:
            await asyncio.sleep(STATE_EVERY)
            now = time.monotonic()
            self._sent_window = [t for t in self._sent_window if now - t <= STATE_EVERY]
            rate = len(self._sent_window) / STATE_EVERY
            rows = []
            for index, slot in enumerate(self.slots):
                session = self.sessions[index]
                rows.append({"slot": index, "mode": slot.mode, "state": slot.state,
                             "in_flight": session.in_flight if session else 0,
                             "submitted": slot.submitted, "errors": slot.errors,
                             "throttled": slot.throttled, "reconnects": slot.reconnects,
                             "msg_per_s": rate / max(1, len(self.slots)),
                             "last_error": slot.last_error})
            try:
                await self.loop.run_in_executor(self.db, self._write_state, rows)
            except Exception:
                log.exception("%s: could not record bind state", self.name)

    def _write_state(self, rows: list[dict[str, Any]]) -> None:
        from chappe.carriers.smpp.models import SmppBindState

        close_old_connections()
        now = timezone.now()
        for row in rows:
            slot = row.pop("slot")
            SmppBindState.objects.update_or_create(
                connector=self.name, process=self.process, slot=slot,
                defaults={**row, "updated_at": now})

    def _forget_state(self) -> None:
        from chappe.carriers.smpp.models import SmppBindState

        try:
            SmppBindState.objects.filter(connector=self.name, process=self.process).delete()
        except Exception:  # noqa: S110 (best effort at shutdown)
            pass
        finally:
            connection.close()


_INBOX_COLUMNS = ("connector", "kind", "carrier_id", "status", "error_code", "at",
                  "from_number", "to", "data_coding", "body", "concat_key", "part_seq",
                  "part_total", "next_try_at", "created_at")


def _inbox(**fields: Any) -> tuple:
    """An `SmppInbox` row as a tuple in `_INBOX_COLUMNS` order (unset fields: defaults)."""
    values = {"status": "", "error_code": "", "from_number": "", "to": "", "data_coding": 0,
              "body": b"", "concat_key": "", "part_seq": 1, "part_total": 1,
              "next_try_at": None, "created_at": timezone.now(), **fields}
    return tuple(values[column] for column in _INBOX_COLUMNS)


def _store_rows(rows: list[tuple]) -> None:
    from chappe.carriers.smpp.models import SmppInbox

    close_old_connections()
    with transaction.atomic():
        bulk_insert(SmppInbox, _INBOX_COLUMNS, rows)


_ENGINES: dict[str, tuple[str, Engine]] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(name: str, config: dict[str, Any]) -> Engine:
    """The running engine of this connector in this process (new if its config changed)."""
    from chappe.queue.jobs import worker_id

    key = json.dumps(config, sort_keys=True)
    with _ENGINES_LOCK:
        current = _ENGINES.get(name)
        if current is not None and current[0] == key and current[1].running:
            return current[1]
        if current is not None:
            current[1].stop()
        engine = Engine(name, SmppSettings.from_config(config), worker_id())
        _ENGINES[name] = (key, engine)
        return engine


def engines_stop() -> None:
    with _ENGINES_LOCK:
        for _key, engine in _ENGINES.values():
            engine.stop()
        _ENGINES.clear()


@dataclass
class SmppPoll(PollResult):
    # Inbox row ids behind each receipt's carrier id / each MO.
    receipt_rows: dict[str, list[int]] = field(default_factory=dict)
    inbound_rows: dict[str, list[int]] = field(default_factory=dict)
    # Rows to offer again later (parts waiting for the others).
    deferred: list[int] = field(default_factory=list)


class SmppConnector:
    def __init__(self, name: str, config: dict[str, Any]) -> None:
        self.name = name
        self.settings = SmppSettings.from_config(config)
        self.engine = engine_for(name, config)

    @property
    def down(self) -> bool:
        return self.engine.is_down()

    def stop(self) -> None:
        self.engine.stop()

    # -- submit ---------------------------------------------------------------------
    def submit(self, batch: list[Outbound]) -> list[SubmitResult]:
        from chappe.carriers.smpp.models import SmppPart

        s = self.settings
        # Keep a call well inside the dispatcher's 60 s lease: at a low cap, take what
        # fits in ~20 s now and let the rest come back shortly.
        budget = len(batch) if s.max_mps <= 0 else max(1, int(s.max_mps * 20))
        now_batch, later = batch[:budget], batch[budget:]
        timeout = s.bind_wait + s.response_timeout * 3 + 30
        outcomes = self.engine.call(self.engine.submit_many(now_batch), timeout)
        parts = [SmppPart(connector=self.name, head=o.result.carrier_message_id, smsc_id=smsc,
                          seq=seq, total=o.total)
                 for o in outcomes if o.total > 1 and o.result.carrier_message_id
                 for seq, smsc in o.parts.items()]
        if parts:
            SmppPart.objects.bulk_create(parts)
        return [o.result for o in outcomes] + [
            SubmitResult(out.message_id, error_code="paced", retry=True) for out in later]

    # -- receipts and MOs -----------------------------------------------------------
    def poll(self, now: datetime) -> SmppPoll:
        from chappe.carriers.smpp.models import SmppInbox, SmppPart

        result = SmppPoll()
        due = (SmppInbox.objects.filter(connector=self.name)
               .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now)).order_by("id"))
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due[:POLL_LIMIT])
        if not rows:
            return result
        receipts = [r for r in rows if r.kind == SmppInbox.RECEIPT]
        part_of = {p.smsc_id: p for p in SmppPart.objects.filter(
            connector=self.name, smsc_id__in=[r.carrier_id for r in receipts])}
        heads: set[str] = set()
        for row in receipts:
            part = part_of.get(row.carrier_id)
            if part is None:
                result.receipts.append(Receipt(row.carrier_id, row.status, row.error_code,
                                               row.at))
                result.receipt_rows.setdefault(row.carrier_id, []).append(row.id)
            else:
                heads.add(part.head)
        if heads:
            self._aggregate(heads, result)
        mos = [r for r in rows if r.kind == SmppInbox.MO]
        for row in mos:
            if not row.concat_key:
                result.inbound.append(Inbound(row.carrier_id, row.from_number, row.to,
                                              T.decode(bytes(row.body), row.data_coding),
                                              row.at))
                result.inbound_rows[row.carrier_id] = [row.id]
        keys = {r.concat_key for r in mos if r.concat_key}
        if keys:
            self._reassemble(keys, now, result)
        return result

    def _aggregate(self, heads: set[str], result: SmppPoll) -> None:
        from chappe.carriers.smpp.models import SmppInbox, SmppPart

        parts: dict[str, dict[int, str]] = defaultdict(dict)
        for part in SmppPart.objects.filter(connector=self.name, head__in=heads):
            parts[part.head][part.seq] = part.smsc_id
        ids = [smsc for by_seq in parts.values() for smsc in by_seq.values()]
        receipts = defaultdict(list)
        for row in SmppInbox.objects.filter(connector=self.name, kind=SmppInbox.RECEIPT,
                                            carrier_id__in=ids):
            receipts[row.carrier_id].append(row)
        for head, by_seq in parts.items():
            total = int(head.rsplit("#", 1)[1])
            got = {seq: receipts[smsc][0] for seq, smsc in by_seq.items() if receipts[smsc]}
            rows = [row.id for smsc in by_seq.values() for row in receipts[smsc]]
            failed = [got[seq] for seq in sorted(got) if got[seq].status != "delivered"]
            if failed:
                first = failed[0]
                result.receipts.append(Receipt(head, first.status, first.error_code, first.at))
            elif len(got) == total:
                result.receipts.append(Receipt(head, "delivered", "",
                                               max(row.at for row in got.values())))
            else:
                result.deferred.extend(rows)
                continue
            result.receipt_rows[head] = rows

    def _reassemble(self, keys: set[str], now: datetime, result: SmppPoll) -> None:
        from chappe.carriers.smpp.models import SmppInbox

        groups = defaultdict(list)
        for row in SmppInbox.objects.filter(connector=self.name, kind=SmppInbox.MO,
                                            concat_key__in=keys).order_by("id"):
            groups[row.concat_key].append(row)
        for _key, rows in groups.items():
            first = rows[0]
            by_seq = {row.part_seq: bytes(row.body) for row in rows}
            text = T.reassemble(by_seq, first.part_total, first.data_coding)
            if text is None and now - first.at > MO_PART_TIMEOUT:
                # Parts lost by the network: deliver what arrived rather than nothing.
                text = T.decode(b"".join(by_seq[k] for k in sorted(by_seq)), first.data_coding)
            if text is None:
                result.deferred.extend(row.id for row in rows)
                continue
            result.inbound.append(Inbound(first.carrier_id, first.from_number, first.to, text,
                                          first.at))
            result.inbound_rows[first.carrier_id] = [row.id for row in rows]

    def ack(self, matched: set[str], polled: PollResult) -> None:
        from chappe.carriers.smpp.models import SmppInbox, SmppPart

        if not isinstance(polled, SmppPoll):
            return
        now = timezone.now()
        consumed = [i for cid in matched for i in polled.receipt_rows.get(cid, [])]
        consumed += [i for rows in polled.inbound_rows.values() for i in rows]
        unmatched = [i for r in polled.receipts if r.carrier_message_id not in matched
                     for i in polled.receipt_rows.get(r.carrier_message_id, [])]
        stale = [r.carrier_message_id for r in polled.receipts
                 if r.carrier_message_id not in matched and r.at and now - r.at > GIVE_UP_AFTER]
        if consumed:
            SmppInbox.objects.filter(pk__in=consumed).delete()
        multi = [cid for cid in matched if "#" in cid]
        if multi:
            SmppPart.objects.filter(connector=self.name, head__in=multi).delete()
        if stale:
            SmppInbox.objects.filter(
                pk__in=[i for cid in stale for i in polled.receipt_rows.get(cid, [])]).delete()
        later = [i for i in unmatched + polled.deferred]
        if later:
            SmppInbox.objects.filter(pk__in=later).update(next_try_at=now + RETRY_UNMATCHED)
