"""The queues' desk the voice engine works with (chappe.voice.directory.QueueDesk): the
pure choice of `acd` applied to the agents in the database, their states moved through
the services, and the callers' side of the queue event log written.

It lives in the engine's process and runs on its database directory's one thread: the
callers waiting in each queue are kept here, in memory (`acd.WaitingCallers`), for that
engine's calls; the agents are shared through the database, and an agent moves to
`ringing` under their row lock, so two engines never offer one agent two calls.

Overflows (C-4): a caller the queue cannot keep — closed (its opening hours), full,
nobody logged in, waited too long — goes where the queue says for that reason, as a flow
the engine switches to (another queue, voicemail, an outside number, a call flow); without
one, the flow's own `queue` step goes on at its `next`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import unquote

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from chappe.agents.acd import (
    Caller,
    Overflow,
    State,
    WaitingCallers,
    admit,
    caller_priority,
    choose,
    expected_wait,
    leaving,
)
from chappe.agents.models import (
    Agent,
    CallbackRequest,
    OverflowTarget,
    OverflowWhen,
    Queue,
    QueueEvent,
    QueueEventKind,
    QueueOverflow,
)
from chappe.agents.selectors import (
    priority_rules,
    queue_logged_in,
    queue_snapshot,
    queue_spec,
)
from chappe.agents.services.states import (
    agent_call_end,
    agent_connect,
    agent_feature_code,
    agent_offer,
    agent_offer_withdrawn,
    agent_own_call,
    agent_phone_lost,
    agent_rang_out,
    agent_wrap_up_end,
    queue_caller_event,
)
from chappe.callcenter.call_events import call_event
from chappe.common.errors import ChappeError, Conflict
from chappe.common.lookup import is_uuid
from chappe.common.numbers import dialled_e164
from chappe.voice.directory import (
    QueueCall,
    QueueEntry,
    QueueLeaving,
    QueueOffer,
    QueueTick,
    QueueVisit,
    TransferTarget,
)
from chappe.voice.flows import FlowDefinition, OpeningHours, Prompt, flow_parse, is_open

logger = logging.getLogger("chappe.agents.desk")

# A caller arriving while the queue is closed (its opening hours) leaves for this reason.
CLOSED = OverflowWhen.CLOSED.value


@dataclass(frozen=True)
class _Stay:
    """A caller waiting in one of this engine's queues."""

    call: QueueCall
    caller: Caller
    position: int  # when they entered


