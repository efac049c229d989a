"""Calls placed by the API for an agent (click-to-call for CRMs, C-11; issue 16).

The agent's phones ring first — SIP phones and browser together (`outbound.ring_all`
through the engine's phone originator) — showing the customer's number; once the agent
answers, the customer is dialled through the account's outbound routes (the trunks)
presenting one of the account's numbers (the web role checked it), and the two are
bridged until either hangs up or a command cuts the call. While it is bridged the call
is a `LiveCall` (hold, hang-up, supervision). The events say how it goes:
`call.ringing` when the customer's number is dialled, `call.answered` when they answer;
`call.ended` comes with the call record (the directory's `finish`)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from chappe.voice.bridge import Bridge
from chappe.voice.callstate import CallLog, CallState
from chappe.voice.control import CommandRefused, Handler, LiveCall, LiveCalls
from chappe.voice.directory import CallOutcome, CallTarget, LegOutcome
from chappe.voice.flows import FlowState
from chappe.voice.outbound import dial, ring_all, status_for
from chappe.voice.registrations import Registrations
from chappe.voice.sip.base import Originator, OutboundFailed
from chappe.voice.trunking import TrunkGate, TrunkRoute

logger = logging.getLogger("chappe.voice.originate")

# How long the agent's phones ring, then the customer's.
AGENT_RING_SECONDS = 30
CUSTOMER_RING_SECONDS = 60

Events = Callable[[str, str, dict[str, Any]], Awaitable[None]]  # account, type, payload


@dataclass(frozen=True)
class Origination:
    """What the web role asked: `call_id` is the id it was answered with."""

    call_id: str
    account_id: str
    agent_id: str
    number: str     # the customer (E.164)
    caller_id: str  # one of the account's numbers (E.164)


@dataclass
class CallPlacing:
    """What placing such a call needs from the engine."""

    phones: Originator        # agents' phones (SIP and browsers)
    trunks: Originator        # the SIP endpoint, towards the carriers
    registrations: Registrations
    gate: TrunkGate
    routes: Callable[[str], Awaitable[list[TrunkRoute]]]
    finish: Callable[[CallOutcome], Awaitable[None]]
    events: Events
    calls: LiveCalls
    hold_music: bytes = b""
    # Marks the agent on a call (True) or free again (the desk's `own_call`): no queue
    # call is offered to them meanwhile. None: not marked.
    busy: Callable[[str, bool], Awaitable[bool]] | None = None


async def originate(order: Origination, parts: CallPlacing) -> None:
    """Place the call of `order` (module doc) and store its record."""
    base = {"call_id": order.call_id, "direction": "outbound", "from": order.caller_id,
            "to": order.number, "agent_id": order.agent_id}
    agent_log = CallLog(f"agent:{order.agent_id}:{order.call_id}",
                        account_id=order.account_id)
    log = CallLog(order.call_id, account_id=order.account_id)
    bindings = parts.registrations.contacts_of_agent(order.agent_id)
    try:
        agent_call = await ring_all(parts.phones, bindings, caller=order.number.lstrip("+"),
                                    timeout=AGENT_RING_SECONDS)
    except OutboundFailed as exc:
        agent_log.move(CallState.ENDED, f"{exc.status} {exc.reason}")
        log.move(CallState.ENDED, "the agent did not answer")
        parts.calls.ended(order.call_id, order.account_id)
        await parts.finish(_outcome(order, log, "no_answer", "agent_no_answer",
                                    [_agent_leg(order, agent_log, status_for(exc.status))]))
        return
    agent_log.call_id = agent_call.call_id
    agent_log.move(CallState.ANSWERED, "the agent answered")
    await _tell(parts, order, "call.ringing", base)
    placing = asyncio.ensure_future(dial(
        parts.trunks, parts.gate, await parts.routes(order.number), log=log,
        caller=order.caller_id.lstrip("+"), callee=order.number.lstrip("+"),
        timeout=CUSTOMER_RING_SECONDS))
    agent_gone = asyncio.ensure_future(agent_call.ended.wait())
    try:
        await asyncio.wait({placing, agent_gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        agent_gone.cancel()
        if not placing.done():
            placing.cancel()
        await asyncio.gather(placing, agent_gone, return_exceptions=True)
    dialed = None if placing.cancelled() or placing.exception() else placing.result()
    if dialed is None or dialed.call is None:
        if placing.done() and not placing.cancelled() and placing.exception():
            logger.error("call %s: dialling %s failed", order.call_id, order.number,
                         exc_info=placing.exception())
        if not log.is_over:
            log.move(CallState.ENDED, "the agent hung up while it rang")
        await agent_call.hangup()
        agent_log.move(CallState.ENDED, "the customer was not reached")
        parts.calls.ended(order.call_id, order.account_id)
        disposition = (status_for(dialed.status) if dialed is not None and dialed.invited
                       else "failed" if dialed is not None else "canceled")
        await parts.finish(_outcome(order, log, disposition,
                                    dialed.cause if dialed is not None else "agent_cancel",
                                    [_agent_leg(order, agent_log, "answered")]))
        return
    log.call_id = order.call_id  # the call's id is the one the API answered with
    await _tell(parts, order, "call.answered", base)
    bridge = Bridge(dialed.call.leg, agent_call.leg)
    live = LiveCall(order.call_id, order.account_id, order.agent_id, dialed.call.leg,
                    agent_call, bridge, hold_music=parts.hold_music, transferable=False,
                    origin="api")
    parts.calls.add(live)
    waits = [asyncio.ensure_future(e.wait())
             for e in (dialed.call.ended, agent_call.ended, live.cut)]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        parts.calls.remove(live)
        bridge.stop()
        media = {**agent_call.leg.stats(), **bridge.stats()}
        by_agent = agent_call.ended.is_set()
        await dialed.end(parts.gate, "a call-control command" if live.cut.is_set()
                         else "the agent hung up")
        await agent_call.hangup()
        agent_log.move(CallState.ENDED, "peer bye" if by_agent else "we hung up")
    outcome = _outcome(order, dialed.log, "answered",
                       "api_hangup" if live.cut.is_set() else dialed.cause,
                       [_agent_leg(order, agent_log, "answered")])
    outcome.media = media
    await parts.finish(outcome)


async def _tell(parts: CallPlacing, order: Origination, kind: str,
                payload: dict[str, Any]) -> None:
    try:
        await parts.events(order.account_id, kind, payload)
    except Exception:  # an event lost must not cut the call
        logger.exception("call %s: the %s event was not written", order.call_id, kind)


def _agent_leg(order: Origination, log: CallLog, disposition: str) -> LegOutcome:
    return LegOutcome(log, caller=order.caller_id, callee=f"agent:{order.agent_id}",
                      disposition=disposition, hangup_cause="", direction="internal")


def _outcome(order: Origination, log: CallLog, disposition: str, cause: str,
             legs: list[LegOutcome]) -> CallOutcome:
    return CallOutcome(target=CallTarget(account_id=order.account_id, e164=order.number,
                                         definition=None),
                       caller=order.caller_id, log=log,
                       state=FlowState(path=("api_originate",)), disposition=disposition,
                       hangup_cause=cause, direction="outbound", agent_id=order.agent_id,
                       legs=legs)


async def _marked(order: Origination, parts: CallPlacing) -> None:
    """`originate`, the agent on a call from its first ring to its end."""
    busy = False
    if parts.busy is not None:
        try:
            busy = await parts.busy(order.agent_id, True)
        except Exception:
            logger.exception("call %s: marking agent %s busy failed", order.call_id,
                             order.agent_id)
    try:
        await originate(order, parts)
    finally:
        if busy and parts.busy is not None:
            await asyncio.shield(parts.busy(order.agent_id, False))


def _e164(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.startswith("+") \
            or not value[1:].isdigit() or not 6 <= len(value) <= 16:
        raise CommandRefused("bad_request", f"{key} must be an E.164 number")
    return value


def originate_handler(parts: CallPlacing) -> Handler:
    """The control port's `originate` (chappe.voice.control): checks what the engine
    alone knows (the agent has a phone connected here), answers the call's id at once
    and places the call in the background."""
    placing: set[asyncio.Task] = set()

    async def handle(body: dict[str, Any]) -> dict[str, Any]:
        agent_id = body.get("agent_id")
        if not isinstance(agent_id, str) or not agent_id:
            raise CommandRefused("bad_request", "agent_id is required")
        order = Origination(call_id=f"api-{uuid.uuid4().hex}", account_id=body["account_id"],
                            agent_id=agent_id, number=_e164(body, "number"),
                            caller_id=_e164(body, "caller_id"))
        if not parts.registrations.contacts_of_agent(agent_id):
            raise CommandRefused("conflict", "the agent has no phone connected")
        task = asyncio.get_running_loop().create_task(_marked(order, parts))
        placing.add(task)
        task.add_done_callback(placing.discard)
        return {"call_id": order.call_id}

    return handle
