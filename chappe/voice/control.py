"""Commands from the web role to the engine: the call-control API and supervision (issue
16, docs/decisions/0047-call-control-commands.md).

The web role reaches the engine on its **control port** (the loopback port the browsers'
softphones are relayed to, chappe.voice.browser): one TCP connection per command, one
JSON line each way. The line is signed with the secret both roles share, like a
browser's hello:

    {"type": "command", "issued": <unix s>, "nonce": "<hex>", "body": "<JSON text>",
     "sig": HMAC-SHA256(secret, "<issued>|<nonce>|<body>")}

A command older than `COMMAND_TTL` seconds, or a nonce seen before, is refused. The
answer is `{"ok": true, ...}` or `{"ok": false, "error": <code>, "message": ...}` with
a code of `ERRORS` (the web role maps it to the API's one error shape).

The engine answers for the calls **it holds**: the registry (`LiveCalls`) has each call
a command may act on — a queue's caller talking to an agent, a call placed by the API —
with its account. Another account's call is unknown (`not_found`), a call that ended a
short while ago is `ended` (the API's 409). Nothing here is durable: a call does not
survive its engine, and neither does a command about it (decision 0047).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from chappe.voice.bridge import Bridge
from chappe.voice.sip.base import FRAME_BYTES, MediaLeg, OutboundCall, Referral

logger = logging.getLogger("chappe.voice.control")

# A command signed longer ago than this is refused (clocks of one host: seconds apart).
COMMAND_TTL = 30
# How many ended calls are remembered (to answer `ended` rather than `not_found`).
ENDED_MEMORY = 10_000
# How long the engine waits for a transfer's target to be read before answering.
TRANSFER_ANSWER_SECONDS = 10.0
ERRORS = ("bad_request", "forbidden", "not_found", "ended", "conflict", "unavailable")


class CommandRefused(Exception):
    """A command that cannot be carried out: `code` is one of ERRORS."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def command_sign(secret: bytes, *, issued: int, nonce: str, body: str) -> str:
    return hmac.new(secret, f"{issued}|{nonce}|{body}".encode(), hashlib.sha256).hexdigest()


def command_line(secret: bytes, body: dict[str, Any], *, issued: int, nonce: str) -> bytes:
    """The line the web role sends for `body` (a dict with an `op`)."""
    text = json.dumps(body, separators=(",", ":"))
    return json.dumps({"type": "command", "issued": issued, "nonce": nonce, "body": text,
                       "sig": command_sign(secret, issued=issued, nonce=nonce, body=text)}
                      ).encode() + b"\n"


@dataclass(eq=False)
class LiveCall:
    """A call a command may act on: the customer's leg (side 0 of its bridge) talking to
    the agent's phone (side 1). `cut` is set when a command hangs it up: whoever runs
    the call (the queue room, an originated call) ends it then."""

    call_id: str
    account_id: str
    agent_id: str
    customer: MediaLeg
    agent_call: OutboundCall
    bridge: Bridge
    hold_music: bytes = b""
    cut: asyncio.Event = field(default_factory=asyncio.Event)
    over: asyncio.Event = field(default_factory=asyncio.Event)  # no longer bridged
    transferable: bool = True
    # "queue" (a queue's caller bridged to an agent) or "api" (a call the API placed).
    origin: str = "queue"
    since: float = field(default_factory=time.time)  # bridged at (Unix seconds)
    held: bool = False
    # The supervisor's conference while one listens, whispers or barges
    # (chappe.voice.supervision); the bridge is paused meanwhile.
    conference: Any = None
    _music: asyncio.Task | None = None

    def hang_up(self) -> None:
        self.cut.set()

    def hold(self, on: bool) -> None:
        """On hold: the customer hears music, the agent nothing; off: the bridge again."""
        if on == self.held:
            return
        self.held = on
        if on:
            if self.conference is not None:
                self.conference.stop()
            self.bridge.stop()
            self._music = asyncio.get_running_loop().create_task(
                _loop(self.customer, self.hold_music))
        else:
            if self._music is not None:
                self._music.cancel()
                self._music = None
            if self.conference is not None:
                self.conference.start()
            else:
                self.bridge.resume()

    async def transfer(self, target: str) -> int:
        """A blind transfer as the agent's phone would ask it (a REFER to `target`: an
        extension, a queue's name or a number): the status the queue room answers."""
        if not self.transferable:
            raise CommandRefused("conflict", "this call cannot be transferred")
        answered: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def answer(status: int, _reason: str) -> None:
            if not answered.done():
                answered.set_result(status)

        self.hold(False)
        await self.agent_call.referrals.put(Referral(target=target, answer=answer))
        try:
            return await asyncio.wait_for(answered, TRANSFER_ANSWER_SECONDS)
        except TimeoutError:
            raise CommandRefused("unavailable", "the transfer got no answer") from None

    def finish(self) -> None:
        """The call is over: music and supervision stop."""
        self.over.set()
        if self._music is not None:
            self._music.cancel()
        if self.conference is not None:
            self.conference.close()


async def _loop(leg: MediaLeg, pcm: bytes) -> None:
    pcm = pcm or bytes(FRAME_BYTES)
    while True:
        await leg.play(pcm)


