"""The voice engine's directory on the database (chappe.voice.directory.EngineDirectory):
rentals route calls, trunks carry them, prompts are rendered or loaded, outcomes become
call records and voicemails. TTS voice messages come from the messaging channel the role
hands in (`message_calls`, a chappe.voice.directory.MessageCalls: claimed, heartbeats,
outcomes), each call placed getting its call record here. The `chappe voice` role builds
the directory and hands it to the engine (chappe/runtime/cli.py).

Every database access runs on the directory's one worker thread: a persistent connection
(no connect per call) and no writer contention on embedded SQLite. Call records are
small; one thread writes several hundred a second. The thread is the directory's, made
with it and given back by `close()` when the engine stops.

The directory keeps what every call reads (the number → flow routing and the trunks)
for a few seconds: at hundreds of calls a second the same numbers are looked up again and
again. A change made through this process (flows, rentals, trunks: `routing_changes`)
clears it at once; one made by another process is seen within `ROUTING_TTL` seconds."""

import asyncio
import functools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from chappe.accounts.models import Account, ServiceKind, SuspensionReason
from chappe.accounts.services import service_require
from chappe.callcenter import routing_changes
from chappe.callcenter.models import AudioPrompt, CallRecord, Disposition, Voicemail
from chappe.callcenter.recordings import recording_keep
from chappe.callcenter.selectors import number_route, trunk_route, trunks_active
from chappe.callcenter.services import call_records_store, message_call_record
from chappe.common.errors import ServiceRefused
from chappe.common.lookup import is_uuid
from chappe.common.numbers import dialled_e164
from chappe.voice.callstate import seconds_between
from chappe.voice.directory import (
    CallOutcome,
    CallTarget,
    MessageCall,
    MessageCallEnd,
    MessageCalls,
    QueueDesk,
    Refusal,
    SipCredentials,
)
from chappe.voice.flows import FlowDefinition, Prompt, flow_parse
from chappe.voice.media.prompts import SAMPLE_RATE, prompts_dir, tts_render, wav_pcm, wav_write
from chappe.voice.outbound import ANSWERED, LISTENED, PLACED
from chappe.voice.trunking import TrunkRoute, trunk_candidates

# The engine's log, where these lines have always been.
logger = logging.getLogger("chappe.voice")

ROUTING_TTL = 5.0
# Call records are written in batches, this long after the first call of a batch ended.
WRITE_DELAY = 0.05
# Voice messages claimed at a time.
MESSAGE_CLAIM_LIMIT = 50


class _DatabaseThread:
    """The one thread every database access of a directory runs on (module doc)."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-db")

    async def run[T](self, func: Callable[..., T], *args: Any) -> T:
        """`func(*args)` on the thread; a broken connection is closed, so the next call
        reconnects."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(_guarded, func, *args))

    async def close(self) -> None:
        """Give the thread's connection back (a test database can then be dropped) and
        end the thread."""
        await asyncio.get_running_loop().run_in_executor(self._executor, _connection_close)
        self._executor.shutdown()


def _guarded[T](func: Callable[..., T], *args: Any) -> T:
    try:
        return func(*args)
    except (InterfaceError, OperationalError):
        connection.close()
        raise


def _connection_close() -> None:
    try:
        connection.close()
    except DatabaseError:  # a connection shared from another thread (SQLite tests)
        logger.debug("database connection not closed", exc_info=True)


