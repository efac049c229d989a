"""The SMPP server for client accounts (`chappe smpp-server`, port 2775).

Clients bind (tx, rx or trx) with their `SmppAccount` credentials (hashed password,
allowed IPs, max binds per server process, account able to send). A submit_sm is
accepted through `sms_send_each` — the acceptance core of the REST API, so sender rules,
red list, quiet hours and billing all apply — and answered with our message id only once
the message row is committed. Submits arriving together are accepted in one transaction
(group commit: per sender and schedule one Send and one debit, in its own savepoint, so
a refusal does not touch the other groups). Service errors map to SMPP statuses (`STATUS_FOR`).

Long messages sent in parts (UDH 8/16-bit or SAR) are kept in `SmppConcatPart` (durable)
and accepted as one message when the last part arrives; earlier parts are answered with
a part id (`part-<n>`), the last with the message id that receipts and query_sm use.
`message_payload` carries a whole long text in one submit_sm.

Receipts (registered_delivery 1, or 2 for failures only) go back as deliver_sm on the
client's receiver/transceiver binds once the message is final; what is not acknowledged
stays queued in the database (`SmppSubmission.receipt_sent_at` null) until a bind takes
it — whichever server process it is on (claims are leased, SKIP LOCKED on PostgreSQL).
MOs answering the client's SMPP messages are delivered likewise. query_sm and cancel_sm
work on our message ids. Each account is throttled to `max_msg_per_s` (ESME_RTHROTTLED).
Malformed PDUs get generic_nack or an error response from the transport; other binds are
not affected.
"""

import asyncio
import contextlib
import ipaddress
import logging
import signal
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import OperationalError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from chappe.smpp import pdu as P
from chappe.smpp import receipts as R
from chappe.smpp import text as T
from chappe.smpp.encoding import detect_encoding
from chappe.smpp.transport import Session, SmppError

log = logging.getLogger("chappe.smpp_server")
RECEIPT_LEASE = timedelta(seconds=30)
PUSH_EVERY = 0.1
MAX_BATCH = 500
DB_THREADS = 4
STATUS_FOR = {
    "insufficient_credit": P.RSUBMITFAIL,
    "service_unavailable": P.RSUBMITFAIL,
    "permission_denied": P.RSUBMITFAIL,
    "too_many_segments": P.RINVMSGLEN,
    "validation_error": P.RINVMSGLEN,
}
# Message status → message_state (query_sm, receipts).
STATE_FOR = {"accepted": 1, "scheduled": 1, "queued": 1, "sent": 1, "delivered": 2,
             "expired": 3, "canceled": 4, "undelivered": 5, "rejected": 8, "opted_out": 8}


@dataclass
class Bound:
    """What a bind knows of its client (loaded once at bind)."""

    smpp_id: uuid.UUID
    account_id: uuid.UUID
    system_id: str
    max_mps: int
    default_sender: str


@dataclass
class Submit:
    bound: Bound
    source: str
    destination: str
    data_coding: int
    body: bytes
    concat: tuple[int, int, int] | None
    registered: int
    send_at: Any = None


class TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate, self.tokens, self.at = rate, rate, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class SmppServer:
    def __init__(self, *, window: int = 100, enquire_link: float = 30.0) -> None:
        self.window, self.enquire_link = window, enquire_link
        self.sessions: set[Session] = set()
        self.db = ThreadPoolExecutor(DB_THREADS, thread_name_prefix="smpp-server-db")
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="smpp-server-accept")
        self.buckets: dict[str, TokenBucket] = {}
        self._pending: list[tuple[Submit, asyncio.Future]] = []
        self._accepting = False
        self._server: asyncio.AbstractServer | None = None
        self._pusher: asyncio.Task | None = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 2775) -> int:
        self._server = await asyncio.start_server(self._on_connect, host, port)
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
        for pool, size in ((self.db, DB_THREADS), (self.writer, 1)):
            await asyncio.get_running_loop().run_in_executor(None, _close_connections, pool,
                                                             size)
            pool.shutdown(wait=True)

    async def _on_connect(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        session = Session(reader, writer, handler=self._on_request, window=self.window,
                          enquire_link=self.enquire_link, name="smpp-server")
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)

    def _db(self, fn: Any, *args: Any) -> Any:
        return asyncio.get_running_loop().run_in_executor(self.db, _in_thread, fn, *args)

    # -- requests -------------------------------------------------------------------
    async def _on_request(self, session: Session, pdu: Any) -> Any:
        command = P.command_id(pdu)
        if pdu.id in P.BIND_REQUESTS:
            return await self._bind(session, pdu)
        if session.mode is None:
            return P.error_response(command, pdu.seqNum, P.RINVBNDSTS)
        bound: Bound = session.context["bound"]
        if pdu.id == P.t.CommandId.submit_sm:
            if not session.can_transmit:
                return P.error_response(command, pdu.seqNum, P.RINVBNDSTS)
            return await self._submit(session, bound, pdu)
        if pdu.id == P.t.CommandId.query_sm:
            return await self._db(_query, bound, pdu)
        if pdu.id == P.t.CommandId.cancel_sm:
            return await self._db(_cancel, bound, pdu)
        return P.error_response(command, pdu.seqNum, P.RINVCMDID)

    async def _bind(self, session: Session, pdu: Any) -> Any:
        if session.mode is not None:
            return P.bind_resp(pdu, status=P.RALYBND)
        system_id = P.text_of(pdu.params["system_id"])
        password = P.text_of(pdu.params["password"])
        peer = session.peer[0] if session.peer else ""
        status, bound = await self._db(_authenticate, system_id, password, peer)
        if status == P.ROK:
            binds = sum(1 for s in self.sessions if s.system_id == system_id and s.mode)
            if binds >= bound.max_binds:
                status = P.RBINDFAIL
        if status != P.ROK:
            log.info("SMPP bind refused for %r from %s: %s", system_id, peer,
                     P.status_name(status))
            return P.bind_resp(pdu, status=status)
        session.mode, session.system_id = P.BIND_REQUESTS[pdu.id], system_id
        session.context["bound"] = Bound(bound.pk, bound.account_id, system_id,
                                         bound.max_msg_per_s, bound.default_sender)
        self.buckets.setdefault(system_id, TokenBucket(bound.max_msg_per_s)).rate = (
            bound.max_msg_per_s)
        log.info("SMPP %s bind of %s from %s", session.mode, system_id, peer)
        return P.bind_resp(pdu, system_id="chappe")

    async def _submit(self, session: Session, bound: Bound, pdu: Any) -> Any:
        if not self.buckets[bound.system_id].take():
            return P.error_response(P.command_id(pdu), pdu.seqNum, P.RTHROTTLED)
        params = pdu.params
        esm = P.esm_value(params["esm_class"])
        ud = T.user_data(P.short_message_of(pdu), esm, params)
        submit = Submit(
            bound=bound, source=P.text_of(params["source_addr"]),
            destination=P.text_of(params["destination_addr"]),
            data_coding=P.data_coding_value(params["data_coding"]), body=ud.body,
            concat=ud.concat if ud.concat and ud.concat[1] > 1 else None,
            registered=P.registered_delivery_value(params["registered_delivery"]) & 0x03)
        submit.send_at = _schedule(params.get("schedule_delivery_time"))
        if P.ton_value(params["dest_addr_ton"]) == 1 and submit.destination.isdigit():
            submit.destination = f"+{submit.destination}"
        future = asyncio.get_running_loop().create_future()
        self._pending.append((submit, future))
        if not self._accepting:
            self._accepting = True
            asyncio.get_running_loop().call_soon(self._accept_pending)
        status, message_id = await future
        if status != P.ROK:
            return P.error_response(P.command_id(pdu), pdu.seqNum, status)
        return P.op.SubmitSMResp(seqNum=pdu.seqNum, message_id=message_id)

    def _accept_pending(self) -> None:
        """Accept what is pending as one batch (a group commit), then, when it is done,
        what arrived meanwhile."""
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        if not batch:
            self._accepting = False
            return
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self.writer, _in_thread, _accept_batch,
                                    [submit for submit, _f in batch])

        def settle(result: asyncio.Future) -> None:
            error = result.exception()
            answers = result.result() if error is None else [(P.RSYSERR, "")] * len(batch)
            if error is not None:
                log.error("SMPP accept batch failed: %r", error)
            for (_submit, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)
            self._accept_pending()  # what arrived meanwhile: the next group commit

        done.add_done_callback(settle)

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
        receipts, mos = await self._db(_claim_outbound, list(ids))
        acked: list[Any] = []
        delivered_mos: list[Any] = []
        sends = []
        for item in receipts + mos:
            sessions = receivers[ids[item["smpp_id"]]]
            session = min(sessions, key=lambda s: s.in_flight)
            sends.append(self._send_outbound(session, item, acked, delivered_mos))
        if sends:
            await asyncio.gather(*sends)
            await self._db(_mark_outbound, acked, delivered_mos,
                           [r["message_id"] for r in receipts if r["message_id"] not in acked])

    async def _send_outbound(self, session: Session, item: dict[str, Any], acked: list,
                             delivered_mos: list) -> None:
        try:
            for pdu in item["pdus"]:
                await session.request(pdu)
        except SmppError as exc:
            log.info("deliver_sm to %s not acknowledged: %s", session.system_id, exc)
            return
        if "reply_id" in item:
            delivered_mos.append((item["reply_id"], item["account_id"]))
        else:
            acked.append(item["message_id"])


