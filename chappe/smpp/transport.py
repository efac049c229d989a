"""An SMPP 3.4 session over asyncio streams, used by every side we run: the carrier
connector (ESME), the SMSC simulator and the client-facing SMPP server.

* Framing: the 16-byte header is read first; a `command_length` below 16 or above
  `MAX_PDU` cannot be resynchronised, so it is answered with generic_nack
  (ESME_RINVCMDLEN) and the connection closed. A PDU that frames correctly but does not
  decode is answered (its own `_resp` with the decoder's status, or generic_nack for an
  unknown command id) and the session goes on. sequence_number 0 is answered with 0.
* Requests we send get a sequence number and a future; a timer per PDU fails it with
  `ResponseTimeout`. At most `window` requests are outstanding (asynchronous windowing).
  generic_nack answers fail the matching request with `CommandStatusError`.
* enquire_link both ways: we answer the peer's, and send ours after `enquire_link`
  seconds without traffic; no answer within the response timeout closes the link.
* unbind from the peer is answered and closes; `unbind()` does it from our side.
Incoming requests other than enquire_link/unbind go to `handler(session, pdu)` (those it
`serves`; ESME_RINVCMDID for the others), each in its own task (so a slow answer does not
block the window), which returns the response PDU (or raw bytes) to send, or None.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from chappe.smpp import pdu as P

log = logging.getLogger("chappe.smpp")
GENERIC_NACK = 0x80000000
ENQUIRE_LINK = 0x00000015
UNBIND = 0x00000006


class SmppError(Exception):
    pass


class ConnectionLost(SmppError):
    pass


class ResponseTimeout(SmppError):
    pass


class CommandStatusError(SmppError):
    def __init__(self, status: int, *, nack: bool = False) -> None:
        self.status = status
        self.nack = nack
        super().__init__(f"{'generic_nack ' if nack else ''}{P.status_name(status)}")


Handler = Callable[["Session", Any], Awaitable[Any]]


class Session:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 handler: Handler | None = None, window: int = 10,
                 response_timeout: float = 10.0, enquire_link: float = 30.0,
                 name: str = "smpp", serves: frozenset[int] | None = None) -> None:
        self.reader, self.writer = reader, writer
        self.handler = handler
        # The request command ids the handler serves (None: any); others are answered
        # ESME_RINVCMDID without being decoded, whatever their body.
        self.serves = serves
        self.window = window
        self.response_timeout = response_timeout
        self.enquire_link_interval = enquire_link
        self.name = name
        self.peer = writer.get_extra_info("peername")
        # Set by whoever binds: "tx", "rx", "trx" (None while open but unbound).
        self.mode: str | None = None
        self.system_id = ""
        self.context: dict[str, Any] = {}
        self.closed = False
        self._seq = 0
        self._pending: dict[int, asyncio.Future] = {}
        self._slots = asyncio.Semaphore(window)
        self._tasks: set[asyncio.Task] = set()
        self._done = asyncio.Event()
        self.last_rx = self.last_tx = time.monotonic()

    # -- state ----------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        return len(self._pending)

    @property
    def can_transmit(self) -> bool:
        return not self.closed and self.mode in ("tx", "trx")

    @property
    def can_receive(self) -> bool:
        return not self.closed and self.mode in ("rx", "trx")

    def _next_seq(self) -> int:
        self._seq = self._seq + 1 if self._seq < 0x7FFFFFFF else 1
        return self._seq

    # -- sending --------------------------------------------------------------------
    def send(self, data: Any) -> None:
        """Write a response (PDU or raw bytes) now."""
        if self.closed:
            return
        self.writer.write(data if isinstance(data, bytes | bytearray) else P.encode(data))
        self.last_tx = time.monotonic()

    async def request(self, pdu: Any, *, timeout: float | None = None,
                      windowed: bool = True) -> Any:
        """Send a request and wait for its response (raises on error status)."""
        if windowed:
            await self._slots.acquire()
        try:
            if self.closed:
                raise ConnectionLost(f"{self.name}: connection closed")
            loop = asyncio.get_running_loop()
            seq = self._next_seq()
            pdu.seqNum = seq
            future = loop.create_future()
            self._pending[seq] = future
            timer = loop.call_later(timeout or self.response_timeout, self._expire, seq)
            try:
                self.send(P.encode(pdu))
                transport = self.writer.transport
                if transport is not None and transport.get_write_buffer_size() > 256_000:
                    await self.writer.drain()
                response = await future
            finally:
                timer.cancel()
                self._pending.pop(seq, None)
            status = P.status_of(response)
            if status != P.ROK:
                raise CommandStatusError(status)
            return response
        finally:
            if windowed:
                self._slots.release()

    def _expire(self, seq: int) -> None:
        future = self._pending.pop(seq, None)
        if future is not None and not future.done():
            future.set_exception(ResponseTimeout(f"{self.name}: no response to #{seq}"))

    async def unbind(self, timeout: float = 5.0) -> None:
        try:
            await self.request(P.op.Unbind(), timeout=timeout, windowed=False)
        except SmppError:
            pass
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.mode = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLost(f"{self.name}: connection lost"))
        self._pending.clear()
        with contextlib.suppress(Exception):  # already broken
            self.writer.close()
        self._done.set()

    async def wait_closed(self) -> None:
        await self._done.wait()

    # -- receiving ------------------------------------------------------------------
    async def run(self) -> None:
        """Serve the connection until it closes."""
        keepalive = asyncio.create_task(self._keepalive())
        try:
            await self._read_loop()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            keepalive.cancel()
            self.close()
            for task in list(self._tasks):
                task.cancel()

    async def _read_loop(self) -> None:
        reader = self.reader
        while not self.closed:
            header = await reader.readexactly(P.HEADER_LEN)
            length, command, status, seq = P.HEADER.unpack(header)
            if length < P.HEADER_LEN or length > P.MAX_PDU:
                log.warning("%s: bad command_length %d from %s; closing", self.name, length,
                            self.peer)
                self.send(P.nack(seq, P.RINVCMDLEN))
                return
            body = await reader.readexactly(length - P.HEADER_LEN) if length > 16 else b""
            self.last_rx = time.monotonic()
            if command & 0x80000000:
                self._on_response(command, status, seq, header + body)
                continue
            if self.serves is not None and command not in self.serves and command not in (
                    ENQUIRE_LINK, UNBIND):
                self.send(P.error_response(command, seq, P.RINVCMDID))
                continue
            try:
                pdu = P.decode(header + body)
            except Exception as exc:
                log.info("%s: undecodable PDU 0x%08x from %s: %r", self.name, command,
                         self.peer, exc)
                self.send(P.error_response(command, seq, P.decode_error_status(exc)))
                continue
            if command == ENQUIRE_LINK:
                self.send(P.op.EnquireLinkResp(seqNum=seq))
            elif command == UNBIND:
                self.send(P.op.UnbindResp(seqNum=seq))
                await self._flush()
                return
            elif self.handler is None:
                self.send(P.error_response(command, seq, P.RINVCMDID))
            else:
                task = asyncio.create_task(self._dispatch(pdu, command, seq))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            await asyncio.wait_for(self.writer.drain(), 2)

    def _on_response(self, command: int, status: int, seq: int, data: bytes) -> None:
        future = self._pending.pop(seq, None)
        if future is None or future.done():
            return  # late (timed out) or unsolicited: nothing waits for it
        if command == GENERIC_NACK:
            future.set_exception(CommandStatusError(status, nack=True))
            return
        try:
            future.set_result(P.decode(data))
        except Exception as exc:
            if status != P.ROK:
                future.set_exception(CommandStatusError(status))
            else:
                future.set_exception(SmppError(f"undecodable response: {exc}"))

    async def _dispatch(self, pdu: Any, command: int, seq: int) -> None:
        try:
            response = await self.handler(self, pdu)  # type: ignore[misc]
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s: handler failed on 0x%08x", self.name, command)
            response = P.error_response(command, seq, P.RSYSERR)
        if response is not None:
            self.send(response)

    async def _keepalive(self) -> None:
        interval = self.enquire_link_interval
        while not self.closed:
            await asyncio.sleep(min(interval, 1.0) if interval < 5 else interval / 5)
            if time.monotonic() - max(self.last_rx, self.last_tx) < interval:
                continue
            try:
                await self.request(P.op.EnquireLink(), windowed=False)
            except SmppError:
                if not self.closed:
                    log.warning("%s: enquire_link unanswered by %s; closing", self.name,
                                self.peer)
                    self.close()
                return