class DjangoDirectory:
    """Directory on the database: rentals route calls, trunks carry them, outcomes become
    call records. `data_dir` holds the recordings and prompts; `default_country` reads
    dialled numbers written without a country code; `message_calls` is the TTS channel
    (none: the engine calls no voice message); `phone_users` gives the SIP credentials of
    a username and `queue_desk` the queues (both the agents app's, wired by the voice
    role: without them no phone registers and no call enters a queue)."""

    def __init__(self, *, data_dir: Path, default_country: str,
                 message_calls: MessageCalls | None = None,
                 phone_users: Callable[[str], SipCredentials | None] | None = None,
                 queue_desk: QueueDesk | None = None,
                 prompt_cache_size: int = 256,
                 routing_ttl: float = ROUTING_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._data_dir = Path(data_dir)
        self._message_calls = message_calls
        self._phone_users = phone_users
        self._prompts_dir = prompts_dir(self._data_dir)
        self._default_country = default_country
        self._db = _DatabaseThread()
        self._pcm: OrderedDict[tuple, bytes] = OrderedDict()
        self._cache_size = prompt_cache_size
        self._routing_ttl = routing_ttl
        self._clock = clock
        self._routing: dict[str, tuple[float, object]] = {}
        self._generation = routing_changes.routing_generation()
        self._ended: list[CallOutcome] = []
        self._writer: asyncio.Task | None = None
        self.queues = _OnThread(self._db, queue_desk) if queue_desk is not None else None

    async def _cached(self, key: str, load):
        """`load()` on the database thread, kept `routing_ttl` seconds (module doc)."""
        if self._generation != routing_changes.routing_generation():
            self._generation = routing_changes.routing_generation()
            self._routing.clear()
        now = self._clock()
        hit = self._routing.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await self._db.run(load)
        if len(self._routing) > 10_000:
            self._routing.clear()
        self._routing[key] = (now + self._routing_ttl, value)
        return value

    async def resolve(self, callee: str, caller: str) -> CallTarget | None:
        e164 = dialled_e164(callee, default_country=self._default_country)
        if not e164:
            logger.info("no number in %r", callee)
            return None
        return await self._cached(e164, functools.partial(self._resolve, e164))

    @staticmethod
    def _resolve(e164: str) -> CallTarget | None:
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
                          trunk=trunk_route(trunk) if trunk and trunk.is_active else None,
                          refusal=_refusal(rental.account))

    async def routes(self, e164: str) -> list[TrunkRoute]:
        return trunk_candidates(e164, await self._cached("trunks", trunks_active))

    async def prompt_pcm(self, target: CallTarget, prompt: Prompt) -> bytes:
        key = (target.account_id, prompt.text, prompt.language, prompt.voice, prompt.audio_id)
        if key in self._pcm:
            self._pcm.move_to_end(key)
            return self._pcm[key]
        pcm = await self._db.run(self._render, target.account_id, prompt)
        self._pcm[key] = pcm
        while len(self._pcm) > self._cache_size:
            self._pcm.popitem(last=False)
        return pcm

    def _render(self, account_id: str, prompt: Prompt) -> bytes:
        if prompt.text is not None:
            return wav_pcm(tts_render(text=prompt.text, language=prompt.language,
                                      voice=prompt.voice, cache_dir=self._prompts_dir))
        audio = AudioPrompt.objects.filter(account_id=account_id, pk=prompt.audio_id).first() \
            if is_uuid(prompt.audio_id) else None
        if audio is None:
            logger.warning("audio prompt %s of account %s is gone", prompt.audio_id, account_id)
            return b""
        return wav_pcm(self._data_dir / audio.path)

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
                    await self._db.run(self._store, batch)
                except Exception:
                    # One bad outcome must not lose the others: one transaction each.
                    logger.exception("%s call records: batch failed, writing one by one",
                                     len(batch))
                    for outcome in batch:
                        try:
                            await self._db.run(self._store, [outcome])
                        except Exception:
                            logger.exception("call %s: the call record could not be written",
                                             outcome.log.call_id)
        finally:
            self._writer = None

    async def close(self) -> None:
        """Write what is still queued, then give the database thread back."""
        while self._writer is not None:
            await asyncio.shield(self._writer)
        await self._db.close()

    def _store(self, outcomes: list[CallOutcome]) -> None:
        records, voicemails, conversations = [], [], []
        for outcome in outcomes:
            log, target = outcome.log, outcome.target
            record = CallRecord(
                account_id=target.account_id, sip_call_id=log.call_id,
                direction=outcome.direction,
                from_number=outcome.caller[:64], to_number=target.e164,
                rental_id=target.rental_id, flow_version_id=target.flow_version_id,
                started_at=log.started_at, answered_at=log.answered_at,
                ended_at=log.ended_at,
                duration_seconds=seconds_between(log.answered_at, log.ended_at),
                disposition=outcome.disposition, hangup_cause=outcome.hangup_cause,
                flow_path=list(outcome.state.path), digits=outcome.state.digits[:64],
                transitions=log.transitions,
                **(_queue_fields(outcome) or ({"agent_id": outcome.agent_id}
                                              if outcome.agent_id else {})))
            records.append(record)
            if outcome.conversation is not None:
                conversations.append((outcome, record))
            records.extend(CallRecord(
                account_id=target.account_id, sip_call_id=leg.log.call_id, parent=record,
                direction=leg.direction, from_number=leg.caller, to_number=leg.callee,
                started_at=leg.log.started_at, answered_at=leg.log.answered_at,
                ended_at=leg.log.ended_at,
                duration_seconds=seconds_between(leg.log.answered_at, leg.log.ended_at),
                disposition=leg.disposition, hangup_cause=leg.hangup_cause[:64],
                transitions=leg.log.transitions) for leg in outcome.legs)
            if outcome.recording:
                relative = f"voice/voicemails/{target.account_id}/{record.pk}.wav"
                wav_write(self._data_dir / relative, outcome.recording)
                voicemails.append(Voicemail(
                    account_id=target.account_id, call=record, path=relative,
                    duration_ms=len(outcome.recording) * 1000 // (2 * SAMPLE_RATE)))
        call_records_store(records=records, voicemails=voicemails)
        for outcome, record in conversations:
            # After the records are written, and never failing the batch (it would be
            # written again): a recording that cannot be kept is logged and dropped.
            try:
                recording_keep(record=record, wav=outcome.conversation, data_dir=self._data_dir)
            except Exception:
                logger.exception("call %s: its recording could not be kept",
                                 outcome.log.call_id)
                outcome.conversation.unlink(missing_ok=True)
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

    # --- agents' phones (the registrar) ----------------------------------------------------

    async def sip_credentials(self, username: str) -> SipCredentials | None:
        if self._phone_users is None:
            return None
        return await self._db.run(self._phone_users, username)

    # --- TTS voice messages (M-1) ---------------------------------------------------------

    async def message_calls_claim(self) -> list[MessageCall]:
        if self._message_calls is None:
            return []
        return await self._db.run(functools.partial(self._message_calls.claim,
                                                    limit=MESSAGE_CLAIM_LIMIT))

    async def message_calls_extend(self, calls: list[MessageCall]) -> None:
        if self._message_calls is not None:
            await self._db.run(self._message_calls.extend, [call.id for call in calls])

    async def message_call_finish(self, call: MessageCall, end: MessageCallEnd) -> None:
        if self._message_calls is not None:
            await self._db.run(self._message_call_finish, call, end)

    def _message_call_finish(self, call: MessageCall, end: MessageCallEnd) -> None:
        """The message's outcome and, when a call was placed, its call record: one
        transaction."""
        assert self._message_calls is not None
        with transaction.atomic():
            ref = ""
            if end.status in PLACED:
                answered = end.status in (LISTENED, ANSWERED)
                ref = str(message_call_record(
                    account_id=call.account_id, caller=f"+{call.caller}"
                    if call.caller.isdigit() else call.caller, callee=call.recipient,
                    disposition=Disposition.ANSWERED if answered else end.status,
                    sip_status=end.sip_status, sip_call_id=end.sip_call_id or f"tts:{call.id}",
                    started_at=end.started_at, answered_at=end.answered_at,
                    ended_at=end.ended_at).pk)
            self._message_calls.finish(call, end, call_ref=ref)


class _OnThread:
    """A synchronous desk's methods, awaited: each runs on the directory's database
    thread (chappe.voice.directory.AsyncQueueDesk over QueueDesk)."""

    def __init__(self, db: _DatabaseThread, desk: QueueDesk) -> None:
        self._db, self._desk = db, desk

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._desk, name)

        async def on_thread(*args: Any, **kwargs: Any) -> Any:
            return await self._db.run(functools.partial(method, *args, **kwargs))

        return on_thread


def _queue_fields(outcome: CallOutcome) -> dict[str, Any]:
    """The call record's queue, agent and wait: the last queue the call waited in."""
    visits = [v for v in outcome.queues if is_uuid(v.queue_id)]
    if not visits:
        return {}
    last = visits[-1]
    return {"queue_id": last.queue_id, "agent_id": last.agent_id or None,
            "queue_wait_seconds": last.wait_seconds}


# Suspensions a caller may simply try again after: 480 rather than 403.
PASSING = frozenset({SuspensionReason.MAINTENANCE, SuspensionReason.SUPPLIER_OUTAGE})


def _refusal(account: Account) -> Refusal | None:
    """Why the account's numbers take no call now (P-8: the account, its contact-center
    service or a parent's is suspended or ended), or None. The caller gets 480 for a
    maintenance or an outage, 403 otherwise; never the reason itself (it is the
    account's business): that goes in the call record."""
    try:
        service_require(account=account, kind=ServiceKind.CONTACT_CENTER)
    except ServiceRefused as exc:
        why = exc.details.get("reason", "")
        detail = f"{exc.code}: {why}" if why else exc.code
        if why in PASSING:
            return Refusal(480, "Temporarily Unavailable", detail)
        return Refusal(403, "Service Suspended" if exc.code.endswith("_suspended")
                       else "Service Not Available", detail)
    return None


@functools.lru_cache(maxsize=1024)
def _parsed_cached(version_id, text: str) -> FlowDefinition:
    return flow_parse(json.loads(text))


def _parsed(version_id, definition: dict) -> FlowDefinition:
    """Versions are immutable: parse each one once."""
    return _parsed_cached(version_id, json.dumps(definition, sort_keys=True))