def _close_connections(pool: ThreadPoolExecutor, size: int) -> None:
    """Close the database connection of every thread of `pool` (one task per thread,
    held at a barrier so each thread takes exactly one)."""
    import threading

    barrier = threading.Barrier(size)

    def close() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        connection.close()

    for future in [pool.submit(close) for _ in range(size)]:
        future.result(timeout=5)


def _schedule(value: Any) -> Any:
    """schedule_delivery_time, absolute (with its UTC offset) or relative, as a datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    delta = timedelta(days=value.years * 365 + value.months * 30 + value.days,
                      hours=value.hours, minutes=value.minutes, seconds=value.seconds)
    return timezone.now() + delta if delta else None


def _in_thread(fn: Any, *args: Any) -> Any:
    """Run a DB function in an executor thread. SQLite's shared-cache test databases
    answer "table is locked" at once instead of waiting: retry those briefly."""
    close_old_connections()
    for attempt in range(50):
        try:
            return fn(*args)
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.02)
    return None


def _authenticate(system_id: str, password: str, peer: str) -> tuple[int, Any]:
    from chappe.accounts.models import ServiceKind
    from chappe.accounts.services import service_require
    from chappe.common.errors import ChappeError
    from chappe.smpp_server.models import SmppAccount

    smpp = SmppAccount.objects.select_related("account").filter(
        system_id=system_id, enabled=True).first()
    if smpp is None:
        return P.RINVSYSID, None
    if not smpp.check_password(password):
        return P.RINVPASWD, None
    if smpp.allowed_ips:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return P.RBINDFAIL, None
        if not any(address in ipaddress.ip_network(net, strict=False)
                   for net in smpp.allowed_ips):
            return P.RBINDFAIL, None
    try:
        service_require(account=smpp.account, kind=ServiceKind.MESSAGING)
    except ChappeError:
        return P.RBINDFAIL, None
    return P.ROK, smpp


def _actor(bound: Bound, account: Any) -> Any:
    from chappe.accounts.actor import Actor

    # The bind authenticated the account, as an API key would; the audit trail and the
    # send's `created_by` say which SMPP credentials acted.
    return Actor(account=account, is_operator=True, user_agent=f"smpp:{bound.system_id}")


def _accept_batch(items: list[Submit]) -> list[tuple[int, str]]:
    """Accept a group of submits in one transaction: per account, whole messages go
    through one `sms_send_each` (a Send and one debit per sender and schedule); a long
    message sent in parts is accepted when its last part arrives."""
    from chappe.accounts.models import Account

    accounts = {a.pk: a for a in Account.objects.filter(
        pk__in={item.bound.account_id for item in items})}
    answers: list[tuple[int, str] | None] = [None] * len(items)
    by_bind: dict[uuid.UUID, list[tuple[int, str]]] = defaultdict(list)
    with transaction.atomic():
        for index, item in enumerate(items):
            if item.concat is None:
                by_bind[item.bound.smpp_id].append((index, T.decode(item.body,
                                                                    item.data_coding)))
                continue
            try:
                with transaction.atomic():
                    text = _concat_text(item, accounts[item.bound.account_id])
            except Exception as exc:
                answers[index] = (_status_for(exc), "")
                continue
            if isinstance(text, tuple):
                answers[index] = text
            else:
                by_bind[item.bound.smpp_id].append((index, text))
        for group in by_bind.values():
            bound = items[group[0][0]].bound
            try:
                results = _accept_group([(items[i], text) for i, text in group],
                                        accounts[bound.account_id])
            except Exception as exc:
                results = [(_status_for(exc), "")] * len(group)
            for (index, _text), result in zip(group, results, strict=True):
                answers[index] = result
    return [answer or (P.RSYSERR, "") for answer in answers]


def _status_for(exc: Exception) -> int:
    from chappe.common.errors import ChappeError

    if isinstance(exc, ChappeError):
        return STATUS_FOR.get(exc.code, P.RSYSERR)
    log.exception("SMPP submit failed", exc_info=exc)
    return P.RSYSERR


SUBMISSION_COLUMNS = ("message_id", "account_id", "smpp_account_id", "registered_delivery",
                      "receipt_sent_at", "locked_until", "created_at")
# What a recipient's outcome that made no message answers over SMPP.
REFUSED = {"invalid": P.RINVDSTADR, "sender_rejected": P.RINVSRCADR}


def _accept_group(submits: list[tuple[Submit, str]], account: Any) -> list[tuple[int, str]]:
    from chappe.common.bulk import bulk_insert
    from chappe.messaging.services.accept import SmsItem, sms_send_each
    from chappe.smpp_server.models import SmppSubmission

    bound = submits[0][0].bound
    outcomes = sms_send_each(actor=_actor(bound, account), account=account, items=[
        SmsItem(recipient=item.destination, text=text,
                sender=item.source or bound.default_sender, send_at=item.send_at)
        for item, text in submits])
    answers: list[tuple[int, str]] = []
    submissions = []
    now = timezone.now()
    for (item, _text), outcome in zip(submits, outcomes, strict=True):
        if outcome.message is None:
            answers.append((REFUSED.get(outcome.status)
                            or STATUS_FOR.get(outcome.error_code, P.RSUBMITFAIL), ""))
            continue
        submissions.append((outcome.message.id, account.pk, bound.smpp_id, item.registered,
                            None, None, now))
        answers.append((P.ROK, str(outcome.message.id)))
    bulk_insert(SmppSubmission, SUBMISSION_COLUMNS, submissions)
    return answers


def _concat_text(item: Submit, account: Any) -> str | tuple[int, str]:
    """Keep this part; the whole text once every part is here, else the part's answer."""
    from chappe.smpp_server.models import SmppConcatPart

    bound = item.bound
    ref, total, seq = item.concat  # type: ignore[misc]
    key = f"{item.source}|{item.destination}|{ref}|{total}"[:120]
    part, _created = SmppConcatPart.objects.get_or_create(
        smpp_account_id=bound.smpp_id, key=key, seq=seq,
        defaults={"account": account, "total": total, "data_coding": item.data_coding,
                  "body": item.body})
    parts = {p.seq: bytes(p.body) for p in SmppConcatPart.objects.filter(
        smpp_account_id=bound.smpp_id, key=key)}
    text = T.reassemble(parts, total, item.data_coding)
    if text is None:
        return P.ROK, f"part-{part.pk}"
    SmppConcatPart.objects.filter(smpp_account_id=bound.smpp_id, key=key).delete()
    return text


