"""The outbound campaigns' dialer in the voice engine (C-5; decision 0048): every tick it
asks its desk for the calls to place now (the desk applies the pacing core and the French
rules at that moment, and records each as an attempt), dials them through the trunks,
and connects each consumer who answers to a free agent of the campaign's queue, whose
phones ring at once. With no agent free within `agent_wait` seconds (2: D.223-9's
practice and the FTC's safe harbour), the consumer hears the message naming the caller
and is hung up on: abandoned. Optionally the first seconds of audio decide whether a
machine answered (`chappe.voice.amd`). The call's record is stored by the directory like
any outbound call (rated per started second, C-9).

Engine side only: it reaches the data through the `CampaignDesk` it is given (the
dialer app's, on the voice role's database thread)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chappe.voice.bridge import Bridge
from chappe.voice.callstate import CallLog, CallState
from chappe.voice.directory import CallOutcome, CallTarget
from chappe.voice.flows import FlowState, Prompt
from chappe.voice.outbound import dial, ring_all, status_for
from chappe.voice.registrations import Registrations
from chappe.voice.sip.base import Originator, OutboundCall, OutboundFailed
from chappe.voice.trunking import TrunkGate, TrunkRoute

logger = logging.getLogger("chappe.voice.dialer")

# Outcomes reported to the desk (the dialer app's `Outcome` values).
ANSWERED, ABANDONED, MACHINE = "answered", "abandoned", "machine"
BUSY, NO_ANSWER, FAILED = "busy", "no_answer", "failed"
AGENT_WAIT = 2.0
RING_TIMEOUT = 25.0
AGENT_RING_TIMEOUT = 10.0


@dataclass(frozen=True)
class CampaignCall:
    """A call the desk allowed now, recorded as an attempt (`attempt_id`)."""

    attempt_id: str
    campaign_id: str
    account_id: str
    number: str  # E.164
    caller_id: str  # E.164
    amd: bool = False
    # Left to a detected machine (TTS), then hung up; "": the retry rule for machines.
    amd_message: str = ""


@dataclass(frozen=True)
class AgentOffer:
    agent_id: str
    ring_timeout_seconds: float = AGENT_RING_TIMEOUT


@dataclass(frozen=True)
class CampaignCallEnd:
    outcome: str
    ended_at: datetime
    answered_at: datetime | None = None
    agent_id: str = ""
    sip_call_id: str = ""
    talk_seconds: int = 0


class CampaignDesk(Protocol):
    """The campaigns' side on the data (chappe.dialer.desk), awaited."""

    async def calls_due(self) -> list[CampaignCall]:
        """The calls every running campaign places now (paced, checked, recorded)."""
        ...

    async def agent_for(self, call: CampaignCall) -> AgentOffer | None:
        """A free agent of the campaign's queue, moved to ringing (None: nobody free)."""
        ...

    async def agent_answered(self, call: CampaignCall, offer: AgentOffer) -> None: ...

    async def agent_released(self, call: CampaignCall, offer: AgentOffer, *, connected: bool,
                             talk_seconds: int) -> None:
        """The offer is over: rang out (`connected` False) or the call ended."""
        ...

    async def abandon_prompt(self, call: CampaignCall) -> Prompt:
        """What a consumer with no agent hears: who called, and that they will be called
        back."""
        ...

    async def finish(self, call: CampaignCall, end: CampaignCallEnd) -> None: ...

    async def close(self) -> None:
        """The engine stops: give back what the desk holds (its database thread)."""
        ...


Finish = Callable[[CallOutcome], Awaitable[None]]
Routes = Callable[[str], Awaitable[list[TrunkRoute]]]
Classify = Callable[[bytes], str]
Render = Callable[[str, Prompt], Awaitable[bytes]]  # (account id, prompt) → 8 kHz PCM