class QueueDesk:
    """chappe.voice.directory.QueueDesk on the database (module doc); `clock` gives now."""

    def __init__(self, *, clock: Callable[[], datetime] = timezone.now) -> None:
        self._clock = clock
        self._waiting: dict[str, WaitingCallers] = {}
        self._stays: dict[str, _Stay] = {}
        # (call, agent) → queue of the calls agents answered, until they end.
        self._talking: dict[tuple[str, str], str] = {}
        # (call, agent) → queue of the offers made straight to an agent (transfers).
        self._direct: dict[tuple[str, str], str] = {}

    # --- callers --------------------------------------------------------------------------

    def enter(self, call: QueueCall) -> QueueEntry:
        queue = (Queue.objects.filter(pk=call.queue_id, account_id=call.account_id).first()
                 if is_uuid(call.queue_id) else None)
        if queue is None:  # deleted, or another account's: never entered
            logger.warning("call %s: no queue %s in account %s", call.call_id, call.queue_id,
                           call.account_id)
            return QueueEntry(admitted=False, reason="unknown")
        now = self._clock()
        if queue.hours is not None and not is_open(OpeningHours.model_validate(queue.hours),
                                                   now):
            return QueueEntry(admitted=False, reason=CLOSED,
                              overflow=self._overflow(queue, call, CLOSED, now))
        spec = queue_spec(queue=queue, with_skills=False)  # what `admit` reads
        waiting = self._waiting.setdefault(str(queue.pk), WaitingCallers())
        # Who is logged in matters only to a queue that overflows when nobody is: counted
        # then (one COUNT), not otherwise.
        refused = admit(spec, waiting=len(waiting),
                        logged_in=queue_logged_in(queue=queue)
                        if spec.overflow_when_no_agent else 1)
        if refused is not None:
            return QueueEntry(admitted=False, reason=refused.value,
                              overflow=self._overflow(queue, call, refused.value, now))
        priority = call.priority if call.priority is not None else caller_priority(
            rules=priority_rules(queue=queue), caller_number=call.caller,
            dialled_number=call.dialled, branch=call.branch)  # the CRM's first (0042)
        caller = Caller(id=call.call_id, entered_at=now, priority=priority)
        waiting.add(caller)
        position = _position(waiting, call.call_id)
        self._stays[call.call_id] = _Stay(call, caller, position)
        queue_caller_event(account=queue.account, queue=queue, kind=QueueEventKind.ENTERED,
                           call_id=call.call_id, now=now,
                           details={"priority": priority, "position": position,
                                    "branch": call.branch})
        return QueueEntry(admitted=True, announce_seconds=queue.announce_seconds,
                          hold=Prompt(audio_id=str(queue.hold_audio_id))
                          if queue.hold_audio_id else None,
                          record=queue.recording, notice=_recording_notice(queue),
                          callback_key=queue.callback_key,
                          callback_goodbye=_callback_goodbye(queue))

    def tick(self, queue_id: str) -> QueueTick:
        waiting = self._waiting.get(queue_id)
        if not waiting:
            return QueueTick()
        queue = Queue.objects.filter(pk=queue_id).select_related("account").first()
        now = self._clock()
        if queue is None:  # deleted while callers wait: they go on in their flows
            return QueueTick(leaving=[QueueLeaving(c.id, Overflow.NO_AGENT.value)
                                      for c in list(waiting) if self._drop(c.id)])
        self._wrap_ups_end(queue, now)
        spec, members = queue_snapshot(queue=queue)
        gone = []
        for call_id, why in leaving(spec, waiting, logged_in=_logged_in(members), now=now):
            stay = self._drop(call_id)
            if stay is not None:
                gone.append(QueueLeaving(call_id, why.value, self._overflow(
                    queue, stay.call, why.value, now, waited=_seconds(stay.caller, now))))
        offers = []
        for offer in choose(spec, waiting, members, now):
            if self._offer(queue, offer.caller_id, offer.agent_id, now):
                offers.append(QueueOffer(offer.caller_id, offer.agent_id,
                                         offer.ring_timeout_seconds))
        return QueueTick(offers=offers, leaving=gone,
                         announcements=self._announcements(queue, waiting,
                                                           agents=_logged_in(members)))

    def abandoned(self, call: QueueCall) -> QueueVisit:
        return self._abandon(call, cause="caller_hangup")

    def leave(self, call: QueueCall) -> None:
        self._abandon(call, cause="engine_stop")

    def callback(self, call: QueueCall) -> QueueVisit:
        now = self._clock()
        stay = self._stays.get(call.call_id)
        queue = Queue.objects.filter(pk=call.queue_id, account_id=call.account_id) \
            .select_related("account").first()
        if stay is None or queue is None:
            return QueueVisit(call.queue_id, outcome="abandoned")
        position = _position(self._waiting[call.queue_id], call.call_id)
        self._drop(call.call_id)
        wait = _seconds(stay.caller, now)
        with transaction.atomic():
            self._callback_write(queue, call, stay, now, position=position, wait=wait)
        return QueueVisit(call.queue_id, wait_seconds=wait, outcome="callback")

    @staticmethod
    def _callback_write(queue: Queue, call: QueueCall, stay: _Stay, now: datetime, *,
                        position: int, wait: int) -> None:
        CallbackRequest.objects.create(
            account_id=queue.account_id, queue=queue, call_id=call.call_id,
            number=call.caller[:64], priority=stay.caller.priority,
            entered_at=stay.caller.entered_at, requested_at=now)
        queue_caller_event(account=queue.account, queue=queue, kind=QueueEventKind.CALLBACK,
                           call_id=call.call_id, now=now,
                           details={"position": position, "wait": wait})

    def _abandon(self, call: QueueCall, *, cause: str) -> QueueVisit:
        now = self._clock()
        stay = self._stays.get(call.call_id)
        if stay is None:
            return QueueVisit(call.queue_id, outcome="abandoned")
        position = _position(self._waiting[call.queue_id], call.call_id)
        self._drop(call.call_id)
        wait = _seconds(stay.caller, now)
        queue = Queue.objects.filter(pk=call.queue_id, account_id=call.account_id).first()
        if queue is not None:
            queue_caller_event(account=queue.account, queue=queue,
                               kind=QueueEventKind.ABANDONED, call_id=call.call_id, now=now,
                               details={"position": position, "wait": wait, "cause": cause,
                                        "original_position": stay.position})
        return QueueVisit(call.queue_id, wait_seconds=wait, outcome="abandoned")

    # --- offers ---------------------------------------------------------------------------

    def _offer(self, queue: Queue, call_id: str, agent_id: str, now: datetime) -> bool:
        """Move the agent to ringing (their row locked: nobody else offers them this
        call's instant); False when they changed state meanwhile."""
        agent = Agent.objects.filter(pk=agent_id, account_id=queue.account_id).first()
        if agent is None:
            return False
        try:
            agent_offer(account=queue.account, agent=agent, queue=queue, call_id=call_id, now=now)
        except Conflict:
            return False
        self._ringing(queue_id=str(queue.pk), call_id=call_id, add=agent_id)
        return True

    def rang_out(self, offer: QueueOffer, *, withdrawn: bool) -> None:
        stay = self._stays.get(offer.call_id)
        queue_id = (stay.call.queue_id if stay
                    else self._direct.pop((offer.call_id, offer.agent_id), None))
        if stay is not None:
            self._ringing(queue_id=stay.call.queue_id, call_id=offer.call_id,
                          remove=offer.agent_id)
        agent, queue = self._agent_and_queue(offer, queue_id)
        if agent is None:
            return
        now = self._clock()
        if withdrawn:
            agent_offer_withdrawn(account=agent.account, agent=agent, now=now)
        elif queue is not None:
            agent_rang_out(account=agent.account, agent=agent, queue=queue,
                           call_id=offer.call_id, now=now)

    def connected(self, offer: QueueOffer) -> QueueVisit:
        now = self._clock()
        stay = self._stays.get(offer.call_id)
        queue_id = (stay.call.queue_id if stay
                    else self._direct.pop((offer.call_id, offer.agent_id), ""))
        wait = _seconds(stay.caller, now) if stay else 0
        self._drop(offer.call_id)
        self._talking[(offer.call_id, offer.agent_id)] = queue_id
        agent, queue = self._agent_and_queue(offer, queue_id or None)
        if agent is not None and queue is not None:
            try:
                agent_connect(account=agent.account, agent=agent, queue=queue,
                              call_id=offer.call_id, wait_seconds=wait, now=now)
            except Conflict:  # paused while their phone rang, and answered it anyway
                logger.warning("call %s: agent %s answered in state %s", offer.call_id,
                               offer.agent_id, agent.state)
        return QueueVisit(queue_id, agent_id=offer.agent_id, wait_seconds=wait)

    def completed(self, offer: QueueOffer, *, talk_seconds: int) -> None:
        agent = Agent.objects.filter(pk=offer.agent_id).select_related("account").first()
        queue_id = self._talking.pop((offer.call_id, offer.agent_id), None)
        queue = (Queue.objects.filter(pk=queue_id, account_id=agent.account_id).first()
                 if agent is not None and queue_id else None)
        if agent is None or queue is None:
            return
        try:
            agent_call_end(account=agent.account, agent=agent, queue=queue,
                           call_id=offer.call_id, talk_seconds=talk_seconds, now=self._clock())
        except Conflict:
            logger.warning("call %s: agent %s ended a call in state %s", offer.call_id,
                           offer.agent_id, agent.state)

    # --- transfers (an agent's REFER) -----------------------------------------------------

    def transfer_target(self, account_id: str, target: str) -> TransferTarget | None:
        """An agent by extension, else a queue by name (case aside; %-escapes read), else
        an outside number (dialled as a phone would: national or international)."""
        name = unquote(target)
        agent = Agent.objects.filter(account_id=account_id, extension=name).first()
        if agent is not None:
            return TransferTarget("agent", str(agent.pk), agent.extension)
        queue = Queue.objects.filter(account_id=account_id, name__iexact=name).first()
        if queue is not None:
            return TransferTarget("queue", str(queue.pk), queue.name)
        e164 = dialled_e164(name, default_country=settings.CHAPPE_DEFAULT_COUNTRY)
        return TransferTarget("number", e164, e164) if e164 else None

    def transferred(self, offer: QueueOffer, *, target: TransferTarget,
                    talk_seconds: int) -> None:
        queue_id = self._talking.get((offer.call_id, offer.agent_id))
        queue = Queue.objects.filter(pk=queue_id).select_related("account").first() \
            if queue_id else None
        self.completed(offer, talk_seconds=talk_seconds)
        if queue is not None:
            queue_caller_event(account=queue.account, queue=queue,
                               kind=QueueEventKind.TRANSFERRED, call_id=offer.call_id,
                               now=self._clock(),
                               # An outside number stays out of the log (append-only: an
                               # erasure could not reach it); the call record's leg has it.
                               details={"target": target.kind,
                                        "to": "" if target.kind == "number" else target.label,
                                        "by_agent": offer.agent_id})

    def offer_direct(self, call: QueueCall, agent_id: str) -> QueueOffer | None:
        queue = Queue.objects.filter(pk=call.queue_id, account_id=call.account_id) \
            .select_related("account").first()
        if queue is None or not self._offer(queue, call.call_id, agent_id, self._clock()):
            return None
        self._direct[(call.call_id, agent_id)] = str(queue.pk)
        return QueueOffer(call.call_id, agent_id, queue.ring_timeout_seconds)

    # --- phones ---------------------------------------------------------------------------

    def feature_code(self, agent_id: str, code: str) -> Prompt:
        agent = Agent.objects.filter(pk=agent_id).select_related("account", "user").first()
        language = "en" if agent is not None and agent.user.language == "en" else "fr"
        with translation.override(language):
            if agent is None:
                text = _("This phone belongs to no agent.")
            else:
                try:
                    text = agent_feature_code(account=agent.account, agent=agent, code=code,
                                              now=self._clock()).message
                except ChappeError as exc:
                    text = str(exc.message)
        return Prompt(text=text, language=language)

    def phone_lost(self, agent_id: str, reason: str) -> None:
        agent = Agent.objects.filter(pk=agent_id).select_related("account").first()
        if agent is not None:
            agent_phone_lost(account=agent.account, agent=agent, reason=reason,
                             now=self._clock())

    def own_call(self, agent_id: str, *, busy: bool) -> bool:
        agent = Agent.objects.filter(pk=agent_id).select_related("account").first()
        if agent is None:
            return False
        return agent_own_call(account=agent.account, agent=agent, busy=busy,
                              now=self._clock())

    def call_event(self, account_id: str, kind: str, payload: dict) -> None:
        if kind in ("call.ringing", "call.answered"):
            call_event(account_id=account_id, type=kind, payload=payload,
                       subject_id=str(payload.get("call_id", "")))

    # --- helpers --------------------------------------------------------------------------

    def _agent_and_queue(self, offer: QueueOffer, queue_id: str | None):
        agent = Agent.objects.filter(pk=offer.agent_id).select_related("account").first()
        if agent is None:
            return None, None
        queue = Queue.objects.filter(pk=queue_id, account_id=agent.account_id).first() \
            if queue_id else None
        return agent, queue

    def _ringing(self, *, queue_id: str, call_id: str, add: str = "", remove: str = "") -> None:
        """Keep the waiting caller's set of ringing agents (what `choose` reads)."""
        stay = self._stays.get(call_id)
        waiting = self._waiting.get(queue_id)
        if stay is None or waiting is None:
            return
        ringing = (stay.caller.ringing | {add}) - {remove, ""}
        caller = replace(stay.caller, ringing=frozenset(ringing))
        waiting.remove(stay.caller)
        waiting.add(caller)
        self._stays[call_id] = replace(stay, caller=caller)

    def _drop(self, call_id: str) -> _Stay | None:
        stay = self._stays.pop(call_id, None)
        if stay is not None:
            waiting = self._waiting.get(stay.call.queue_id)
            if waiting is not None:
                waiting.remove(stay.caller)
                if not len(waiting):
                    del self._waiting[stay.call.queue_id]
        return stay

    def _wrap_ups_end(self, queue: Queue, now: datetime) -> None:
        """The queue's members whose wrap-up time is over become available."""
        due = Agent.objects.filter(account_id=queue.account_id, memberships__queue=queue,
                                   state=State.WRAP_UP).select_related("account")
        for agent in due:
            if agent.state_changed_at + timedelta(seconds=agent.wrap_up_seconds) <= now:
                agent_wrap_up_end(account=agent.account, agent=agent, now=now)

    def _overflow(self, queue: Queue, call: QueueCall, why: str, now: datetime, *,
                  waited: int = 0) -> FlowDefinition | None:
        """Where a caller leaving `queue` for reason `why` goes (logged), as a flow."""
        rule = QueueOverflow.objects.filter(queue=queue, account_id=queue.account_id,
                                            when=why).select_related("target_flow").first()
        target = rule.target if rule is not None else ""
        queue_caller_event(account=queue.account, queue=queue, kind=QueueEventKind.OVERFLOWED,
                           call_id=call.call_id, now=now,
                           details={"when": why, "target": target, "wait": waited})
        if rule is None:
            return None
        if rule.target == OverflowTarget.QUEUE:
            node = {"type": "queue", "queue_id": str(rule.target_queue_id)}
        elif rule.target == OverflowTarget.VOICEMAIL:
            node = {"type": "voicemail"}
        elif rule.target == OverflowTarget.NUMBER:
            node = {"type": "transfer", "number": rule.target_number}
        else:
            version = rule.target_flow.current if rule.target_flow else None
            return flow_parse(version.definition) if version is not None else None
        return flow_parse({"start": "overflow", "nodes": {"overflow": node}})

    def _announcements(self, queue: Queue, waiting: WaitingCallers, *,
                       agents: int) -> dict[str, Prompt]:
        """What each waiting caller hears when it is time: their position, the wait to
        expect (once the queue has served calls to estimate it from), the callback key."""
        if not queue.announce_seconds:
            return {}
        handle = _handle_seconds(queue)
        with translation.override(queue.language):
            offer = (" " + _("Press %(key)s to be called back.") % {"key": queue.callback_key}
                     if queue.callback_key else "")
            said = {}
            for at, caller in enumerate(waiting, start=1):
                text = _("You are number %(position)d in the queue.") % {"position": at}
                wait = expected_wait(position=at, handle_seconds=handle, agents=agents)
                if wait:
                    minutes = max(1, -(-wait // 60))
                    text += " " + ngettext("Your wait should be about %(minutes)d minute.",
                                           "Your wait should be about %(minutes)d minutes.",
                                           minutes) % {"minutes": minutes}
                said[caller.id] = Prompt(text=text + offer, language=queue.language)
            return said


def _handle_seconds(queue: Queue, calls: int = 20) -> float:
    """The average talk and wrap-up time of the queue's last `calls` calls (0: none yet)."""
    done = list(QueueEvent.objects.filter(account_id=queue.account_id, queue=queue,
                                          kind=QueueEventKind.COMPLETED)
                .order_by("-id").values_list("details", flat=True)[:calls])
    if not done:
        return 0.0
    return sum(int(d.get("talk", 0)) + int(d.get("wrap_up", 0)) for d in done) / len(done)


def _recording_notice(queue: Queue) -> Prompt | None:
    """What a caller hears first when the queue records its calls: the law (the CNIL's
    rules on recording calls) wants the people recorded told before, and able to object."""
    if not queue.recording:
        return None
    with translation.override(queue.language):
        return Prompt(text=_("This call may be recorded to improve our service. If you "
                             "object, tell the person who answers."), language=queue.language)


def _callback_goodbye(queue: Queue) -> Prompt | None:
    if not queue.callback_key:
        return None
    with translation.override(queue.language):
        return Prompt(text=_("We will call you back as soon as an agent is free. Goodbye."),
                      language=queue.language)


def _logged_in(members) -> int:
    return sum(1 for m in members if m.state != State.LOGGED_OUT)


def _position(waiting: WaitingCallers, call_id: str) -> int:
    return next(i for i, c in enumerate(waiting, start=1) if c.id == call_id)


def _seconds(caller: Caller, now: datetime) -> int:
    return max(round((now - caller.entered_at).total_seconds()), 0)
