"""The `chappe voice` process: the SIP endpoint, one CallRunner per inbound call, the
trunk gate (caps per trunk), the registrar of agents' phones (its bindings in the
registrations table the engine is handed, swept on a timer), the callers waiting in
queues for those phones (chappe.voice.queueing), and the dialer calling TTS
voice messages — claimed like a connector claims SMS (a lease on each message), kept
leased by heartbeats while their calls are in flight, their outcomes handed back.

The engine reaches data only through the directory it is given (chappe.voice.directory:
numbers → flows, trunks, prompts, call records, the voice messages to call). The role that
starts it builds the contact center's directory on the database and passes it in, with
the secret that signs digest nonces (chappe/runtime/cli.py); tests pass theirs."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime
from pathlib import Path

from chappe.common.throttle import FailureThrottle
from chappe.voice import amd, outbound
from chappe.voice.browser import BrowserPhones, BrowserSession, PhoneOriginator, agent_dial
from chappe.voice.control import CallControl, LiveCalls
from chappe.voice.dialer import CampaignDesk, CampaignDialer
from chappe.voice.directory import CallTarget, EngineDirectory, MessageCall, MessageCallEnd
from chappe.voice.features import feature_call, is_feature_code
from chappe.voice.flows import Prompt
from chappe.voice.originate import CallPlacing, originate_handler
from chappe.voice.queueing import HOLD_MUSIC, QueueRoom
from chappe.voice.registrar import Registrar
from chappe.voice.registrations import Registrations
from chappe.voice.runner import CallRunner
from chappe.voice.sip.aiosipua_backend import DEFAULT_MIN_SE, AiosipuaEndpoint, RtpPorts
from chappe.voice.sip.base import InboundCall
from chappe.voice.supervision import supervise_handler
from chappe.voice.trunking import TrunkGate

logger = logging.getLogger("chappe.voice")

# Seconds between the heartbeats of the messages being called: well within their lease
# (60 s, chappe.messaging.services.dispatch.LEASE), so no other engine takes them.
MESSAGE_HEARTBEAT = 20.0
# Tries at writing a voice message's outcome before leaving it to its lease.
FINISH_ATTEMPTS = 5
# Seconds between two sweeps of the expired registrations.
REGISTRATIONS_SWEEP = 30.0


class VoiceEngine:
    """The endpoint plus a runner per call and the registrar, on the directory it is
    given; `auth_secret` signs the nonces of our digest challenges
    (chappe.voice.sip.digest); `registrations` holds the phones' bindings (a table of
    its own when none is handed in); `throttle` counts the failed authentications of
    every source address, phones' and trunks' alike."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5060, *,
                 directory: EngineDirectory, auth_secret: bytes, answer_after: float = 0.0,
                 rtp_ports: tuple[int, int] = (20000, 29998), dialer: bool = True,
                 dialer_poll: float = 1.0, min_se: int = DEFAULT_MIN_SE,
                 message_heartbeat: float = MESSAGE_HEARTBEAT,
                 registrations: Registrations | None = None,
                 throttle: FailureThrottle | None = None,
                 sweep_every: float = REGISTRATIONS_SWEEP,
                 control: tuple[str, int] | None = None,
                 ice_servers: list[dict] | None = None,
                 campaigns: CampaignDesk | None = None) -> None:
        self.endpoint = AiosipuaEndpoint(host, port, rtp_ports=RtpPorts(*rtp_ports),
                                         min_se=min_se)
        self.endpoint.on_call = self._on_call
        self.directory = directory
        self.auth_secret = auth_secret
        self.answer_after = answer_after
        self.calls_handled = 0
        self.gate = TrunkGate()
        self.dialer, self.dialer_poll = dialer, dialer_poll
        self.message_heartbeat = message_heartbeat
        self.throttle = throttle if throttle is not None else FailureThrottle()
        self.registrar = Registrar(directory,
                                   registrations if registrations is not None
                                   else Registrations(),
                                   secret=auth_secret, throttle=self.throttle)
        self.endpoint.on_register = self.registrar.register
        desk = getattr(directory, "queues", None)
        # Agents' browsers as phones, through the control port the web role relays them
        # to (chappe.voice.browser; None: no browser phones).
        self.control = control
        self.browsers = BrowserPhones(self.registrar.registrations, secret=auth_secret,
                                      on_lost=self._browser_lost, hold_music=HOLD_MUSIC,
                                      ice_servers=ice_servers)
        phones = PhoneOriginator(self.endpoint, self.browsers)
        self.browsers.originator = phones
        self.browsers.dialer = self._agent_dial
        if desk is not None:
            self.browsers.resolve = desk.transfer_target
            self.browsers.busy = self._agent_busy
        self.queues = (QueueRoom(desk, phones, self.registrar.registrations,
                                 prompts=self._account_prompt, routes=directory.routes,
                                 gate=self.gate)
                       if desk is not None else None)
        # The web role's commands (call control, supervision) on the control port.
        self.live = self.queues.live if self.queues is not None else LiveCalls()
        self.commands = CallControl(self.live, secret=auth_secret)
        # Looked up when a call is placed: a directory that places none (a registrar's
        # phone users only) need not have them.
        self.commands.handlers["originate"] = originate_handler(CallPlacing(
            phones=phones, trunks=self.endpoint, registrations=self.registrar.registrations,
            gate=self.gate, routes=lambda number: directory.routes(number),
            finish=lambda outcome: directory.finish(outcome),
            events=self._call_event, calls=self.live, hold_music=HOLD_MUSIC,
            busy=self._agent_busy if self.queues is not None else None))
        self.commands.handlers["supervise"] = supervise_handler(
            phones=phones, registrations=self.registrar.registrations, calls=self.live)
        self.browsers.commands = self.commands.serve
        self.sweep_every = sweep_every
        # Outbound call campaigns (chappe.voice.dialer; None: this engine places none).
        self.campaigns = (CampaignDialer(campaigns, trunks=self.endpoint, phones=phones,
                                         registrations=self.registrar.registrations,
                                         gate=self.gate, routes=directory.routes,
                                         finish=directory.finish, render=self._account_prompt,
                                         classify=amd.classify)
                          if campaigns is not None else None)
        self._loops: list[asyncio.Task] = []
        self._dialing: set[asyncio.Task] = set()
        self._in_flight: dict[str, MessageCall] = {}

    async def start(self) -> tuple[str, int]:
        bound = await self.endpoint.start()
        if self.control is not None:
            try:
                self.control = await self.browsers.start(*self.control)
            except OSError as exc:  # the SIP side serves on: only browsers cannot connect
                logger.error("browser phones' control port %s:%s not opened: %s",
                             *self.control, exc)
                self.control = None
        loop = asyncio.get_running_loop()
        self._loops = [loop.create_task(self._sweep_loop())]
        if self.dialer:
            self._loops += [loop.create_task(self._dial_loop()),
                            loop.create_task(self._heartbeat_loop())]
        if self.campaigns is not None:
            self._loops.append(loop.create_task(self.campaigns.run()))
        return bound

    async def stop(self) -> None:
        """Stop dialling and serving, then close the directory (it writes what is still
        queued and gives back its database thread). Messages whose calls are cut short
        keep their lease until it runs out: another engine then calls them."""
        tasks = [*self._loops, *self._dialing,
                 *(self.campaigns.calls if self.campaigns is not None else ())]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.browsers.stop()
        await self.endpoint.stop()
        if self.campaigns is not None:  # gives back the campaigns' database thread
            await self.campaigns.desk.close()
        await self.directory.close()

    async def _on_call(self, call: InboundCall) -> None:
        self.calls_handled += 1
        if self.queues is not None and is_feature_code(call.callee):
            await feature_call(call, self.directory, self.queues.desk,
                               secret=self.auth_secret, throttle=self.throttle)
            return
        await CallRunner(call, self.directory, originator=self.endpoint, gate=self.gate,
                         auth_secret=self.auth_secret, throttle=self.throttle,
                         answer_after=self.answer_after, queues=self.queues,
                         crm=getattr(self.directory, "crm", None)).run()

    async def _agent_dial(self, session: BrowserSession, number: str, caller_id: str) -> None:
        """A call an agent places from their browser, through the trunks; the agent is
        on a call meanwhile (the desk's `own_call`: no queue call offered to them)."""
        desk = self.queues.desk if self.queues is not None else None
        busy = desk is not None and await desk.own_call(session.agent_id, busy=True)
        try:
            await agent_dial(session, number=number, caller_id=caller_id,
                             originator=self.endpoint, gate=self.gate,
                             routes=self.directory.routes, finish=self.directory.finish)
        finally:
            if busy and desk is not None:
                await asyncio.shield(desk.own_call(session.agent_id, busy=False))

    async def _agent_busy(self, agent_id: str, busy: bool) -> bool:
        """An agent on a call that is no queue's (consulted in an attended transfer), or
        free again: the desk's `own_call`."""
        assert self.queues is not None
        return await self.queues.desk.own_call(agent_id, busy=busy)

    async def _call_event(self, account_id: str, kind: str, payload: dict) -> None:
        """A call event (webhook) of a call the engine placed, written by the desk."""
        if self.queues is not None:
            await self.queues.desk.call_event(account_id, kind, payload)

    async def _browser_lost(self, agent_id: str, reason: str) -> None:
        """An agent's browser is gone and they have no other phone: no call must be
        offered to them (the desk pauses them)."""
        if self.queues is not None:
            await self.queues.desk.phone_lost(agent_id, reason)

    async def _account_prompt(self, account_id: str, prompt: Prompt) -> bytes:
        return await self.directory.prompt_pcm(
            CallTarget(account_id=account_id, e164="", definition=None), prompt)

    async def _sweep_loop(self) -> None:
        """Forget the registrations that expired (they are never rung once expired; this
        frees their memory)."""
        while True:
            await asyncio.sleep(self.sweep_every)
            if dropped := self.registrar.registrations.sweep():
                logger.info("registrations: %s expired", dropped)

    # --- TTS voice messages (M-1) ---------------------------------------------------------

    async def _dial_loop(self) -> None:
        while True:
            try:
                claimed = await self.directory.message_calls_claim()
            except Exception:
                logger.exception("voice messages: claiming due messages failed")
                claimed = []
            for call in claimed:
                self._in_flight[call.id] = call
                task = asyncio.get_running_loop().create_task(self._dial(call))
                self._dialing.add(task)
                task.add_done_callback(self._dialing.discard)
            await asyncio.sleep(0 if claimed else self.dialer_poll)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.message_heartbeat)
            if not self._in_flight:
                continue
            try:
                await self.directory.message_calls_extend(list(self._in_flight.values()))
            except Exception:
                logger.exception("voice messages: the heartbeat of %s calls failed",
                                 len(self._in_flight))

    async def _dial(self, call: MessageCall) -> None:
        started = datetime.now(UTC)
        result = outbound.MessageResult(outbound.ERROR, 503)
        try:
            target = CallTarget(account_id=call.account_id, e164=call.recipient,
                                definition=None)
            pcm = await self.directory.prompt_pcm(target, call.prompt)
            result = await outbound.message_play(
                self.endpoint, self.gate, await self.directory.routes(call.recipient),
                caller=call.caller, callee=call.recipient.lstrip("+"), pcm=pcm,
                repeat=call.repeat)
        except Exception:
            logger.exception("voice message %s: the call failed", call.id)
        end = MessageCallEnd(
            status=result.status, sip_status=result.sip_status, started_at=started,
            ended_at=result.log.ended_at or datetime.now(UTC),
            answered_at=result.log.answered_at, sip_call_id=result.log.call_id,
            plays=result.plays, trunk=result.trunk)
        try:
            # The outcome is written in one transaction: a failed try wrote nothing, so it
            # is tried again (a locked database passes) rather than leaving the message
            # to be called a second time once its lease runs out.
            for attempt in range(FINISH_ATTEMPTS):
                try:
                    await self.directory.message_call_finish(call, end)
                    break
                except Exception:
                    if attempt == FINISH_ATTEMPTS - 1:
                        # Its lease runs out, and it is called again (at least once).
                        logger.exception("voice message %s: the outcome %s was not recorded",
                                         call.id, result.status)
                    else:
                        logger.warning("voice message %s: recording the outcome failed, "
                                       "trying again", call.id, exc_info=True)
                        await asyncio.sleep(0.2 * (attempt + 1))
        finally:
            self._in_flight.pop(call.id, None)


