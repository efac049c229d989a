"""The `chappe voice` process: the SIP endpoint, one CallRunner per inbound call, the
trunk gate (caps per trunk), and the database directory (numbers → flows, trunks,
prompts, call records).

The directory keeps what every call reads (the number → flow routing and the trunks)
for a few seconds: at hundreds of calls a second the same numbers are looked up again and
again. A change made through this process (flows, rentals, trunks: model signals) clears
it at once; one made by another process is seen within `ROUTING_TTL` seconds."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
import signal
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
)

from chappe.common.numbers import dialled_e164
from chappe.voice import routing_changes
from chappe.voice.callstate import seconds_between
from chappe.voice.flows import FlowDefinition, Prompt, flow_parse
from chappe.voice.media.prompts import SAMPLE_RATE, tts_render, wav_pcm, wav_write
from chappe.voice.runner import CallOutcome, CallRunner, CallTarget
from chappe.voice.sip.aiosipua_backend import DEFAULT_MIN_SE, AiosipuaEndpoint, RtpPorts
from chappe.voice.sip.base import InboundCall
from chappe.voice.trunking import TrunkGate, TrunkRoute, trunk_candidates

logger = logging.getLogger("chappe.voice")


# One worker thread for every database access of the engine: a persistent connection (no
# connect per call) and no writer contention on embedded SQLite. Call records are small;
# one thread writes several hundred a second.
_DB_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                     thread_name_prefix="voice-db")


def _db_close() -> None:
    try:
        connection.close()
    except DatabaseError:  # a connection shared from another thread (SQLite tests)
        logger.debug("database connection not closed", exc_info=True)


def _db(func):
    """Run a blocking ORM function on the engine's database thread."""

    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (InterfaceError, OperationalError):
            connection.close()  # a broken connection: the next call reconnects
            raise

    async def run(*args, **kwargs):
        return await asyncio.get_running_loop().run_in_executor(
            _DB_EXECUTOR, functools.partial(wrapper, *args, **kwargs))

    return run


ROUTING_TTL = 5.0
# Call records are written in batches, this long after the first call of a batch ended.
WRITE_DELAY = 0.05


