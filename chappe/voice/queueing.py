"""Callers waiting in queues and the agents rung for them, in the engine (C-4).

Which agent rings for which caller is decided on the data side — the directory's queue
desk (the agents app: the pure `acd.choose` over the members' states in the database, so
engines sharing the agents never offer one agent two calls: the move to `ringing` takes
the agent's row lock). This module does what only the engine can: keep each waiting
caller on hold (music, and their position announced every so often), ring the chosen
agents' registered phones together (`outbound.ring_all`), bridge the first phone to
answer to the caller (`bridge.Bridge`), and tell the desk what happened: rang out,
connected, completed, abandoned.

Each queue with callers waiting has a turn loop: a turn asks the desk (`tick`) and applies
what it says. A turn runs when a caller enters, an offer ends or a call ends, and every
`TURN_EVERY` seconds otherwise: an agent made available by the web app or by another
engine is seen then, as are wrap-ups ending and maximum waits reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from chappe.voice.bridge import Bridge
from chappe.voice.callstate import CallLog, CallState, seconds_between
from chappe.voice.control import LiveCall, LiveCalls
from chappe.voice.directory import (
    AsyncQueueDesk,
    LegOutcome,
    QueueCall,
    QueueEntry,
    QueueLeaving,
    QueueOffer,
    QueueVisit,
    TransferTarget,
)
from chappe.voice.flows import FlowDefinition, Prompt
from chappe.voice.media.prompts import tone
from chappe.voice.outbound import dial, ring_all, status_for
from chappe.voice.recording import CallRecorder
from chappe.voice.registrations import Registrations
from chappe.voice.sip.base import MediaLeg, Originator, OutboundCall, OutboundFailed
from chappe.voice.trunking import TrunkGate, TrunkRoute

logger = logging.getLogger("chappe.voice.queues")

# Seconds between two turns of a queue when nothing happens in it.
TURN_EVERY = 1.0
# How long an outside number an agent transferred a caller to may ring.
TRANSFER_RING_SECONDS = 30
# The built-in music on hold: a soft arpeggio, then a rest, looped.
HOLD_MUSIC = b"".join([*(tone(f, 350, amplitude=2500) for f in (262, 330, 392, 523, 392, 330)),
                       tone(0, 900, amplitude=0)])


@dataclass
class QueueResult:
    """How a caller's stay in a queue ended."""

    served: bool  # an agent answered; the call is over on the agent's side or the caller's
    # The stays, in order (one, or more when an agent transferred the caller).
    visits: list[QueueVisit]
    # Left unserved: the flow the call goes on in (None: the queue step's `next`).
    overflow: FlowDefinition | None = None
    # The agents' legs, for call records of their own.
    legs: list[LegOutcome] = field(default_factory=list)
    # The conversation's recording (a stereo WAV file), when the queue records.
    recording: Path | None = None
    # The caller asked to be called back: the call is over for the queue.
    callback: bool = False

    def after(self, earlier: QueueResult) -> QueueResult:
        """This result, following `earlier` (a transfer): their stays and legs joined."""
        return replace(self, visits=[*earlier.visits, *self.visits],
                       legs=[*earlier.legs, *self.legs],
                       recording=earlier.recording or self.recording)


@dataclass(eq=False)
class _Waiter:
    call: QueueCall
    answered: asyncio.Future[tuple[QueueOffer, OutboundCall, CallLog]]
    leaving: asyncio.Future[QueueLeaving]
    callback: asyncio.Event = field(default_factory=asyncio.Event)
    rings: dict[str, asyncio.Task] = field(default_factory=dict)
    announcement: Prompt | None = None
    gone: bool = False  # the caller hung up, or the stay ended otherwise


Prompts = Callable[[str, Prompt], Awaitable[bytes]]
Routes = Callable[[str], Awaitable[list[TrunkRoute]]]