def _message_of(bound: Bound, pdu: Any) -> Any:
    from chappe.messaging.models import Message

    try:
        message_id = uuid.UUID(P.text_of(pdu.params["message_id"]))
    except ValueError:
        return None
    return Message.objects.filter(account_id=bound.account_id, pk=message_id,
                                  smpp__smpp_account_id=bound.smpp_id).first()


def _query(bound: Bound, pdu: Any) -> Any:
    message = _message_of(bound, pdu)
    if message is None:
        return P.error_response(P.command_id(pdu), pdu.seqNum, P.RQUERYFAIL)
    return P.op.QuerySMResp(seqNum=pdu.seqNum, message_id=str(message.id), final_date=None,
                            message_state=P.message_state(STATE_FOR[message.status]),
                            error_code=0)


def _cancel(bound: Bound, pdu: Any) -> Any:
    from chappe.accounts.models import Account
    from chappe.common.errors import ChappeError
    from chappe.messaging.services.edit import message_cancel

    message = _message_of(bound, pdu)
    if message is None:
        return P.error_response(P.command_id(pdu), pdu.seqNum, P.RCANCELFAIL)
    try:
        message_cancel(actor=_actor(bound, Account.objects.get(pk=bound.account_id)),
                       message=message)
    except ChappeError:
        return P.error_response(P.command_id(pdu), pdu.seqNum, P.RCANCELFAIL)
    return P.op.CancelSMResp(seqNum=pdu.seqNum)