class DjangoDirectory:
    """Directory on the database: rentals route calls, trunks carry them, outcomes become
    call records."""

    def __init__(self, prompt_cache_size: int = 256, routing_ttl: float = ROUTING_TTL) -> None:
        self._pcm: OrderedDict[tuple, bytes] = OrderedDict()
        self._cache_size = prompt_cache_size
        self._routing_ttl = routing_ttl
        self._routing: dict[str, tuple[float, object]] = {}
        self._generation = routing_changes.routing_generation()
        self._ended: list[CallOutcome] = []
        self._writer: asyncio.Task | None = None

    async def _cached(self, key: str, load):
        """`load()` on the database thread, kept `routing_ttl` seconds (module doc)."""
        if self._generation != routing_changes.routing_generation():
            self._generation = routing_changes.routing_generation()
            self._routing.clear()
        now = time.monotonic()
        hit = self._routing.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await _db(load)()
        if len(self._routing) > 10_000:
            self._routing.clear()
        self._routing[key] = (now + self._routing_ttl, value)
        return value

    async def resolve(self, callee: str, caller: str) -> CallTarget | None:
        e164 = dialled_e164(callee, default_country=settings.CHAPPE_DEFAULT_COUNTRY)
        if not e164:
            logger.info("no number in %r", callee)
            return None
        return await self._cached(e164, functools.partial(self._resolve, e164))

    @staticmethod
    def _resolve(e164: str) -> CallTarget | None:
        from chappe.callcenter.selectors import number_route, trunk_route

        rental = number_route(e164=e164)
        if rental is None:
            logger.info("no rented number %s", e164)
            return None
        version = rental.flow.current if rental.flow else None
        trunk = rental.number.trunk
        return CallTarget(account_id=str(rental.account_id), e164=e164,
                          definition=_parsed(version.pk, version.definition) if version
                          else None,
                          rental_id=str(rental.pk),
                          flow_version_id=str(version.pk) if version else None,
                          trunk=trunk_route(trunk) if trunk and trunk.is_active else None)

    async def routes(self, e164: str) -> list[TrunkRoute]:
        from chappe.callcenter.selectors import trunks_active

        return trunk_candidates(e164, await self._cached("trunks", trunks_active))

    async def prompt_pcm(self, target: CallTarget, prompt: Prompt) -> bytes:
        key = (target.account_id, prompt.text, prompt.language, prompt.voice, prompt.audio_id)
        if key in self._pcm:
            self._pcm.move_to_end(key)
            return self._pcm[key]
        pcm = await _db(self._render)(target.account_id, prompt)
        self._pcm[key] = pcm
        while len(self._pcm) > self._cache_size:
            self._pcm.popitem(last=False)
        return pcm

    @staticmethod
    def _render(account_id: str, prompt: Prompt) -> bytes:
        if prompt.text is not None:
            return wav_pcm(tts_render(text=prompt.text, language=prompt.language,
                                      voice=prompt.voice))
        from chappe.callcenter.models import AudioPrompt

        audio = AudioPrompt.objects.filter(account_id=account_id, pk=prompt.audio_id).first() \
            if _is_uuid(prompt.audio_id) else None
        if audio is None:
            logger.warning("audio prompt %s of account %s is gone", prompt.audio_id, account_id)
            return b""
        return wav_pcm(Path(settings.DATA_DIR) / audio.path)

    async def finish(self, outcome: CallOutcome) -> None:
        """Queue the outcome: the calls ending within `WRITE_DELAY` are written together
        (one transaction, one bulk insert), at hundreds of calls a second far cheaper
        than a transaction each."""
        self._ended.append(outcome)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        try:
            while self._ended:
                await asyncio.sleep(WRITE_DELAY)
                batch, self._ended = self._ended, []
                try:
                    await _db(self._store)(batch)
                except Exception:
                    # One bad outcome must not lose the others: one transaction each.
                    logger.exception("%s call records: batch failed, writing one by one",
                                     len(batch))
                    for outcome in batch:
                        try:
                            await _db(self._store)([outcome])
                        except Exception:
                            logger.exception("call %s: the call record could not be written",
                                             outcome.log.call_id)
        finally:
            self._writer = None

    async def close(self) -> None:
        """Write what is still queued."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    @staticmethod
    def _store(outcomes: list[CallOutcome]) -> None:
        from chappe.callcenter.models import CallRecord, Voicemail
        from chappe.callcenter.services import call_records_store

        records, voicemails = [], []
        for outcome in outcomes:
            log, target = outcome.log, outcome.target
            record = CallRecord(
                account_id=target.account_id, sip_call_id=log.call_id, direction="inbound",
                from_number=outcome.caller[:64], to_number=target.e164,
                rental_id=target.rental_id, flow_version_id=target.flow_version_id,
                started_at=log.started_at, answered_at=log.answered_at,
                ended_at=log.ended_at,
                duration_seconds=seconds_between(log.answered_at, log.ended_at),
                disposition=outcome.disposition, hangup_cause=outcome.hangup_cause,
                flow_path=list(outcome.state.path), digits=outcome.state.digits[:64],
                transitions=log.transitions)
            records.append(record)
            records.extend(CallRecord(
                account_id=target.account_id, sip_call_id=leg.log.call_id, parent=record,
                direction="outbound", from_number=leg.caller, to_number=leg.callee,
                started_at=leg.log.started_at, answered_at=leg.log.answered_at,
                ended_at=leg.log.ended_at,
                duration_seconds=seconds_between(leg.log.answered_at, leg.log.ended_at),
                disposition=leg.disposition, hangup_cause=leg.hangup_cause[:64],
                transitions=leg.log.transitions) for leg in outcome.legs)
            if outcome.recording:
                relative = f"voice/voicemails/{target.account_id}/{record.pk}.wav"
                wav_write(Path(settings.DATA_DIR) / relative, outcome.recording)
                voicemails.append(Voicemail(
                    account_id=target.account_id, call=record, path=relative,
                    duration_ms=len(outcome.recording) * 1000 // (2 * SAMPLE_RATE)))
        call_records_store(records=records, voicemails=voicemails)
        for outcome in outcomes:
            media = outcome.media
            logger.info("call %s account %s: %s, %s s, path %s, codec %s, "
                        "rtp frames sent %s, late %s", outcome.log.call_id,
                        outcome.target.account_id, outcome.disposition,
                        seconds_between(outcome.log.answered_at, outcome.log.ended_at),
                        "/".join(outcome.state.path), media.get("codec"),
                        media.get("frames_sent"), media.get("late_frames"))
            for leg in outcome.legs:
                logger.info("call %s: leg %s to %s: %s, %s, %s s, media %s",
                            outcome.log.call_id, leg.log.call_id, leg.callee, leg.disposition,
                            leg.hangup_cause,
                            seconds_between(leg.log.answered_at, leg.log.ended_at), leg.media)


@functools.lru_cache(maxsize=1024)
def _parsed_cached(version_id, text: str) -> FlowDefinition:
    return flow_parse(json.loads(text))


def _parsed(version_id, definition: dict) -> FlowDefinition:
    """Versions are immutable: parse each one once."""
    return _parsed_cached(version_id, json.dumps(definition, sort_keys=True))


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


class VoiceEngine:
    """The endpoint plus a runner per call."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5060, *, directory=None,
                 answer_after: float = 0.0, rtp_ports: tuple[int, int] = (20000, 29998),
                 dialer: bool = True, dialer_poll: float = 1.0,
                 min_se: int = DEFAULT_MIN_SE) -> None:
        self.endpoint = AiosipuaEndpoint(host, port, rtp_ports=RtpPorts(*rtp_ports),
                                         min_se=min_se)
        self.endpoint.on_call = self._on_call
        self.directory = directory or DjangoDirectory()
        self.answer_after = answer_after
        self.calls_handled = 0
        self.gate = TrunkGate()
        self.dialer, self.dialer_poll = dialer, dialer_poll
        self._dialer_task: asyncio.Task | None = None
        self._dialing: set[asyncio.Task] = set()

    async def start(self) -> tuple[str, int]:
        bound = await self.endpoint.start()
        if self.dialer:
            self._dialer_task = asyncio.get_running_loop().create_task(self._dial_loop())
        return bound

    async def stop(self) -> None:
        for task in [self._dialer_task, *self._dialing]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*[t for t in [self._dialer_task, *self._dialing] if t],
                             return_exceptions=True)
        await self.endpoint.stop()
        await self.directory.close()
        # Give the database thread's connection back (a test database can then be dropped).
        await asyncio.get_running_loop().run_in_executor(_DB_EXECUTOR, _db_close)

    async def _on_call(self, call: InboundCall) -> None:
        self.calls_handled += 1
        await CallRunner(call, self.directory, originator=self.endpoint, gate=self.gate,
                         auth_secret=settings.SECRET_KEY.encode(),
                         answer_after=self.answer_after).run()

    # --- TTS voice messages (M-1) ---------------------------------------------------------

    async def _dial_loop(self) -> None:
        while True:
            try:
                claimed = await _db(_claim_due)()
            except Exception:
                logger.exception("voice messages: claiming due calls failed")
                claimed = []
            for item in claimed:
                task = asyncio.get_running_loop().create_task(self._dial(item))
                self._dialing.add(task)
                task.add_done_callback(self._dialing.discard)
            await asyncio.sleep(0 if claimed else self.dialer_poll)

    async def _dial(self, item: dict) -> None:
        from chappe.voice.outbound import message_play

        started = datetime.now(UTC)
        status, sip_status, answered, ended, sip_call_id = "failed", 503, None, None, ""
        try:
            target = CallTarget(account_id=item["account_id"], e164=item["recipient"],
                                definition=None)
            pcm = await self.directory.prompt_pcm(target, item["prompt"])
            result = await message_play(
                self.endpoint, self.gate, await self.directory.routes(item["recipient"]),
                caller=item["caller"], callee=item["recipient"].lstrip("+"), pcm=pcm,
                repeat=item["repeat"])
            status, sip_status = result.status, result.sip_status
            answered, ended = result.log.answered_at, result.log.ended_at
            sip_call_id = result.log.call_id
        except Exception:
            logger.exception("voice message call %s failed", item["id"])
        await _db(_finish_call)(item["id"], status, sip_status, answered,
                                ended or datetime.now(UTC), started, sip_call_id)


def _claim_due() -> list[dict]:
    from chappe.callcenter.voice_messages import voice_calls_claim

    return [{"id": c.pk, "account_id": str(c.account_id), "recipient": c.recipient,
             "caller": (c.message.caller_id or "anonymous").lstrip("+"),
             "repeat": c.message.repeat,
             "prompt": Prompt(text=c.message.text, language=c.message.language,
                              voice=c.message.voice or None)}
            for c in voice_calls_claim()]


def _finish_call(call_id, status, sip_status, answered, ended, started, sip_call_id) -> None:
    from chappe.callcenter.voice_messages import voice_call_finish

    voice_call_finish(call_id=call_id, status=status, sip_status=sip_status,
                      answered_at=answered, ended_at=ended, started_at=started,
                      sip_call_id=sip_call_id)


def run_voice(*, host: str, port: int, answer_after: float = 0.0,
              port_file: str | None = None, stay_up: bool = False) -> None:
    """Serve until SIGINT/SIGTERM. With `stay_up` (under `chappe up`), a port already in
    use is logged and the role idles instead of crashing the other roles' supervisor."""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        engine = VoiceEngine(host, port, answer_after=answer_after)
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