class QueueRoom:
    """The engine's waiting callers, queue by queue (module doc). `prompts` renders a
    prompt of an account (hold music uploaded, position announcements)."""

    def __init__(self, desk: AsyncQueueDesk, originator: Originator,
                 registrations: Registrations, *, prompts: Prompts,
                 routes: Routes | None = None, gate: TrunkGate | None = None,
                 turn_every: float = TURN_EVERY) -> None:
        self.desk = desk
        self.originator = originator
        # The trunks an agent's transfer to an outside number goes through (none: such a
        # transfer is refused), and the engine's caps on them.
        self.routes = routes
        self.gate = gate if gate is not None else TrunkGate()
        self.registrations = registrations
        self.prompts = prompts
        self.turn_every = turn_every
        self._waiting: dict[str, dict[str, _Waiter]] = {}
        self._wakes: dict[str, asyncio.Event] = {}
        self._turns: dict[str, asyncio.Task] = {}
        # The calls bridged here, for commands (the engine shares its registry).
        self.live = LiveCalls()

    async def serve(self, call: QueueCall, leg: MediaLeg, ended: asyncio.Event) -> QueueResult:
        """Keep the caller in the queue until an agent answers (then bridge them until
        either hangs up), the queue lets them go, or they hang up."""
        entry = await self.desk.enter(call)
        if not entry.admitted:
            return QueueResult(False, [QueueVisit(call.queue_id,
                                                  outcome=f"refused:{entry.reason}")],
                               overflow=entry.overflow)
        if entry.notice is not None:  # "this call may be recorded", before anything else
            await leg.play(await self.prompts(call.account_id, entry.notice))
        loop = asyncio.get_running_loop()
        waiter = _Waiter(call, loop.create_future(), loop.create_future())
        self._waiting.setdefault(call.queue_id, {})[call.call_id] = waiter
        self._turn_start(call.queue_id)
        if entry.callback_key:
            leg.set_dtmf_handler(lambda digit, _ms: waiter.callback.set()
                                 if digit == entry.callback_key else None)
        hold = asyncio.create_task(self._hold(waiter, leg, entry))
        hung_up = asyncio.create_task(ended.wait())
        asked = asyncio.create_task(waiter.callback.wait())
        entered = time.monotonic()
        try:
            await asyncio.wait({waiter.answered, waiter.leaving, hung_up, asked},
                               return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            await self._forget(waiter, hold, hung_up, asked)
            await asyncio.shield(self.desk.leave(call))
            raise
        await self._forget(waiter, hold, hung_up, asked)
        if waiter.answered.done():
            offer, agent_call, log = waiter.answered.result()
            return await self._talk(call, leg, ended, offer, agent_call, log,
                                    record=entry.record)
        if waiter.callback.is_set() and not ended.is_set():
            visit = await self.desk.callback(call)
            if entry.callback_goodbye is not None:
                await leg.play(await self.prompts(call.account_id, entry.callback_goodbye))
            return QueueResult(True, [visit], callback=True)
        if waiter.leaving.done():
            leaving = waiter.leaving.result()
            return QueueResult(False, [QueueVisit(
                call.queue_id, wait_seconds=round(time.monotonic() - entered),
                outcome=f"overflowed:{leaving.reason}")], overflow=leaving.overflow)
        return QueueResult(False, [await self.desk.abandoned(call)])

    async def _forget(self, waiter: _Waiter, *tasks: asyncio.Task) -> None:
        """The caller waits no more: their hold stops, the phones still ringing for them
        stop (each ring reports its offer withdrawn)."""
        waiter.gone = True
        self._waiting.get(waiter.call.queue_id, {}).pop(waiter.call.call_id, None)
        rings = list(waiter.rings.values())
        for task in [*tasks, *rings]:
            task.cancel()
        await asyncio.gather(*tasks, *rings, return_exceptions=True)
        self._wake(waiter.call.queue_id)

    async def _talk(self, call: QueueCall, leg: MediaLeg, ended: asyncio.Event,
                    offer: QueueOffer, agent_call: OutboundCall, log: CallLog, *,
                    record: bool) -> QueueResult:
        """Bridge the caller and the agent who answered until either hangs up (recording
        the conversation when the queue records) or the agent's phone transfers the
        caller (REFER): to another agent or a queue of the account, answered 200 by
        NOTIFY and the agent's leg hung up; a target that names nothing gets 404 and the
        conversation goes on."""
        visit = await self.desk.connected(offer)
        recorder = CallRecorder() if record else None
        bridge = Bridge(leg, agent_call.leg, tap=recorder.frame if recorder else None)
        recording, target, consulted = None, None, None
        # Commands may act on the call while it is bridged (chappe.voice.control).
        live = LiveCall(call.call_id, call.account_id, offer.agent_id, leg, agent_call,
                        bridge, hold_music=HOLD_MUSIC)
        self.live.add(live)
        agent_gone = asyncio.create_task(agent_call.ended.wait())
        caller_gone = asyncio.create_task(ended.wait())
        cut = asyncio.create_task(live.cut.wait())
        referred = asyncio.create_task(agent_call.referrals.get())
        try:
            while True:
                await asyncio.wait({agent_gone, caller_gone, referred, cut},
                                   return_when=asyncio.FIRST_COMPLETED)
                if not referred.done() or agent_gone.done() or caller_gone.done():
                    break
                referral = referred.result()
                target = await self.desk.transfer_target(call.account_id, referral.target)
                if target is not None:
                    referral.answer(200, "OK")
                    consulted = referral.call
                    break
                referral.answer(404, "Not Found")
                referred = asyncio.create_task(agent_call.referrals.get())
        finally:
            for task in (agent_gone, caller_gone, referred, cut):
                task.cancel()
            self.live.remove(live)
            bridge.stop()
            if recorder is not None:
                recording = recorder.finish()
            by_agent = agent_call.ended.is_set()
            media = {**agent_call.leg.stats(), **bridge.stats()}
            await agent_call.hangup()
            log.move(CallState.ENDED, f"peer {agent_call.end_reason or 'bye'}" if by_agent
                     else f"we hung up: transferred to {target.label}" if target
                     else "we hung up: by a call-control command" if live.cut.is_set()
                     else "we hung up: the caller hung up")
            talk = seconds_between(log.answered_at, log.ended_at)
            if target is not None:
                await asyncio.shield(self.desk.transferred(offer, target=target,
                                                           talk_seconds=talk))
            else:
                await asyncio.shield(self.desk.completed(offer, talk_seconds=talk))
            self._wake(call.queue_id)
        leg_outcome = LegOutcome(log, caller=call.caller, callee=f"agent:{offer.agent_id}",
                                 disposition="answered",
                                 hangup_cause="agent_hangup" if by_agent else
                                 "transferred" if target else
                                 "api_hangup" if live.cut.is_set() else "caller_hangup",
                                 media=media,
                                 direction="internal")
        visit.outcome = f"transferred:{target.kind}" if target else "served"
        result = QueueResult(True, [visit], legs=[leg_outcome], recording=recording)
        if consulted is not None and (target is None or target.kind != "agent"
                                      or ended.is_set()):
            await consulted.hangup()  # attended transfers go to an agent only
            consulted = None
        if target is None or ended.is_set():
            return result
        return (await self._transfer(call, leg, ended, target, record=record,
                                     consulted=consulted)).after(result)

    async def _transfer(self, call: QueueCall, leg: MediaLeg, ended: asyncio.Event,
                        target: TransferTarget, *, record: bool,
                        consulted: OutboundCall | None = None) -> QueueResult:
        """Hand the caller on: into another queue, or straight to one agent (their phones
        rung with the caller on hold; not free or not answering, the caller goes back
        into the queue they came from). `consulted`: the call the transferring agent
        placed to that agent and talked to first (an attended transfer), bridged to the
        caller at once."""
        if target.kind == "queue":
            return await self.serve(replace(call, queue_id=target.id, branch="transfer"),
                                    leg, ended)
        if target.kind == "number":
            return await self._transfer_out(call, leg, ended, target.id)
        offer = await self.desk.offer_direct(call, target.id)
        if offer is None:
            if consulted is not None:
                await consulted.hangup()
            return await self.serve(call, leg, ended)
        if consulted is not None:
            log = CallLog(f"agent:{offer.agent_id}:{call.call_id}", account_id=call.account_id)
            log.call_id = consulted.call_id
            log.move(CallState.ANSWERED, f"agent {offer.agent_id} took an attended transfer")
            return await self._talk(call, leg, ended, offer, consulted, log, record=record)
        result = await self._ring_direct(call, leg, ended, offer, record=record)
        if result is not None:
            return result
        if ended.is_set():
            return QueueResult(False, [QueueVisit(call.queue_id, outcome="abandoned")])
        return await self.serve(call, leg, ended)

    async def serve_agent(self, call: QueueCall, leg: MediaLeg, ended: asyncio.Event,
                          agent_id: str) -> QueueResult:
        """Ring one agent of the call's queue for the caller (a CRM's redirect to them,
        decision 0057) as a transfer to them would: on hold meanwhile, bridged when they
        answer. Not free, not answering: not served (the flow goes on), the caller never
        put in the queue's waiting line. Not recorded (no queue's notice was played)."""
        offer = await self.desk.offer_direct(call, agent_id)
        if offer is None:
            return QueueResult(False, [QueueVisit(call.queue_id,
                                                  outcome="refused:agent_unavailable")])
        result = await self._ring_direct(call, leg, ended, offer, record=False)
        if result is not None:
            return result
        return QueueResult(False, [QueueVisit(call.queue_id, agent_id=agent_id,
                                              outcome="abandoned" if ended.is_set()
                                              else "refused:agent_no_answer")])

    async def _ring_direct(self, call: QueueCall, leg: MediaLeg, ended: asyncio.Event,
                           offer: QueueOffer, *, record: bool) -> QueueResult | None:
        """Ring the agent `offer` names, the caller on hold: their conversation once they
        answer, None when they did not (or the caller hung up meanwhile)."""
        log = CallLog(f"agent:{offer.agent_id}:{call.call_id}", account_id=call.account_id)
        hold = asyncio.create_task(_loop(leg, HOLD_MUSIC))
        ring = asyncio.create_task(ring_all(
            self.originator, self.registrations.contacts_of_agent(offer.agent_id),
            caller=call.caller.lstrip("+"), timeout=offer.ring_timeout_seconds,
            caller_info=call.caller_info))
        hung_up = asyncio.create_task(ended.wait())
        try:
            await asyncio.wait({ring, hung_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hold.cancel()
            hung_up.cancel()
            if not ring.done():
                ring.cancel()
            await asyncio.gather(hold, hung_up, ring, return_exceptions=True)
        if ring.cancelled() or ring.exception() is not None:
            log.move(CallState.ENDED, "the agent rung directly did not answer")
            await self.desk.rang_out(offer, withdrawn=ring.cancelled())
            return None
        agent_call = ring.result()
        log.call_id = agent_call.call_id
        log.move(CallState.ANSWERED, f"agent {offer.agent_id} answered, rung directly")
        return await self._talk(call, leg, ended, offer, agent_call, log, record=record)

    async def _transfer_out(self, call: QueueCall, leg: MediaLeg, ended: asyncio.Event,
                            number: str) -> QueueResult:
        """The caller handed to an outside number through the trunks (on hold while it
        rings), bridged until either hangs up: an outbound leg, billed like a flow's
        transfer. No answer: back into the queue they came from."""
        log = CallLog(f"transfer:{number}", account_id=call.account_id)
        outcome = LegOutcome(log, caller=call.dialled, callee=number, disposition="failed",
                             hangup_cause="")
        hold = asyncio.create_task(_loop(leg, HOLD_MUSIC))
        placing = asyncio.create_task(dial(
            self.originator, self.gate, await self.routes(number) if self.routes else [],
            log=log, caller=call.dialled.lstrip("+"), callee=number.lstrip("+"),
            timeout=TRANSFER_RING_SECONDS))
        hung_up = asyncio.create_task(ended.wait())
        try:
            await asyncio.wait({placing, hung_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hold.cancel()
            hung_up.cancel()
            if not placing.done():
                placing.cancel()
            await asyncio.gather(hold, hung_up, placing, return_exceptions=True)
        dialed = None if placing.cancelled() or placing.exception() else placing.result()
        if dialed is None or dialed.call is None:
            if not log.is_over:
                log.move(CallState.ENDED, "the caller hung up while it rang")
            outcome.hangup_cause = dialed.cause if dialed is not None else "caller_cancel"
            if ended.is_set():
                return QueueResult(False, [QueueVisit(call.queue_id, outcome="abandoned")],
                                   legs=[outcome])
            return (await self.serve(call, leg, ended)).after(
                QueueResult(False, [], legs=[outcome]))
        bridge = Bridge(leg, dialed.call.leg)
        outcome.disposition = "answered"
        far_gone = asyncio.create_task(dialed.call.ended.wait())
        caller_gone = asyncio.create_task(ended.wait())
        try:
            await asyncio.wait({far_gone, caller_gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (far_gone, caller_gone):
                task.cancel()
            bridge.stop()
            outcome.media = {**dialed.call.leg.stats(), **bridge.stats()}
            await dialed.end(self.gate, "the caller hung up")
            outcome.hangup_cause = dialed.cause
        return QueueResult(True, [QueueVisit(call.queue_id, outcome="transferred:number")],
                           legs=[outcome])

    async def _hold(self, waiter: _Waiter, leg: MediaLeg, entry: QueueEntry) -> None:
        """Music on hold, the caller's position announced every `announce_seconds`."""
        music = HOLD_MUSIC
        if entry.hold is not None:
            music = await self.prompts(waiter.call.account_id, entry.hold) or HOLD_MUSIC
        announce_at = time.monotonic() + entry.announce_seconds
        while True:
            if entry.announce_seconds and time.monotonic() >= announce_at \
                    and waiter.announcement is not None:
                await leg.play(await self.prompts(waiter.call.account_id, waiter.announcement))
                announce_at = time.monotonic() + entry.announce_seconds
            await leg.play(music)

    # --- the turns -----------------------------------------------------------------------

    def _wake(self, queue_id: str) -> None:
        event = self._wakes.get(queue_id)
        if event is not None:
            event.set()

    def _turn_start(self, queue_id: str) -> None:
        if queue_id in self._turns:
            self._wake(queue_id)
            return
        self._wakes[queue_id] = asyncio.Event()
        task = asyncio.create_task(self._turn_loop(queue_id))
        self._turns[queue_id] = task

        def forget(done: asyncio.Task) -> None:  # a loop that failed or was cancelled
            if self._turns.get(queue_id) is done:
                del self._turns[queue_id]

        task.add_done_callback(forget)

    async def _turn_loop(self, queue_id: str) -> None:
        wake = self._wakes[queue_id]
        while self._waiting.get(queue_id):
            wake.clear()
            try:
                await self._turn(queue_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("queue %s: a turn failed", queue_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), self.turn_every)
        # Nobody waits: the loop is gone as of now (not when its task's callbacks run), so
        # a caller entering next starts a new one.
        self._wakes.pop(queue_id, None)
        self._waiting.pop(queue_id, None)
        self._turns.pop(queue_id, None)

    async def _turn(self, queue_id: str) -> None:
        tick = await self.desk.tick(queue_id)
        waiting = self._waiting.get(queue_id, {})
        for offer in tick.offers:
            waiter = waiting.get(offer.call_id)
            if waiter is None or waiter.gone:  # gone between the choice and now
                await self.desk.rang_out(offer, withdrawn=True)
                continue
            waiter.rings[offer.agent_id] = asyncio.create_task(self._ring(waiter, offer))
        for leaving in tick.leaving:
            waiter = waiting.get(leaving.call_id)
            if waiter is not None and not waiter.leaving.done() and not waiter.answered.done():
                waiter.leaving.set_result(leaving)
        for call_id, announcement in tick.announcements.items():
            if (waiter := waiting.get(call_id)) is not None:
                waiter.announcement = announcement

    async def _ring(self, waiter: _Waiter, offer: QueueOffer) -> None:
        """Ring the agent's phones for the caller: the first answer gets the caller
        (unless someone else did first, or the caller left: then it is hung up)."""
        call = waiter.call
        log = CallLog(f"agent:{offer.agent_id}:{call.call_id}", account_id=call.account_id)
        bindings = self.registrations.contacts_of_agent(offer.agent_id)
        try:
            agent_call = await ring_all(self.originator, bindings,
                                        caller=call.caller.lstrip("+"),
                                        timeout=offer.ring_timeout_seconds,
                                        caller_info=call.caller_info)
        except asyncio.CancelledError:
            log.move(CallState.ENDED, "canceled: the offer was withdrawn")
            await asyncio.shield(self.desk.rang_out(offer, withdrawn=True))
            raise
        except OutboundFailed as exc:
            log.move(CallState.ENDED, f"{exc.status} {exc.reason}")
            logger.info("call %s: agent %s did not answer (%s, %s)", call.call_id,
                        offer.agent_id, exc.status, status_for(exc.status))
            waiter.rings.pop(offer.agent_id, None)
            await self.desk.rang_out(offer, withdrawn=waiter.gone or waiter.answered.done())
            self._wake(call.queue_id)
            return
        if waiter.gone or waiter.answered.done() or waiter.leaving.done():
            await agent_call.hangup()
            await self.desk.rang_out(offer, withdrawn=True)
            return
        log.call_id = agent_call.call_id
        log.move(CallState.ANSWERED, f"agent {offer.agent_id} answered")
        waiter.rings.pop(offer.agent_id, None)
        waiter.answered.set_result((offer, agent_call, log))
        for other in list(waiter.rings.values()):
            other.cancel()  # ring-all: the others stop ringing


async def _loop(leg: MediaLeg, pcm: bytes) -> None:
    """Play `pcm` again and again (music on hold) until cancelled."""
    while True:
        await leg.play(pcm)
