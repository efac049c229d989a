"""Running one inbound call: admit it (the trunk's source addresses, digest credentials
and caps), ring, answer, walk its flow (the pure interpreter of chappe.voice.flows)
by executing its actions on the media leg, feed the events back, and hand the outcome to
the directory it is given (chappe.voice.directory), which stores the call records.

A `transfer` action places a B-leg through the trunks (chappe.voice.outbound.dial) and,
once it answers, bridges the two legs (chappe.voice.bridge) until either side hangs up;
the other side is then hung up too. A B-leg that fails feeds `transfer_failed` back, so
the flow takes its failure branch.

A `queue` step hands the caller to the engine's queues (chappe.voice.queueing): on hold
until an agent's phone answers, then bridged to it. Served, the call ends with it; left
unserved, the flow goes on (at the step's `next`, or in the flow the queue's overflow
names).

Only the engine interface (chappe.voice.sip.base) is used here, never a SIP library."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chappe.common.throttle import FailureThrottle
from chappe.voice.bridge import Bridge
from chappe.voice.callstate import CallLog, CallState, hangup_cause
from chappe.voice.crm import CrmAnswer, CrmLookup, consult, route
from chappe.voice.directory import (
    CallOutcome,
    CallTarget,
    Directory,
    LegOutcome,
    QueueCall,
    QueueVisit,
    Refusal,
)
from chappe.voice.flows import (
    DIGIT,
    HANGUP,
    PROMPT_FINISHED,
    QUEUE_LEFT,
    QUEUE_SERVED,
    RECORDING_FINISHED,
    TIMEOUT,
    TRANSFER_ENDED,
    TRANSFER_FAILED,
    W_DONE,
    Beep,
    EnterQueue,
    Event,
    FlowDefinition,
    FlowState,
    Hangup,
    Play,
    Record,
    StopPlayback,
    StopRecording,
    Transfer,
    WaitDigit,
    flow_start,
    flow_step,
    flow_switch,
)
from chappe.voice.media.prompts import tone
from chappe.voice.outbound import dial, status_for
from chappe.voice.queueing import QueueResult, QueueRoom
from chappe.voice.sip.base import InboundCall, MediaLeg, MediaRefused, Originator
from chappe.voice.sip.digest import (
    REALM,
    DigestResult,
    challenge_header,
    digest_check,
    nonce_issue,
)
from chappe.voice.trunking import TrunkGate, TrunkRoute

logger = logging.getLogger("chappe.voice.calls")

BEEP = tone(1000, 250)


class CallRunner:
    def __init__(self, call: InboundCall, directory: Directory, *,
                 originator: Originator | None = None, gate: TrunkGate | None = None,
                 auth_secret: bytes = b"", throttle: FailureThrottle | None = None,
                 answer_after: float = 0.0, queues: QueueRoom | None = None,
                 max_call_seconds: float = 4 * 3600, crm: CrmLookup | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.call = call
        # The account's CRM, asked before the flow starts (chappe.voice.crm).
        self.crm = crm
        self.crm_answer: CrmAnswer | None = None
        # A flow whose prompts loop forever still ends (the caller may never hang up).
        self.max_call_seconds = max_call_seconds
        self.directory = directory
        # Places transfer legs; without one a transfer fails (its failure branch runs).
        self.originator = originator
        # Calls per trunk, shared by the engine's runners (trunk caps).
        self.gate = gate if gate is not None else TrunkGate()
        # Signs the nonces of our digest challenges (chappe.voice.sip.digest).
        self.auth_secret = auth_secret
        # Failed authentications per source address, shared by the engine's runners and
        # its registrar (chappe.common.throttle).
        self.throttle = throttle if throttle is not None else FailureThrottle()
        self.clock = clock
        self.answer_after = answer_after
        # The engine's waiting callers; without them a queue step is left at once.
        self.queues = queues
        self.log = CallLog(call.call_id)
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.leg: MediaLeg | None = None
        self._play_task: asyncio.Task | None = None
        self._play_stop: asyncio.Event | None = None
        self._timer: asyncio.Task | None = None
        self._recording: bytes | None = None
        self._we_hung_up = ""
        self._target: CallTarget | None = None
        self._media: dict = {}
        self._transfer_task: asyncio.Task | None = None
        self._transferred = False
        self._leg_end_why = ""
        self._legs: list[LegOutcome] = []
        self._queue_task: asyncio.Task | None = None
        self._queue_visits: list[QueueVisit] = []
        self._served = False
        self._callback = False
        self._conversation: Path | None = None
        # A queue's overflow names the flow the call goes on in.
        self._switch_to: FlowDefinition | None = None

    async def run(self) -> None:
        target = None
        try:
            target = await self.directory.resolve(self.call.callee, self.call.caller)
            if target is None:
                self.call.reject(404)
                self.log.move(CallState.ENDED, "rejected 404")
                return
            trunk = target.trunk
            if trunk is not None and not self._trunk_allows(trunk, target):
                return
            if target.refusal is not None:
                await self._refuse(target, target.refusal)
                return
            if target.definition is None:
                self.call.reject(480)
                self.log.move(CallState.ENDED, "rejected 480")
                await self._finish(target, FlowState(), "rejected", "rejected_480")
                return
            refused = self.gate.admit(trunk, self.clock()) if trunk is not None else ""
            if refused:
                self.call.reject(503)
                self.log.move(CallState.ENDED, f"rejected 503: trunk at its {refused} cap")
                await self._finish(target, FlowState(), "rejected", "rejected_503")
                return
            if self.crm is not None:
                self.crm_answer = await consult(self.crm, target, self.call.caller)
                target = route(target, self.crm_answer)
            try:
                await self._serve(target)
            finally:
                if trunk is not None:
                    self.gate.release(trunk.name)
        except asyncio.CancelledError:
            await self._release("engine_stop")
            raise
        except Exception:
            logger.exception("call %s failed", self.call.call_id)
            await self._release("engine_error")
            if not self.log.is_over:
                self.log.move(CallState.ENDED, "engine error")
            if target is not None:
                await self._finish(target, FlowState(), "failed", "engine_error")

    def _trunk_allows(self, trunk: TrunkRoute, target: CallTarget) -> bool:
        """Source address and digest credentials of a call from a carrier trunk: False
        (and the INVITE answered 403, or 401 with a challenge) when refused."""
        if trunk.allowed_ips and self.call.source[0] not in trunk.allowed_ips:
            logger.warning("call %s to %s from %s: not an address of trunk %s",
                           self.call.call_id, target.e164, self.call.source[0], trunk.name)
            self.call.reject(403)
            self.log.move(CallState.ENDED, "rejected 403: source not allowed")
            return False
        if not trunk.inbound_username:
            return True
        address = self.call.source[0]
        if wait := self.throttle.retry_after(address):
            logger.warning("call %s to %s from %s: too many failed authentications",
                           self.call.call_id, target.e164, address)
            self.call.reject(503, "Too Many Failed Authentications",
                             headers={"Retry-After": str(wait)})
            self.log.move(CallState.ENDED, "rejected 503: too many failed authentications")
            return False
        now = time.time()
        verdict = digest_check(header=self.call.authorization, method="INVITE",
                               username=trunk.inbound_username, password=trunk.inbound_password,
                               realm=REALM, secret=self.auth_secret, now=now)
        if verdict == DigestResult.OK:
            self.throttle.succeeded(address)
            return True
        if verdict == DigestResult.WRONG:
            self.throttle.failed(address)
            logger.warning("call %s to %s from %s: wrong digest credentials for trunk %s",
                           self.call.call_id, target.e164, address, trunk.name)
            self.call.reject(403)
            self.log.move(CallState.ENDED, "rejected 403: wrong digest credentials")
            return False
        nonce = nonce_issue(secret=self.auth_secret, now=now)
        self.call.reject(401, headers={"WWW-Authenticate": challenge_header(
            realm=REALM, nonce=nonce, stale=verdict == DigestResult.STALE)})
        self.log.move(CallState.ENDED, f"challenged 401 ({verdict})")
        return False

    async def _refuse(self, target: CallTarget, refusal: Refusal) -> None:
        """The number takes no call now (P-8): a final refusal whose Reason header (RFC
        3326) says so, and a call record saying why."""
        self.call.reject(refusal.status, refusal.reason, headers={
            "Reason": f'SIP;cause={refusal.status};text="{refusal.reason}"'})
        self.log.move(CallState.ENDED, f"rejected {refusal.status}: {refusal.detail}")
        await self._finish(target, FlowState(), "rejected", f"rejected_{refusal.status}")

    async def _serve(self, target: CallTarget) -> None:
        self.log.account_id = target.account_id
        self._target = target
        self.call.ringing()
        if self.answer_after > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.call.ended.wait(), self.answer_after)
        if self.call.ended.is_set():
            self.log.move(CallState.ENDED, self.call.end_reason or "cancel")
            await self._finish(target, FlowState(), "canceled", "cancel")
            return
        try:
            self.leg = await self.call.answer()
        except MediaRefused as exc:
            await self._release("no_media")  # a BYE when the 200 went out
            self.log.move(CallState.ENDED, f"no media: {exc}")
            await self._finish(target, FlowState(), "failed", "no_media")
            return
        self.log.move(CallState.ANSWERED, "200 OK sent")
        state = await self._walk(target.definition)
        await self._finish(target, state, self._disposition(state), self._cause())

    async def _walk(self, definition: FlowDefinition) -> FlowState:
        assert self.leg is not None
        self.leg.set_dtmf_handler(self._on_digit)
        watcher = asyncio.create_task(self._watch_peer())
        try:
            state, actions = flow_start(definition, datetime.now(UTC))
            while True:
                await self._execute(actions)
                if self._we_hung_up:
                    return state
                if state.waiting == W_DONE:  # the caller hung up
                    await self._release("caller_hangup")
                    self.log.move(CallState.ENDED, f"peer {self.call.end_reason or 'bye'}")
                    return state
                try:
                    event = await asyncio.wait_for(self.events.get(), self._time_left())
                except TimeoutError:
                    await self._hangup("max_duration")
                    return state
                if event.kind == PROMPT_FINISHED and self._play_task is not None \
                        and not self._play_task.done():
                    # From a prompt a digit stopped: the one playing now is not over.
                    actions = []
                    continue
                if event.kind in (DIGIT, HANGUP) and self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                if event.kind == QUEUE_LEFT and self._switch_to is not None:
                    definition, self._switch_to = self._switch_to, None
                    state, actions = flow_switch(definition, state, datetime.now(UTC))
                    continue
                state, actions = flow_step(definition, state, event)
        finally:
            watcher.cancel()
            for task in (self._play_task, self._timer):
                if task is not None:
                    task.cancel()

    def _on_digit(self, digit: str, _duration_ms: int) -> None:
        self.events.put_nowait(Event(DIGIT, digit))

    def _time_left(self) -> float:
        elapsed = (datetime.now(UTC) - self.log.started_at).total_seconds()
        return max(self.max_call_seconds - elapsed, 0.001)

    async def _watch_peer(self) -> None:
        await self.call.ended.wait()
        self.events.put_nowait(Event(HANGUP))

    async def _execute(self, actions) -> None:
        assert self.leg is not None
        playlist: list[bytes] = []
        for action in actions:
            if isinstance(action, Play):
                playlist.append(await self.directory.prompt_pcm(self._target, action.prompt))
            elif isinstance(action, StopPlayback):
                self._stop_playback()
            elif isinstance(action, Beep):
                self._stop_playback()
                await self.leg.play(BEEP)
            elif isinstance(action, WaitDigit):
                self._start_timer(action.timeout_seconds, TIMEOUT)
            elif isinstance(action, Record):
                self.leg.start_recording()
                self._start_timer(action.max_seconds, RECORDING_FINISHED)
            elif isinstance(action, StopRecording):
                self._recording = self.leg.stop_recording()
            elif isinstance(action, Transfer):
                self._transfer_task = asyncio.create_task(self._transfer(action))
            elif isinstance(action, EnterQueue):
                self._stop_playback()
                self._queue_task = asyncio.create_task(self._queue(action))
            elif isinstance(action, Hangup):
                await self._hangup(action.cause)
        if playlist:
            self._start_playback(playlist)

    async def _transfer(self, action: Transfer) -> None:
        """Place the B-leg, bridge it to the caller, relay until one side hangs up; feeds
        TRANSFER_FAILED (no B-leg) or TRANSFER_ENDED (the B-leg hung up) to the flow. The
        caller hanging up cancels this task (_end_transfer), which hangs up the B-leg."""
        target = self._target
        assert target is not None
        assert self.leg is not None
        log = CallLog(f"transfer:{action.number}", account_id=target.account_id)
        leg = LegOutcome(log, caller=target.e164, callee=action.number, disposition="failed",
                         hangup_cause="")
        self._legs.append(leg)
        if self.originator is None:
            log.move(CallState.ENDED, "no originator")
            leg.hangup_cause = "no_originator"
            self.events.put_nowait(Event(TRANSFER_FAILED))
            return
        try:
            routes = await self.directory.routes(action.number)
            dialed = await dial(self.originator, self.gate, routes, log=log,
                                caller=target.e164.lstrip("+"),
                                callee=action.number.lstrip("+"), timeout=action.timeout_seconds)
        except asyncio.CancelledError:
            log.move(CallState.ENDED, f"canceled: {self._leg_end_why}")
            leg.disposition = "canceled"
            leg.hangup_cause = f"caller_cancel:{self._leg_end_why}"
            raise
        except Exception:
            logger.exception("call %s: transfer to %s failed", self.call.call_id, action.number)
            log.move(CallState.ENDED, "engine error")
            leg.hangup_cause = "engine_error"
            self.events.put_nowait(Event(TRANSFER_FAILED))
            return
        if dialed.call is None:
            leg.disposition, leg.hangup_cause = status_for(dialed.status), dialed.cause
            self.events.put_nowait(Event(TRANSFER_FAILED))
            return
        self._stop_playback()
        bridge = Bridge(self.leg, dialed.call.leg)
        self.log.move(CallState.BRIDGED, f"{action.number} answered via trunk {dialed.trunk} "
                                         f"({dialed.call.call_id}): RTP relayed both ways")
        self.log.move(CallState.TRANSFERRED, f"the flow handed the call to {action.number}")
        self._transferred = True
        leg.disposition = "answered"
        try:
            await dialed.call.ended.wait()
            self.events.put_nowait(Event(TRANSFER_ENDED))
        finally:
            bridge.stop()
            leg.media = {**dialed.call.leg.stats(), **bridge.stats()}
            await dialed.end(self.gate, self._leg_end_why or "flow_end")
            leg.hangup_cause = dialed.cause

    async def _queue(self, action: EnterQueue) -> None:
        """Wait in the queue (and talk to the agent who answers); feeds QUEUE_SERVED or
        QUEUE_LEFT to the flow. The caller hanging up ends the stay by itself
        (`_end_queue` waits for it to be recorded)."""
        target, leg = self._target, self.leg
        assert target is not None
        assert leg is not None
        if self.queues is None:
            self._queue_visits.append(QueueVisit(action.queue_id,
                                                 outcome="refused:no_queues"))
            self.events.put_nowait(Event(QUEUE_LEFT))
            return
        call = QueueCall(call_id=self.call.call_id, account_id=target.account_id,
                         queue_id=action.queue_id, caller=self.call.caller,
                         dialled=target.e164, branch=action.branch,
                         priority=self.crm_answer.reply.priority if self.crm_answer else None,
                         caller_info=self.crm_answer.reply.caller_info
                         if self.crm_answer else None)
        try:
            if action.agent_id:
                result = await self.queues.serve_agent(call, leg, self.call.ended,
                                                       action.agent_id)
            else:
                result = await self.queues.serve(call, leg, self.call.ended)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("call %s: queue %s failed", self.call.call_id, action.queue_id)
            result = QueueResult(False, [QueueVisit(action.queue_id, outcome="error")])
        finally:
            leg.set_dtmf_handler(self._on_digit)  # the queue had the caller's keys
        self._queue_visits.extend(result.visits)
        self._legs.extend(result.legs)
        if result.recording is not None:
            self._conversation = result.recording
        if result.served:
            self._served = True
            self._callback = result.callback
            self.events.put_nowait(Event(QUEUE_SERVED))
        elif not self.call.ended.is_set():
            self._switch_to = result.overflow
            self.events.put_nowait(Event(QUEUE_LEFT))

    async def _end_queue(self) -> None:
        """The call ends: a stay in a queue ends with it. Once the caller is gone the stay
        ends by itself (recorded as abandoned, or the agent's call completed); when we
        end the call, it is cut."""
        task, self._queue_task = self._queue_task, None
        if task is None or task.done():
            return
        if not self.call.ended.is_set():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _end_transfer(self, why: str) -> None:
        """Hang up a transfer's B-leg (or cancel its INVITE) because `why`."""
        task, self._transfer_task = self._transfer_task, None
        if task is None or task.done():
            return
        self._leg_end_why = why
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def _start_playback(self, playlist: list[bytes]) -> None:
        self._stop_playback()
        stop = asyncio.Event()
        self._play_stop = stop
        leg = self.leg
        assert leg is not None

        async def play_all() -> None:
            for pcm in playlist:
                if not await leg.play(pcm, stop):
                    return
            if not stop.is_set():
                self.events.put_nowait(Event(PROMPT_FINISHED))

        self._play_task = asyncio.create_task(play_all())

    def _stop_playback(self) -> None:
        if self._play_stop is not None:
            self._play_stop.set()
            self._play_stop = None

    def _start_timer(self, seconds: float, kind: str) -> None:
        if self._timer is not None:
            self._timer.cancel()

        async def fire() -> None:
            await asyncio.sleep(seconds)
            self.events.put_nowait(Event(kind))

        self._timer = asyncio.create_task(fire())

    async def _hangup(self, cause: str) -> None:
        await self._end_transfer(cause)
        await self._end_queue()
        self._stop_playback()
        if self.leg is not None and self._recording is None:
            recorded = self.leg.stop_recording()
            if recorded:
                self._recording = recorded
        self._we_hung_up = cause
        self._keep_stats()
        await self.call.hangup()
        self.leg = None
        self.log.move(CallState.ENDED, f"we hung up: {cause}")

    async def _release(self, why: str) -> None:
        await self._end_transfer(why)
        await self._end_queue()
        self._stop_playback()
        if self.leg is not None:
            if self._recording is None:
                recorded = self.leg.stop_recording()
                if recorded:
                    self._recording = recorded
            self._keep_stats()
            self.leg = None
        await self.call.hangup()

    def _keep_stats(self) -> None:
        if self.leg is not None:
            try:
                self._media = self.leg.stats()
            except Exception:  # statistics never break a call
                self._media = {}

    def _disposition(self, state: FlowState) -> str:
        if self._recording:
            return "voicemail"
        if self._transferred:
            return "transferred"
        if self._callback:
            return "callback"
        if self._served:
            return "answered"
        if not self._we_hung_up:
            return "abandoned"
        return "answered"

    def _cause(self) -> str:
        return hangup_cause(we_are="callee", we_hung_up=self._we_hung_up,
                            peer_reason=self.call.end_reason)

    async def _finish(self, target: CallTarget, state: FlowState, disposition: str,
                      cause: str) -> None:
        stats = self._media
        outcome = CallOutcome(target=target, caller=self.call.caller, log=self.log, state=state,
                              disposition=disposition, hangup_cause=cause,
                              recording=self._recording, media=stats, legs=self._legs,
                              queues=self._queue_visits, conversation=self._conversation)
        try:
            await self.directory.finish(outcome)
        except Exception:
            logger.exception("call %s: the call record could not be written", self.call.call_id)
