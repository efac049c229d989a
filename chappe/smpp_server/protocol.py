"""The SMPP server for client accounts (`chappe smpp-server`, port 2775): the sessions.

Clients bind (tx, rx or trx) with their `SmppAccount` credentials (hashed password,
allowed IPs, max binds per server process, account able to send). A submit_sm is
accepted through `sms_send_each` — the acceptance core of the REST API, so sender rules,
red list, quiet hours and billing all apply — and answered with our message id only once
the message row is committed. Submits arriving together are accepted in one transaction
(group commit: per sender and schedule one Send and one debit, in its own savepoint, so
a refusal does not touch the other groups). Service errors map to SMPP statuses.
data_coding 0 is read in the account's default alphabet (GSM 03.38 or Latin-1).
submit_multi is one acceptance (one Send) for its destinations, answered with the Send's
id and the refused ones (unsuccess_sme); replace_sm edits a still-scheduled message
through the messaging edit service. Other commands are answered ESME_RINVCMDID.

Binds are authenticated in at most `BIND_THREADS` of the executor threads (submits keep
the others), and failed binds back off per address and per system_id (`common.throttle`).

Long messages sent in parts (UDH 8/16-bit or SAR) are kept in `SmppConcatPart` (durable)
and accepted as one message when the last part arrives; earlier parts are answered with
a part id (`part-<n>`), the last with the message id that query_sm uses. A receipt goes
for each part whose submit asked for one (Kannel asks on the first part only, and
expects the receipt under that part's id).
`message_payload` carries a whole long text in one submit_sm.

Receipts (registered_delivery 1, or 2 for failures only) go back as deliver_sm on the
client's receiver/transceiver binds once the message is final; what is not acknowledged
stays queued in the database (`SmppSubmission.receipt_sent_at` null) until a bind takes
it — whichever server process it is on (claims are leased, SKIP LOCKED on PostgreSQL).
MOs answering the client's SMPP messages are delivered likewise. query_sm and cancel_sm
work on our message ids. Each account is throttled to `max_msg_per_s` (ESME_RTHROTTLED).
Malformed PDUs get generic_nack or an error response from the transport; other binds are
not affected.

This module is the asyncio side only (binds, PDUs, windows, pacing); every database step
is a call to `services` / `selectors` run in the server's executor threads (`dbthreads`).
"""

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from chappe.common.throttle import FailureThrottle
from chappe.smpp import pdu as P
from chappe.smpp import receipts as R
from chappe.smpp import text as T
from chappe.smpp.encoding import detect_encoding
from chappe.smpp.transport import Session, SmppError
from chappe.smpp_server import selectors, services
from chappe.smpp_server.dbthreads import (
    connections_close,
    connections_close_all,
    db_call,
)
from chappe.smpp_server.services import Bound, MoDue, ReceiptDue, Submit

log = logging.getLogger("chappe.smpp_server")
PUSH_EVERY = 0.1
DB_THREADS = 4
BIND_THREADS = 2
C = P.t.CommandId
# What clients may ask of us (with enquire_link and unbind, which the session answers).
SERVES = frozenset(P.command_value(c) for c in (
    C.bind_transmitter, C.bind_receiver, C.bind_transceiver, C.submit_sm, C.submit_multi,
    C.query_sm, C.cancel_sm, C.replace_sm))
# Message status → message_state (query_sm, receipts).
STATE_FOR = {"accepted": 1, "scheduled": 1, "queued": 1, "sent": 1, "delivered": 2,
             "expired": 3, "canceled": 4, "undelivered": 5, "rejected": 8, "opted_out": 8}


class TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.at = rate, rate, time.monotonic()

    def take(self, count: int = 1) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= count:
            self.tokens -= count
            return True
        return False


