"""Running one inbound call: ring, answer, walk its flow (the pure interpreter of
chappe.callcenter.flows) by executing its actions on the media leg, feed the events back,
and hand the outcome to the directory (which writes the call record).

Only the engine interface (chappe.voice.sip.base) is used here, never a SIP library."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from chappe.callcenter.flows import (
    DIGIT,
    HANGUP,
    PROMPT_FINISHED,
    RECORDING_FINISHED,
    TIMEOUT,
    TRANSFER_FAILED,
    W_DONE,
    Beep,
    Event,
    FlowDefinition,
    FlowState,
    Hangup,
    Play,
    Prompt,
    Record,
    StopPlayback,
    StopRecording,
    Transfer,
    WaitDigit,
    flow_start,
    flow_step,
)
from chappe.voice.callstate import CallLog, CallState
from chappe.voice.media.prompts import tone
from chappe.voice.sip.base import InboundCall, MediaLeg

logger = logging.getLogger("chappe.voice.calls")


@dataclass(frozen=True)
class CallTarget:
    """Where an inbound call goes: the account, the rented number and its flow."""

    account_id: str
    e164: str
    definition: FlowDefinition | None
    rental_id: str | None = None
    flow_version_id: str | None = None
    # The carrier trunk the number belongs to: source IPs allowed to call it (empty: any)
    # and its cap on concurrent calls (0: none).
    trunk: str = ""
    allowed_ips: tuple[str, ...] = ()
    max_concurrent_calls: int = 0


@dataclass
class CallOutcome:
    """What the directory stores at the end of a call."""

    target: CallTarget
    caller: str
    log: CallLog
    state: FlowState
    disposition: str
    hangup_cause: str
    recording: bytes | None = None
    media: dict = field(default_factory=dict)


class Directory(Protocol):
    async def resolve(self, callee: str, caller: str) -> CallTarget | None: ...


    async def prompt_pcm(self, target: CallTarget, prompt: Prompt) -> bytes: ...

    async def finish(self, outcome: CallOutcome) -> None: ...


BEEP = tone(1000, 250)


class CallRunner:
    def __init__(self, call: InboundCall, directory: Directory, *,
                 answer_after: float = 0.0, max_call_seconds: float = 4 * 3600,
                 trunk_calls: dict[str, int] | None = None) -> None:
        self.call = call
        # A flow whose prompts loop forever still ends (the caller may never hang up).
        self.max_call_seconds = max_call_seconds
        self.directory = directory
        self.answer_after = answer_after
        self.log = CallLog(call.call_id)
        # Calls in progress per trunk, shared by the engine's runners (trunk caps).
        self.trunk_calls: dict[str, int] = trunk_calls if trunk_calls is not None else {}
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.leg: MediaLeg | None = None
        self._play_task: asyncio.Task | None = None
        self._play_stop: asyncio.Event | None = None
        self._timer: asyncio.Task | None = None
        self._recording: bytes | None = None
        self._we_hung_up = ""
        self._target: CallTarget | None = None
        self._media: dict = {}

    async def run(self) -> None:
        target = None
        try:
            target = await self.directory.resolve(self.call.callee, self.call.caller)
            if target is None or target.definition is None:
                status = 404 if target is None else 480
                self.call.reject(status)
                self.log.move(CallState.ENDED, f"rejected {status}")
                if target is not None:
                    await self._finish(target, FlowState(), "rejected", f"rejected_{status}")
                return
            if target.allowed_ips and self.call.source[0] not in target.allowed_ips:
                logger.warning("call %s to %s from %s: not an address of trunk %s",
                               self.call.call_id, target.e164, self.call.source[0], target.trunk)
                self.call.reject(403)
                self.log.move(CallState.ENDED, "rejected 403: source not allowed")
                return
            in_progress = self.trunk_calls.get(target.trunk, 0)
            if target.max_concurrent_calls and in_progress >= target.max_concurrent_calls:
                self.call.reject(503)
                self.log.move(CallState.ENDED, "rejected 503: trunk at its concurrent-call cap")
                await self._finish(target, FlowState(), "rejected", "rejected_503")
                return
            self.trunk_calls[target.trunk] = in_progress + 1
            try:
                await self._serve(target)
            finally:
                self.trunk_calls[target.trunk] -= 1
        except asyncio.CancelledError:
            await self._release()
            raise
        except Exception:
            logger.exception("call %s failed", self.call.call_id)
            await self._release()
            if not self.log.is_over:
                self.log.move(CallState.ENDED, "engine error")
            if target is not None:
                await self._finish(target, FlowState(), "failed", "engine_error")

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
        self.leg = await self.call.answer()
        self.log.move(CallState.ANSWERED, "200 OK sent")
        state = await self._walk(target.definition)
        await self._finish(target, state, self._disposition(state), self._cause())

    async def _walk(self, definition: FlowDefinition) -> FlowState:
        assert self.leg is not None
        self.leg.set_dtmf_handler(lambda digit: self.events.put_nowait(Event(DIGIT, digit)))
        watcher = asyncio.create_task(self._watch_peer())
        try:
            state, actions = flow_start(definition, datetime.now(UTC))
            while True:
                await self._execute(actions)
                if self._we_hung_up:
                    return state
                if state.waiting == W_DONE:  # the caller hung up
                    await self._release()
                    self.log.move(CallState.ENDED, f"peer {self.call.end_reason or 'bye'}")
                    return state
                try:
                    event = await asyncio.wait_for(self.events.get(), self._time_left())
                except TimeoutError:
                    await self._hangup("max_duration")
                    return state
                if event.kind in (DIGIT, HANGUP) and self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
                state, actions = flow_step(definition, state, event)
        finally:
            watcher.cancel()
            for task in (self._play_task, self._timer):
                if task is not None:
                    task.cancel()

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
                # Outbound legs through a trunk come next (docs/decisions/0016): until
                # then a transfer fails over to the flow's failure branch.
                logger.warning("call %s: transfer to %s not available yet",
                               self.call.call_id, action.number)
                self.events.put_nowait(Event(TRANSFER_FAILED))
            elif isinstance(action, Hangup):
                await self._hangup(action.cause)
        if playlist:
            self._start_playback(playlist)

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

    async def _release(self) -> None:
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
        if state.outcome == "transferred":
            return "transferred"
        if not self._we_hung_up:
            return "abandoned"
        return "answered"

    def _cause(self) -> str:
        if self._we_hung_up:
            return f"callee_bye:{self._we_hung_up}"
        return f"caller_{self.call.end_reason or 'bye'}"

    async def _finish(self, target: CallTarget, state: FlowState, disposition: str,
                      cause: str) -> None:
        stats = self._media
        outcome = CallOutcome(target=target, caller=self.call.caller, log=self.log, state=state,
                              disposition=disposition, hangup_cause=cause,
                              recording=self._recording, media=stats)
        try:
            await self.directory.finish(outcome)
        except Exception:
            logger.exception("call %s: the call record could not be written", self.call.call_id)
