"""The binds of one SMPP connector, on an asyncio loop in a thread of the gateway process.

The gateway loop is synchronous; `SmppConnector.start()` creates one `Engine`, which runs
the binds on its own event loop (`submit_many` is called from the gateway's thread through
`call`) and does its database writes — inbox rows, bind state — in its own DB thread.

Sending. Each message is split per the configured long-message method (udh8, udh16, sar,
payload); every part is a submit_sm, paced by the connector's cap (`max_mps`) and
windowed per bind (`window`), on the bind with the fewest in flight.

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
ESME_RX_T_APPN and the SMSC re-sends.

Binds reconnect with exponential back-off (`reconnect_min` … `reconnect_max`, jittered).
The connector is `down` when no transmitter is bound and binding has failed (routing then
fails over). Live state goes to `SmppBindState` every 2 s (admin, /metrics).
"""

import asyncio
import contextlib
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from chappe.carriers.base import Outbound, SubmitResult
from chappe.carriers.smpp.config import SmppConfig
from chappe.carriers.smpp.models import SmppBindState, SmppInbox
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
STATE_EVERY = 2.0


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

    def __init__(self, name: str, settings: SmppConfig, process: str) -> None:
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
        close_old_connections()
        now = timezone.now()
        for row in rows:
            slot = row.pop("slot")
            SmppBindState.objects.update_or_create(
                connector=self.name, process=self.process, slot=slot,
                defaults={**row, "updated_at": now})

    def _forget_state(self) -> None:
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
    close_old_connections()
    with transaction.atomic():
        bulk_insert(SmppInbox, _INBOX_COLUMNS, rows)