class CampaignDialer:
    """The dialer loop of one engine: `run()` until cancelled."""

    def __init__(self, desk: CampaignDesk, *, trunks: Originator, phones: Originator,
                 registrations: Registrations, gate: TrunkGate, routes: Routes,
                 finish: Finish, render: Render, poll: float = 1.0, agent_wait: float = AGENT_WAIT,
                 classify: Classify | None = None, amd_seconds: float = 2.5) -> None:
        self.desk, self.trunks, self.phones = desk, trunks, phones
        self.registrations, self.gate, self.routes = registrations, gate, routes
        self.record, self.render = finish, render
        self.poll, self.agent_wait = poll, agent_wait
        self.classify, self.amd_seconds = classify, amd_seconds
        self.calls: set[asyncio.Task] = set()

    async def run(self) -> None:
        while True:
            try:
                due = await self.desk.calls_due()
            except Exception:
                logger.exception("campaigns: asking for the calls due failed")
                due = []
            for call in due:
                task = asyncio.get_running_loop().create_task(self.place(call))
                self.calls.add(task)
                task.add_done_callback(self.calls.discard)
            await asyncio.sleep(self.poll)

    async def place(self, call: CampaignCall) -> CampaignCallEnd:
        """Dial one consumer and see the call through; its outcome goes to the desk."""
        log = CallLog(f"campaign:{call.number}", account_id=call.account_id)
        dialed = await dial(self.trunks, self.gate, await self.routes(call.number), log=log,
                            caller=call.caller_id.lstrip("+"), callee=call.number.lstrip("+"),
                            timeout=RING_TIMEOUT)
        if dialed.call is None:
            outcome = status_for(dialed.status) if dialed.invited else FAILED
            return await self._end(call, log, outcome, dialed.cause or "no_route")
        consumer = dialed.call
        if call.amd and self.classify is not None and await self._machine(consumer):
            if call.amd_message:
                await self._say(call, consumer, Prompt(text=call.amd_message))
            await dialed.end(self.gate, "answering machine")
            return await self._end(call, dialed.log, MACHINE, dialed.cause)
        offer = await self._agent(call)
        if offer is None:
            await self._tell_abandoned(call, consumer)
            await dialed.end(self.gate, "no agent free: abandoned")
            return await self._end(call, dialed.log, ABANDONED, dialed.cause)
        try:
            agent = await ring_all(self.phones, self.registrations.contacts_of_agent(
                offer.agent_id), caller=call.number.lstrip("+"),
                timeout=offer.ring_timeout_seconds)
        except OutboundFailed:
            await self.desk.agent_released(call, offer, connected=False, talk_seconds=0)
            await self._tell_abandoned(call, consumer)
            await dialed.end(self.gate, "the agent did not answer: abandoned")
            return await self._end(call, dialed.log, ABANDONED, dialed.cause)
        await self.desk.agent_answered(call, offer)
        talk = await self._talk(consumer, agent)
        await dialed.end(self.gate, "the agent hung up")
        await agent.hangup()
        await self.desk.agent_released(call, offer, connected=True, talk_seconds=talk)
        return await self._end(call, dialed.log, ANSWERED, dialed.cause, agent_id=offer.agent_id,
                               talk=talk)

    async def _tell_abandoned(self, call: CampaignCall, consumer: OutboundCall) -> None:
        await self._say(call, consumer, await self.desk.abandon_prompt(call))

    async def _say(self, call: CampaignCall, consumer: OutboundCall, prompt: Prompt) -> None:
        """Play `prompt` to the consumer, until its end or theirs."""
        pcm = await self.render(call.account_id, prompt)
        stop = asyncio.Event()
        watcher = asyncio.ensure_future(consumer.ended.wait())
        watcher.add_done_callback(lambda _t: stop.set())
        try:
            await consumer.leg.play(pcm, stop)
        finally:
            watcher.cancel()

    async def _agent(self, call: CampaignCall) -> AgentOffer | None:
        """A free agent within `agent_wait` seconds of the answer, asked every 200 ms."""
        deadline = asyncio.get_running_loop().time() + self.agent_wait
        while True:
            offer = await self.desk.agent_for(call)
            if offer is not None or asyncio.get_running_loop().time() >= deadline:
                return offer
            await asyncio.sleep(0.2)

    async def _machine(self, consumer: OutboundCall) -> bool:
        heard: list[bytes] = []
        consumer.leg.set_audio_sink(heard.append)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(consumer.ended.wait(), self.amd_seconds)
        consumer.leg.set_audio_sink(None)
        assert self.classify is not None
        return self.classify(b"".join(heard)) == MACHINE

    @staticmethod
    async def _talk(consumer: OutboundCall, agent: OutboundCall) -> int:
        bridge = Bridge(consumer.leg, agent.leg)
        loop = asyncio.get_running_loop()
        started = loop.time()
        waits = [asyncio.ensure_future(c.ended.wait()) for c in (consumer, agent)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            bridge.stop()
        return max(0, round(loop.time() - started))

    async def _end(self, call: CampaignCall, log: CallLog, outcome: str, cause: str, *,
                   agent_id: str = "", talk: int = 0) -> CampaignCallEnd:
        if log.state != CallState.ENDED:
            log.move(CallState.ENDED, outcome)
        assert log.ended_at is not None
        end = CampaignCallEnd(outcome=outcome, ended_at=log.ended_at,
                              answered_at=log.answered_at, agent_id=agent_id,
                              sip_call_id=log.call_id, talk_seconds=talk)
        record = CallOutcome(
            target=CallTarget(account_id=call.account_id, e164=call.number, definition=None),
            caller=call.caller_id, log=log, state=FlowState(path=("campaign",)),
            disposition=ANSWERED if log.answered_at else outcome, hangup_cause=cause,
            direction="outbound", agent_id=agent_id)
        try:
            await self.record(record)
        finally:
            await self.desk.finish(call, end)
        return end