class SmppServer:
    def __init__(self, *, window: int = 100, enquire_link: float = 30.0,
                 guard: FailureThrottle | None = None, accept_threads: int = 1) -> None:
        self.window, self.enquire_link = window, enquire_link
        self.guard = guard or FailureThrottle()
        self._binding = asyncio.Semaphore(BIND_THREADS)
        self.sessions: set[Session] = set()
        self.db = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="smpp-server-db")
        # Accept batches run at once (PostgreSQL only; SQLite has one writer). One costs
        # the least CPU per submit; two hide the round trips to a distant database.
        self.writers = accept_threads
        self.writer = ThreadPoolExecutor(self.writers, thread_name_prefix="smpp-server-accept")
        self.buckets: dict[str, TokenBucket] = {}
        self._pending: list[tuple[Submit, asyncio.Future]] = []
        self._running = 0  # batches being accepted, at most `writers`
        self._scheduled = False
        self._server: asyncio.AbstractServer | None = None
        self._pusher: asyncio.Task | None = None
        # Rounds of the receipt/MO push loop so far: what one waits on to know that the
        # server has looked for receivers since some moment (tests, health).
        self.push_rounds = 0
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 2775, *,
                    reuse_port: bool = False) -> int:
        self._server = await asyncio.start_server(self._on_connect, host, port,
                                                  reuse_port=reuse_port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._pusher = asyncio.create_task(self._push_loop())
        log.info("SMPP server listening on %s:%d", host, self.port)
        return self.port

    async def stop(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
        if self._server is not None:
            self._server.close()
        await asyncio.gather(*(s.unbind(timeout=2) for s in list(self.sessions)),
                             return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        for pool, size in ((self.db, DB_THREADS), (self.writer, self.writers)):
            await asyncio.get_running_loop().run_in_executor(None, connections_close, pool,
                                                             size)
            pool.shutdown(wait=True)

    async def _on_connect(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        session = Session(reader, writer, handler=self._on_request, window=self.window,
                          enquire_link=self.enquire_link, name="smpp-server", serves=SERVES)
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)

    def _db[T](self, call: Callable[[], T]) -> Awaitable[T]:
        return asyncio.get_running_loop().run_in_executor(self.db, db_call, call)

    # -- requests -------------------------------------------------------------------
    async def _on_request(self, session: Session, pdu: Any) -> Any:
        command = P.command_id(pdu)
        if pdu.id in P.BIND_REQUESTS:
            return await self._bind(session, pdu)
        if session.mode is None:
            return P.error_response(command, pdu.seqNum, P.RINVBNDSTS)
        bound: Bound = session.context["bound"]
        submits = {P.t.CommandId.submit_sm: self._submit,
                   P.t.CommandId.submit_multi: self._submit_multi}
        if pdu.id in submits:
            if not session.can_transmit:
                return P.error_response(command, pdu.seqNum, P.RINVBNDSTS)
            return await submits[pdu.id](bound, pdu)
        if pdu.id == P.t.CommandId.query_sm:
            return await self._query(bound, pdu)
        if pdu.id == P.t.CommandId.cancel_sm:
            return await self._cancel(bound, pdu)
        if pdu.id == P.t.CommandId.replace_sm:
            return await self._replace(bound, pdu)
        return P.error_response(command, pdu.seqNum, P.RINVCMDID)

    async def _bind(self, session: Session, pdu: Any) -> Any:
        if session.mode is not None:
            return P.bind_resp(pdu, status=P.RALYBND)
        system_id = P.text_of(pdu.params["system_id"])
        password = P.text_of(pdu.params["password"])
        peer = session.peer[0] if session.peer else ""
        async with self._binding:  # checked once a slot is ours: a flood waits here too
            if self.guard.retry_after(f"ip:{peer}", f"id:{system_id}"):
                log.info("SMPP bind of %r from %s refused: backing off", system_id, peer)
                return P.bind_resp(pdu, status=P.RBINDFAIL)
            status, bound = await self._db(partial(
                services.smpp_bind_authenticate, system_id=system_id, password=password,
                peer=peer))
            if bound is None:
                self.guard.failed(f"ip:{peer}", f"id:{system_id}")
            else:
                self.guard.succeeded(f"ip:{peer}", f"id:{system_id}")
        if bound is not None:
            binds = sum(1 for s in self.sessions if s.system_id == system_id and s.mode)
            if binds >= bound.max_binds:
                status = P.RBINDFAIL
        if status != P.ROK or bound is None:
            log.info("SMPP bind refused for %r from %s: %s", system_id, peer,
                     P.status_name(status))
            return P.bind_resp(pdu, status=status)
        session.mode, session.system_id = P.BIND_REQUESTS[pdu.id], system_id
        session.context["bound"] = bound
        self.buckets.setdefault(system_id, TokenBucket(bound.max_mps)).rate = bound.max_mps
        log.info("SMPP %s bind of %s from %s", session.mode, system_id, peer)
        return P.bind_resp(pdu, system_id="chappe")

    async def _submit(self, bound: Bound, pdu: Any) -> Any:
        if not self.buckets[bound.system_id].take():
            return P.error_response(P.command_id(pdu), pdu.seqNum, P.RTHROTTLED)
        params = pdu.params
        submit = _submit_of(bound, pdu, destination=_number(
            P.text_of(params["destination_addr"]), P.ton_value(params["dest_addr_ton"])))
        future = asyncio.get_running_loop().create_future()
        self._pending.append((submit, future))
        if not self._scheduled:  # once the submits read together are all pending
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._accept_pending)
        status, message_id = await future
        if status != P.ROK:
            return P.error_response(P.command_id(pdu), pdu.seqNum, status)
        return P.submit_sm_resp(pdu.seqNum, message_id)

    async def _submit_multi(self, bound: Bound, pdu: Any) -> Any:
        """One acceptance for every SME destination; distribution lists are not kept
        here, so those destinations are refused (ESME_RINVDLNAME)."""
        command, seq = P.command_id(pdu), pdu.seqNum
        destinations: list[P.DestAddress] = pdu.params["dest_address"]
        if not destinations:
            return P.error_response(command, seq, P.RINVNUMDESTS)
        if not self.buckets[bound.system_id].take(len(destinations)):
            return P.error_response(command, seq, P.RTHROTTLED)
        submit = _submit_of(bound, pdu, destination="")
        if submit.concat is not None:  # parts of a long message: submit_sm only
            return P.error_response(command, seq, P.RINVESMCLASS)
        smes = [d for d in destinations if not d.is_list]
        unsuccess = [P.UnsuccessSme(d.address, 0, 0, P.RINVDLNAME)
                     for d in destinations if d.is_list]
        status, message_id, refused = (P.RINVDLNAME, "", []) if not smes else (
            await asyncio.get_running_loop().run_in_executor(self.writer, db_call, partial(
                services.smpp_multi_accept, submit=submit,
                destinations=[_number(d.address, d.ton) for d in smes])))
        if status != P.ROK:
            return P.error_response(command, seq, status)
        unsuccess += [P.UnsuccessSme(smes[i].address, smes[i].ton, smes[i].npi, code)
                      for i, code in refused]
        return P.op.SubmitMultiResp(seqNum=seq, message_id=message_id,
                                    no_unsuccess_sme=unsuccess)

    def _accept_pending(self) -> None:
        """Accept what is pending in batches (group commits), one per free writer (with
        two, the pending submits are split so that one half is answered, and the client's
        window refilled, while the other commits); when a batch is done, what arrived
        meanwhile."""
        self._scheduled = False
        loop = asyncio.get_running_loop()
        while self._pending and self._running < self.writers:
            size = min(services.MAX_BATCH,
                       -(-len(self._pending) // (self.writers - self._running)))
            batch, self._pending = self._pending[:size], self._pending[size:]
            self._running += 1
            done = loop.run_in_executor(self.writer, db_call, partial(
                services.smpp_submits_accept, submits=[submit for submit, _f in batch]))
            done.add_done_callback(partial(self._settle, batch))

    def _settle(self, batch: list[tuple[Submit, asyncio.Future]],
                result: asyncio.Future) -> None:
        self._running -= 1
        error = result.exception()
        answers = result.result() if error is None else [(P.RSYSERR, "")] * len(batch)
        if error is not None:
            log.error("SMPP accept batch failed: %r", error)
        for (_submit, future), answer in zip(batch, answers, strict=True):
            if not future.done():
                future.set_result(answer)
        self._accept_pending()  # what arrived meanwhile: the next group commit

    async def _query(self, bound: Bound, pdu: Any) -> Any:
        found = await self._db(partial(
            selectors.smpp_message_status, account_id=bound.account_id,
            smpp_id=bound.smpp_id, message_id=P.text_of(pdu.params["message_id"])))
        if found is None:
            return P.error_response(P.command_id(pdu), pdu.seqNum, P.RQUERYFAIL)
        message_id, status = found
        return P.op.QuerySMResp(seqNum=pdu.seqNum, message_id=message_id, final_date=None,
                                message_state=P.message_state(STATE_FOR[status]),
                                error_code=0)

    async def _cancel(self, bound: Bound, pdu: Any) -> Any:
        canceled = await self._db(partial(
            services.smpp_message_cancel, bound=bound,
            message_id=P.text_of(pdu.params["message_id"])))
        if not canceled:
            return P.error_response(P.command_id(pdu), pdu.seqNum, P.RCANCELFAIL)
        return P.op.CancelSMResp(seqNum=pdu.seqNum)

    async def _replace(self, bound: Bound, pdu: Any) -> Any:
        params = pdu.params
        body = P.short_message_of(pdu)
        status = await self._db(partial(
            services.smpp_message_replace, bound=bound,
            message_id=P.text_of(params["message_id"]),
            text=T.decode(body, bound.data_coding_0) if body else None,
            send_at=_schedule(params.get("schedule_delivery_time"))))
        if status != P.ROK:
            return P.error_response(P.command_id(pdu), pdu.seqNum, status)
        return P.op.ReplaceSMResp(seqNum=pdu.seqNum)

    # -- receipts and MOs back to clients -------------------------------------------
    def _receivers(self) -> dict[str, list[Session]]:
        found: dict[str, list[Session]] = defaultdict(list)
        for session in self.sessions:
            if session.can_receive:
                found[session.system_id].append(session)
        return found

    async def _push_loop(self) -> None:
        while True:
            await asyncio.sleep(PUSH_EVERY)
            self.push_rounds += 1
            receivers = self._receivers()
            if not receivers:
                continue
            try:
                await self._push(receivers)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("SMPP push failed; retrying")
                await asyncio.sleep(1)

    async def _push(self, receivers: dict[str, list[Session]]) -> None:
        ids = {s.context["bound"].smpp_id: system_id for system_id, sessions in receivers.items()
               for s in sessions}
        receipts, mos = await self._db(partial(services.smpp_outbound_claim,
                                               smpp_ids=list(ids)))
        if not receipts and not mos:
            return

        def session_for(item: ReceiptDue | MoDue) -> Session:
            return min(receivers[ids[item.smpp_id]], key=lambda s: s.in_flight)

        sent = await asyncio.gather(
            *(_deliver(session_for(r), [_receipt_pdu(r, id) for id in r.receipt_ids])
              for r in receipts),
            *(_deliver(session_for(mo), _mo_pdus(mo)) for mo in mos))
        receipt_sent, mo_sent = sent[:len(receipts)], sent[len(receipts):]
        acked = [r.message_id for r, sent in zip(receipts, receipt_sent, strict=True) if sent]
        await self._db(partial(
            services.smpp_outbound_record, acked=acked,
            mos=[(mo.reply_id, mo.account_id) for mo, sent in zip(mos, mo_sent, strict=True)
                 if sent],
            failed=[r.message_id for r, sent in zip(receipts, receipt_sent, strict=True)
                    if not sent]))


async def _deliver(session: Session, pdus: list[Any]) -> bool:
    """Send deliver_sm PDUs in order; whether the client acknowledged them all."""
    try:
        for pdu in pdus:
            await session.request(pdu)
    except SmppError as exc:
        log.info("deliver_sm to %s not acknowledged: %s", session.system_id, exc)
        return False
    return True


def _number(address: str, ton: int) -> str:
    """A destination as the acceptance reads it: international digits get their "+"."""
    return f"+{address}" if ton == 1 and address.isdigit() else address


def _submit_of(bound: Bound, pdu: Any, *, destination: str) -> Submit:
    """A submit_sm or submit_multi as the acceptance needs it (to `destination`)."""
    params = pdu.params
    ud = T.user_data(P.short_message_of(pdu), P.esm_value(params["esm_class"]), params)
    data_coding = P.data_coding_value(params["data_coding"])
    return Submit(
        bound=bound, source=P.text_of(params["source_addr"]), destination=destination,
        data_coding=data_coding or bound.data_coding_0, body=ud.body,
        concat=ud.concat if ud.concat and ud.concat[1] > 1 else None,
        registered=P.registered_delivery_value(params["registered_delivery"]) & 0x03,
        send_at=_schedule(params.get("schedule_delivery_time")))


def _schedule(value: Any) -> datetime | None:
    """schedule_delivery_time, absolute (with its UTC offset) or relative, as a datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    delta = timedelta(days=value.years * 365 + value.months * 30 + value.days,
                      hours=value.hours, minutes=value.minutes, seconds=value.seconds)
    return datetime.now(UTC) + delta if delta else None


def _addr(number: str) -> tuple[str, int, int]:
    if number.startswith("+") and number[1:].isdigit():
        return number[1:], 1, 1
    return number, (1 if number.isdigit() else 5), (1 if number.isdigit() else 0)


def _receipt_pdu(receipt: ReceiptDue, client_id: str) -> Any:
    """A receipt, under one of the ids the client was given, as deliver_sm: Appendix B
    text, and the receipted_message_id and message_state TLVs."""
    state = STATE_FOR[receipt.status]
    stat = R.STATE_STAT[state]
    code = receipt.error_code
    err = code if stat != "DELIVRD" and code.isdigit() and len(code) <= 3 else "000"
    body = R.format_text(id=client_id, stat=stat, err=err,
                         submitted=receipt.submitted_at, done=receipt.done_at,
                         text=receipt.text)
    destination, dest_ton, dest_npi = _addr(receipt.sender)
    return P.deliver_sm(
        source=_addr(receipt.recipient)[0], source_ton=1, source_npi=1,
        destination=destination, dest_ton=dest_ton, dest_npi=dest_npi,
        short_message=body.encode("ascii", errors="replace"), data_coding_value=0,
        esm=0x04, receipted_message_id=client_id,
        message_state=P.message_state(state))


def _mo_pdus(mo: MoDue) -> list[Any]:
    """An MO as deliver_sm, in UDH parts when long."""
    dc = T.choose_data_coding(mo.text, detect_encoding(mo.text))
    src, src_ton, src_npi = _addr(mo.from_number)
    dst, dst_ton, dst_npi = _addr(mo.to)
    return [P.deliver_sm(source=src, source_ton=src_ton, source_npi=src_npi, destination=dst,
                         dest_ton=dst_ton, dest_npi=dst_npi, short_message=part.short_message,
                         data_coding_value=dc, esm=part.esm_class)
            for part in T.split(mo.text, dc, "udh8", mo.reply_id.int & 0xFF)]


def run_server(*, host: str, port: int, port_file: str | None = None,
               processes: int = 1, accept_threads: int = 1) -> None:
    """Serve until SIGINT/SIGTERM. With `processes` > 1, that many server processes
    (this one and forked copies) share the port (SO_REUSEPORT: the kernel spreads the
    binds over them), one event loop and one set of threads each, for as many cores;
    `max_binds` and the bind back-off then count per process."""
    if processes <= 1:
        _serve(host=host, port=port, port_file=port_file, reuse_port=False,
               accept_threads=accept_threads)
        return
    if port == 0:
        with socket.socket() as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    connections_close_all()  # no database connection crosses a fork
    children = []
    for _ in range(processes - 1):
        pid = os.fork()
        if pid == 0:
            try:
                _serve(host=host, port=port, port_file=None, reuse_port=True,
                       accept_threads=accept_threads)
            finally:
                os._exit(0)
        children.append(pid)
    try:
        _serve(host=host, port=port, port_file=port_file, reuse_port=True,
               accept_threads=accept_threads)
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            os.waitpid(pid, 0)


def _serve(*, host: str, port: int, port_file: str | None, reuse_port: bool,
           accept_threads: int) -> None:
    async def serve() -> None:
        server = SmppServer(accept_threads=accept_threads)
        bound_port = await server.start(host, port, reuse_port=reuse_port)
        if port_file:
            Path(port_file).write_text(str(bound_port))
        print(f"SMPP server listening on {host}:{bound_port} (pid {os.getpid()})",
              flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        await server.stop()

    asyncio.run(serve())


class ServerThread:
    """The server on its own event loop in a thread (tests, benchmarks)."""

    def __init__(self, **options: Any) -> None:
        self.server = SmppServer(**options)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="smpp-server",
                                        daemon=True)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.server.start(host, port),
                                                self.loop).result(5)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