def run_voice(*, directory: EngineDirectory, auth_secret: bytes, host: str, port: int,
              answer_after: float = 0.0, port_file: str | None = None,
              stay_up: bool = False, control: tuple[str, int] | None = None,
              ice_servers: list[dict] | None = None,
              campaigns: CampaignDesk | None = None) -> None:
    """Serve on `directory` until SIGINT/SIGTERM (the engine closes it when it stops).
    With `stay_up` (under `chappe up`), a port already in use is logged and the role
    idles instead of crashing the other roles' supervisor."""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        engine = VoiceEngine(host, port, directory=directory, auth_secret=auth_secret,
                             answer_after=answer_after, control=control,
                             ice_servers=ice_servers, campaigns=campaigns)
        try:
            bound = await engine.start()
        except OSError as exc:
            if not stay_up:
                raise
            logger.error("voice engine not started: %s:%s: %s", host, port, exc)
            print(f"Voice engine NOT started ({host}:{port}: {exc}); set CHAPPE_VOICE_PORT.",
                  flush=True)
            await stop.wait()
            return
        if port_file:
            Path(port_file).write_text(str(bound[1]))
        print(f"Voice engine listening on {bound[0]}:{bound[1]} (UDP and TCP)", flush=True)
        await stop.wait()
        await engine.stop()

    asyncio.run(serve())