def _addr(number: str) -> tuple[str, int, int]:
    if number.startswith("+") and number[1:].isdigit():
        return number[1:], 1, 1
    return number, (1 if number.isdigit() else 5), (1 if number.isdigit() else 0)


def _mo_pdus(*, source: str, destination: str, text: str, ref: int) -> list[Any]:
    """An MO as deliver_sm, in UDH parts when long."""
    dc = T.choose_data_coding(text, detect_encoding(text))
    src, src_ton, src_npi = _addr(source)
    dst, dst_ton, dst_npi = _addr(destination)
    return [P.deliver_sm(source=src, source_ton=src_ton, source_npi=src_npi, destination=dst,
                         dest_ton=dst_ton, dest_npi=dst_npi, short_message=part.short_message,
                         data_coding_value=dc, esm=part.esm_class)
            for part in T.split(text, dc, "udh8", ref)]


def _claim_outbound(smpp_ids: list[Any]) -> tuple[list[dict], list[dict]]:
    """Receipts due (final messages, not yet acknowledged) and MOs for these accounts,
    leased for a while so another server process does not send them too."""
    from chappe.messaging.lifecycle import FINAL
    from chappe.messaging.models import Reply
    from chappe.smpp_server.models import SmppSubmission

    now = timezone.now()
    receipts: list[dict] = []
    with transaction.atomic():
        due = (SmppSubmission.objects.select_related("message")
               .filter(smpp_account_id__in=smpp_ids, receipt_sent_at__isnull=True,
                       registered_delivery__gt=0, message__status__in=list(FINAL))
               .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now)))
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due[:MAX_BATCH])
        skip = [r.pk for r in rows
                if r.registered_delivery == 2 and r.message.status == "delivered"]
        SmppSubmission.objects.filter(pk__in=skip).update(receipt_sent_at=now)
        rows = [r for r in rows if r.pk not in set(skip)]
        SmppSubmission.objects.filter(pk__in=[r.pk for r in rows]).update(
            locked_until=now + RECEIPT_LEASE)
    for row in rows:
        message = row.message
        state = STATE_FOR[message.status]
        stat = R.STATE_STAT[state]
        code = message.error_code
        err = code if stat != "DELIVRD" and code.isdigit() and len(code) <= 3 else "000"
        body = R.format_text(id=str(message.id), stat=stat, err=err,
                             submitted=message.created_at, done=message.status_changed_at,
                             text=message.text)
        pdu = P.deliver_sm(
            source=_addr(message.recipient)[0], source_ton=1, source_npi=1,
            destination=_addr(message.sender)[0], dest_ton=_addr(message.sender)[1],
            dest_npi=_addr(message.sender)[2],
            short_message=body.encode("ascii", errors="replace"), data_coding_value=0,
            esm=0x04, receipted_message_id=str(message.id),
            message_state=P.message_state(state))
        receipts.append({"smpp_id": row.smpp_account_id, "message_id": row.pk, "pdus": [pdu]})
    mos = []
    for reply in (Reply.objects.filter(message__smpp__smpp_account_id__in=smpp_ids,
                                       smpp_delivery__isnull=True)
                  .select_related("message__smpp").order_by("received_at")[:MAX_BATCH]):
        pdus = _mo_pdus(source=reply.from_number, destination=reply.to, text=reply.text,
                        ref=reply.pk.int & 0xFF)
        mos.append({"smpp_id": reply.message.smpp.smpp_account_id, "reply_id": reply.pk,
                    "account_id": reply.account_id, "pdus": pdus})
    return receipts, mos


def _mark_outbound(acked: list[Any], mos: list[tuple[Any, Any]], failed: list[Any]) -> None:
    from chappe.smpp_server.models import SmppMoDelivery, SmppSubmission

    now = timezone.now()
    with transaction.atomic():
        SmppSubmission.objects.filter(pk__in=acked).update(receipt_sent_at=now)
        SmppSubmission.objects.filter(pk__in=failed).update(locked_until=None)
        SmppMoDelivery.objects.bulk_create(
            [SmppMoDelivery(reply_id=reply, account_id=account, delivered_at=now)
             for reply, account in mos], ignore_conflicts=True)


def run_server(*, host: str, port: int, port_file: str | None = None) -> None:
    async def serve() -> None:
        server = SmppServer()
        bound_port = await server.start(host, port)
        if port_file:
            Path(port_file).write_text(str(bound_port))
        print(f"SMPP server listening on {host}:{bound_port}", flush=True)
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
        import threading

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