class LiveCalls:
    """The calls of this engine commands may act on, and the ones that ended lately."""

    def __init__(self, memory: int = ENDED_MEMORY) -> None:
        self.calls: dict[str, LiveCall] = {}
        self._ended: OrderedDict[str, str] = OrderedDict()  # call id → account id
        self._memory = memory

    def add(self, call: LiveCall) -> None:
        self.calls[call.call_id] = call
        self._ended.pop(call.call_id, None)

    def remove(self, call: LiveCall) -> None:
        if self.calls.get(call.call_id) is call:
            del self.calls[call.call_id]
        call.finish()
        self._remember(call.call_id, call.account_id)

    def ended(self, call_id: str, account_id: str) -> None:
        """A call that never was live here (it failed before it connected) is over."""
        if call_id not in self.calls:
            self._remember(call_id, account_id)

    def _remember(self, call_id: str, account_id: str) -> None:
        self._ended[call_id] = account_id
        while len(self._ended) > self._memory:
            self._ended.popitem(last=False)

    def get(self, *, account_id: str, call_id: str) -> LiveCall:
        call = self.calls.get(call_id)
        if call is not None and call.account_id == account_id:
            return call
        if self._ended.get(call_id) == account_id:
            raise CommandRefused("ended", "the call has ended")
        raise CommandRefused("not_found", "no such call")


Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class CallControl:
    """Reads a command line, checks it, runs its operation (`handlers`: op → handler),
    answers one line. The call operations on `calls` are built in; the engine adds
    `originate` and `supervise`."""

    def __init__(self, calls: LiveCalls, *, secret: bytes,
                 wall: Callable[[], float] = time.time) -> None:
        self.calls, self.secret, self.wall = calls, secret, wall
        self._seen: dict[str, float] = {}
        self.handlers: dict[str, Handler] = {
            "hangup": self._hangup, "hold": self._hold, "resume": self._resume,
            "transfer": self._transfer, "list": self._list}

    async def serve(self, line: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        """Answer the command `line` (the first line of a control connection)."""
        try:
            reply = {"ok": True, **await self.run(self.verify(line))}
        except CommandRefused as exc:
            reply = {"ok": False, "error": exc.code, "message": exc.message}
        except Exception:
            logger.exception("a control command failed")
            reply = {"ok": False, "error": "unavailable", "message": "the command failed"}
        writer.write(json.dumps(reply).encode() + b"\n")
        await writer.drain()

    def verify(self, line: dict[str, Any]) -> dict[str, Any]:
        """The command's body, once its signature, age and nonce are right."""
        try:
            issued, nonce = int(line["issued"]), str(line["nonce"])
            text, sig = str(line["body"]), str(line["sig"])
        except (KeyError, TypeError, ValueError):
            raise CommandRefused("forbidden", "malformed command") from None
        now = self.wall()
        expected = command_sign(self.secret, issued=issued, nonce=nonce, body=text)
        if not hmac.compare_digest(expected, sig) or abs(now - issued) > COMMAND_TTL:
            logger.warning("control command refused: bad signature or too old")
            raise CommandRefused("forbidden", "bad signature")
        self._seen = {n: at for n, at in self._seen.items() if now - at <= 2 * COMMAND_TTL}
        if nonce in self._seen:
            raise CommandRefused("forbidden", "command replayed")
        self._seen[nonce] = now
        try:
            body = json.loads(text)
        except ValueError:
            raise CommandRefused("bad_request", "the body is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("op"), str) \
                or not isinstance(body.get("account_id"), str):
            raise CommandRefused("bad_request", "op and account_id are required")
        return body

    async def run(self, body: dict[str, Any]) -> dict[str, Any]:
        handler = self.handlers.get(body["op"])
        if handler is None:
            raise CommandRefused("bad_request", f"unknown operation {body['op']!r}")
        return await handler(body)

    def call_of(self, body: dict[str, Any]) -> LiveCall:
        return self.calls.get(account_id=body["account_id"], call_id=str(body.get("call_id")))

    async def _list(self, body: dict[str, Any]) -> dict[str, Any]:
        """The account's calls live here (the web role lists the ones the queue log does
        not know: calls the API placed)."""
        return {"calls": [{"call_id": c.call_id, "agent_id": c.agent_id, "origin": c.origin,
                           "since": c.since, "held": c.held}
                          for c in list(self.calls.calls.values())
                          if c.account_id == body["account_id"]]}

    async def _hangup(self, body: dict[str, Any]) -> dict[str, Any]:
        call = self.call_of(body)
        call.hang_up()
        return {"call_id": call.call_id}

    async def _hold(self, body: dict[str, Any]) -> dict[str, Any]:
        call = self.call_of(body)
        call.hold(True)
        return {"call_id": call.call_id, "held": True}

    async def _resume(self, body: dict[str, Any]) -> dict[str, Any]:
        call = self.call_of(body)
        call.hold(False)
        return {"call_id": call.call_id, "held": False}

    async def _transfer(self, body: dict[str, Any]) -> dict[str, Any]:
        call = self.call_of(body)
        target = body.get("target")
        if not isinstance(target, str) or not target:
            raise CommandRefused("bad_request", "a transfer needs a target")
        status = await call.transfer(target)
        if status >= 300:
            raise CommandRefused("not_found", "the transfer's target names nothing")
        return {"call_id": call.call_id, "transferred": True}
