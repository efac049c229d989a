"""Agents' states (decision 0035) and the queue event log they write.

    logged_out ──login──▶ available ──offer──▶ ringing ──answer──▶ on_call ──end──▶ wrap_up
         ▲                 │  ▲ ▲                │ rang out (N in a row: paused)        │
         └──logout─────────┘  │ └────────────────┘                                      │
                    paused ◀──┴──────── unpause ──────── wrap-up over ◀──────────────────┘

    available or wrap_up ──a call of their own──▶ on_call ──its end──▶ available

Every change goes through `_move`, which checks the transition table, timestamps the
state, and appends its `QueueEvent` in the same transaction (login, logout, pause,
unpause, offered, rang out, connected, completed). A call the agent places themself
(their browser's dial pad, click-to-call) makes them busy too (`agent_own_call`): an
agent on any call is offered no queue call. People change their state (or a
supervisor changes an agent's) with `agent_state_set` — web app and API — or from their
phone with `agent_feature_code` (*50, *51), which the voice engine calls; the engine moves
agents through ringing, on call and wrap-up with `agent_offer`, `agent_rang_out`,
`agent_offer_withdrawn`, `agent_connect`, `agent_call_end` and `agent_wrap_up_end`
(through the queue desk, chappe.agents.desk), and records the callers' side
with `queue_caller_event`.

Licences (C-8): a login locks the account's `LicencePool` row and counts the agents
logged in; beyond the licences it is refused (`licences_exhausted`), whatever the path.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.agents.acd import State
from chappe.agents.models import Agent, Queue, QueueEvent, QueueEventKind
from chappe.agents.selectors import pause_reason_get
from chappe.agents.services.licences import licence_pool_lock
from chappe.callcenter.call_events import call_event
from chappe.common.errors import Conflict, ValidationFailed

S = State
TRANSITIONS: dict[State, frozenset[State]] = {
    S.LOGGED_OUT: frozenset({S.AVAILABLE}),
    # available → on call, wrap-up → on call: a call of the agent's own (agent_own_call).
    S.AVAILABLE: frozenset({S.RINGING, S.ON_CALL, S.PAUSED, S.LOGGED_OUT}),
    S.RINGING: frozenset({S.ON_CALL, S.AVAILABLE, S.PAUSED}),
    S.ON_CALL: frozenset({S.WRAP_UP, S.AVAILABLE}),
    S.WRAP_UP: frozenset({S.AVAILABLE, S.ON_CALL, S.PAUSED, S.LOGGED_OUT}),
    # paused → paused: another reason.
    S.PAUSED: frozenset({S.AVAILABLE, S.PAUSED, S.LOGGED_OUT}),
}
# What a person may ask for; ringing, on call and wrap-up follow the calls.
CHOSEN = frozenset({S.AVAILABLE, S.PAUSED, S.LOGGED_OUT})
CALLER_EVENTS = frozenset({QueueEventKind.ENTERED, QueueEventKind.ABANDONED,
                           QueueEventKind.OVERFLOWED, QueueEventKind.TRANSFERRED,
                           QueueEventKind.CALLBACK})


class LicencesExhausted(Conflict):
    code = "licences_exhausted"


def _locked(account: Account, agent: Agent) -> Agent:
    return Agent.objects.select_for_update().select_related("user").get(
        pk=agent.pk, account=account)


def _licence_take(account: Account, agent: Agent) -> None:
    """Called with the agent locked, before it leaves `logged_out`: serialises logins of
    the account on its licence row, then counts (C-8)."""
    pool = licence_pool_lock(account=account)
    # A deactivated user's agent holds no licence (and is offered no call).
    logged_in = Agent.objects.filter(account=account, user__is_active=True) \
        .exclude(state=S.LOGGED_OUT).exclude(pk=agent.pk).count()
    if logged_in >= pool.licences:
        raise LicencesExhausted(
            _("All %(licences)d contact-center licences of this account are in use: an "
              "agent must log out first, or an administrator can add licences.")
            % {"licences": pool.licences},
            details={"licences": pool.licences, "logged_in": logged_in})


def _event(agent: Agent, kind: str, at: datetime, *, queue: Queue | None = None,
           call_id: str = "", details: dict[str, Any] | None = None) -> None:
    QueueEvent.objects.create(account_id=agent.account_id, agent=agent, kind=kind, at=at,
                              queue=queue, call_id=call_id, details=details or {})


def _announce(agent: Agent, was: State, to: State, at: datetime, *, queue: Queue | None,
              call_id: str) -> None:
    """agent.state on every move; call.ringing and call.answered when the move is an
    agent's phone ringing with, or answering, a queue's call (decision 0042)."""
    base = {"agent_id": str(agent.pk), "extension": agent.extension, "at": at.isoformat()}
    call_event(account_id=agent.account_id, type="agent.state", subject_id=str(agent.pk),
               payload={**base, "from": was.value, "to": to.value})
    kind = {S.RINGING: "call.ringing", S.ON_CALL: "call.answered"}.get(to)
    if kind and call_id:
        call_event(account_id=agent.account_id, type=kind, subject_id=call_id,
                   payload={**base, "call_id": call_id,
                            "queue_id": str(queue.pk) if queue is not None else None})


def _move(agent: Agent, to: State, at: datetime, *, reason=None, queue: Queue | None = None,
          call_id: str = "", cause: str = "") -> Agent:
    """The one place a state changes (agent locked by the caller)."""
    was = State(agent.state)
    if to not in TRANSITIONS[was]:
        raise Conflict(_("An agent cannot go from %(was)s to %(to)s.")
                       % {"was": agent.get_state_display(), "to": to.value},
                       code="illegal_transition", details={"from": was, "to": to})
    if was == S.LOGGED_OUT:
        _licence_take(agent.account, agent)
        agent.calls_taken = agent.talk_seconds = agent.no_answer_streak = 0
        agent.idle_since = at
        _event(agent, QueueEventKind.LOGIN, at)
    if was == S.PAUSED and to != S.PAUSED:
        agent.no_answer_streak = 0  # back at their phone
        _event(agent, QueueEventKind.UNPAUSE, at)
    if to == S.PAUSED:
        _event(agent, QueueEventKind.PAUSE, at, details={
            "reason": reason.name if reason is not None else "", "cause": cause})
    if to == S.LOGGED_OUT:
        _event(agent, QueueEventKind.LOGOUT, at)
    agent.state = to
    agent.state_changed_at = at
    _announce(agent, was, to, at, queue=queue, call_id=call_id)
    agent.pause_reason = reason if to == S.PAUSED else None
    agent.paused_for_no_answer = cause == "no_answer"
    agent.save()
    return agent


# --- people: web app, API, phone ----------------------------------------------------------


@transaction.atomic
def agent_state_set(*, actor: Actor, account: Account, agent: Agent, state: str,
                    pause_reason_id: Any = None, now: datetime | None = None) -> Agent:
    """Log in (→ available), pause (with one of the account's reasons), unpause or end
    one's wrap-up early (→ available), log out. An agent changes their own state; a
    supervisor anyone's. Logging in needs the contact-center service and a free licence."""
    actor.require(Perm.CALLS_HANDLE)
    if state not in CHOSEN:
        raise ValidationFailed(details={"state": [_("Choose available, paused or logged "
                                                    "out.")]})
    if agent.user_id != getattr(actor.user, "pk", None):
        actor.require(Perm.AGENTS_SUPERVISE)
    agent = _locked(account, agent)
    if agent.state == S.LOGGED_OUT and state != S.LOGGED_OUT:
        service_require(account=account, kind=ServiceKind.CONTACT_CENTER)
    if agent.state == state and state != S.PAUSED:
        return agent
    reason = (pause_reason_get(account=account, pause_reason_id=pause_reason_id)
              if state == S.PAUSED and pause_reason_id else None)
    if state == S.PAUSED and agent.state == S.LOGGED_OUT:
        # Logging in paused: in, then paused, both logged.
        _move(agent, S.AVAILABLE, now or timezone.now())
    return _move(agent, State(state), now or timezone.now(), reason=reason)


@dataclass(frozen=True)
class FeatureResult:
    agent: Agent
    # What the phone announces (translated): the new state, or why nothing changed.
    message: str


FEATURE_LOGIN = "*50"
FEATURE_PAUSE = "*51"


@transaction.atomic
def agent_feature_code(*, account: Account, agent: Agent, code: str,
                       now: datetime | None = None) -> FeatureResult:
    """A feature code dialled from one of the agent's registered phones (the voice engine
    calls this): *50 logs in or out, *51 pauses or unpauses. The agent acts themself;
    a refusal (no licence, suspended service, on a call) raises like any other path."""
    agent = _locked(account, agent)  # toggles from the state now, not the one read before
    actor = Actor(account=account, user=agent.user)
    if code == FEATURE_LOGIN:
        state = S.LOGGED_OUT if agent.state != S.LOGGED_OUT else S.AVAILABLE
    elif code == FEATURE_PAUSE:
        state = S.AVAILABLE if agent.state == S.PAUSED else S.PAUSED
    else:
        raise ValidationFailed(_("Unknown feature code."), details={"code": [code]})
    agent = agent_state_set(actor=actor, account=account, agent=agent, state=state, now=now)
    messages = {S.AVAILABLE: _("You are available."), S.PAUSED: _("You are paused."),
                S.LOGGED_OUT: _("You are logged out.")}
    return FeatureResult(agent, messages[State(agent.state)])


@transaction.atomic
def agent_phone_lost(*, account: Account, agent: Agent, reason: str,
                     now: datetime | None = None) -> Agent:
    """The agent's last phone is gone (their browser's tab closed, its network lost: the
    voice engine calls this): available or in wrap-up, they are paused (cause
    `phone_lost`) so that no call is offered to them; ringing or on a call, the call's
    end moves them first (the engine calls this once it is over)."""
    agent = _locked(account, agent)
    if agent.state in (S.AVAILABLE, S.WRAP_UP):
        _move(agent, S.PAUSED, now or timezone.now(), cause="phone_lost")
    return agent


# --- the engine: calls offered, answered, ended -------------------------------------------


@transaction.atomic
def agent_own_call(*, account: Account, agent: Agent, busy: bool,
                   now: datetime | None = None) -> bool:
    """A call the agent places themself (the voice engine calls this when it starts,
    `busy`, and when it ends): available or in wrap-up, they are on a call until it
    ends, then available — so no queue offers them a call meanwhile (it would find their
    phone busy and count it as rung out). Paused, they stay paused: no call is offered to
    them anyway. True when the state moved (the end moves it back only then)."""
    at = now or timezone.now()
    agent = _locked(account, agent)
    if busy and agent.state in (S.AVAILABLE, S.WRAP_UP):
        _move(agent, S.ON_CALL, at)
        return True
    if not busy and agent.state == S.ON_CALL:
        agent.idle_since = at
        _move(agent, S.AVAILABLE, at)
        return True
    return False


@transaction.atomic
def agent_offer(*, account: Account, agent: Agent, queue: Queue, call_id: str,
                now: datetime | None = None) -> Agent:
    """An offer of `acd.choose` applied: the agent rings; the queue remembers them
    (round-robin memory)."""
    at = now or timezone.now()
    agent = _locked(account, agent)
    _move(agent, S.RINGING, at, queue=queue, call_id=call_id)
    _event(agent, QueueEventKind.OFFERED, at, queue=queue, call_id=call_id)
    Queue.objects.filter(pk=queue.pk, account=account).update(last_agent=agent)
    return agent


@transaction.atomic
def agent_rang_out(*, account: Account, agent: Agent, queue: Queue, call_id: str,
                   now: datetime | None = None) -> Agent:
    """The agent let an offered call ring out: available again, or paused after
    `max_no_answer` in a row (their phone is unattended)."""
    at = now or timezone.now()
    agent = _locked(account, agent)
    if agent.state != S.RINGING:  # paused by a supervisor while it rang: stays so
        return agent
    agent.no_answer_streak += 1
    _event(agent, QueueEventKind.RANG_OUT, at, queue=queue, call_id=call_id,
           details={"in_a_row": agent.no_answer_streak})
    if agent.max_no_answer and agent.no_answer_streak >= agent.max_no_answer:
        return _move(agent, S.PAUSED, at, cause="no_answer")
    return _move(agent, S.AVAILABLE, at)


@transaction.atomic
def agent_offer_withdrawn(*, account: Account, agent: Agent,
                          now: datetime | None = None) -> Agent:
    """The offer ended before the agent could answer it (another agent answered first
    under ring-all, or the caller left): available again, nothing counted against them."""
    agent = _locked(account, agent)
    if agent.state != S.RINGING:
        return agent
    return _move(agent, S.AVAILABLE, now or timezone.now())


@transaction.atomic
def agent_connect(*, account: Account, agent: Agent, queue: Queue, call_id: str,
                  wait_seconds: int, now: datetime | None = None) -> Agent:
    at = now or timezone.now()
    agent = _locked(account, agent)
    agent.no_answer_streak = 0
    _move(agent, S.ON_CALL, at, queue=queue, call_id=call_id)
    _event(agent, QueueEventKind.CONNECTED, at, queue=queue, call_id=call_id,
           details={"wait": wait_seconds})
    return agent


@transaction.atomic
def agent_call_end(*, account: Account, agent: Agent, queue: Queue, call_id: str,
                   talk_seconds: int, now: datetime | None = None) -> Agent:
    """The call is over: wrap-up for the agent's wrap-up time (none: available at once)."""
    at = now or timezone.now()
    agent = _locked(account, agent)
    agent.calls_taken += 1
    agent.talk_seconds += talk_seconds
    agent.idle_since = at + timedelta(seconds=agent.wrap_up_seconds)
    _move(agent, S.WRAP_UP if agent.wrap_up_seconds else S.AVAILABLE, at)
    _event(agent, QueueEventKind.COMPLETED, at, queue=queue, call_id=call_id,
           details={"talk": talk_seconds, "wrap_up": agent.wrap_up_seconds})
    return agent


@transaction.atomic
def agent_wrap_up_end(*, account: Account, agent: Agent, now: datetime | None = None) -> Agent:
    """The wrap-up time is over: available (the engine calls it when it is due)."""
    at = now or timezone.now()
    agent = _locked(account, agent)
    if agent.state != S.WRAP_UP:
        return agent  # ended early by the agent, or logged out
    if agent.state_changed_at + timedelta(seconds=agent.wrap_up_seconds) > at:
        raise Conflict(_("This wrap-up is not over yet."))
    return _move(agent, S.AVAILABLE, at)


@transaction.atomic
def queue_caller_event(*, account: Account, queue: Queue, kind: str, call_id: str,
                       details: dict[str, Any], now: datetime | None = None) -> QueueEvent:
    """The callers' side of the log: entered {priority, position, branch}, abandoned
    {position, original_position, wait, cause}, overflowed {when, target, wait},
    transferred {target, to, by_agent}, callback {position, wait}."""
    if kind not in CALLER_EVENTS:
        raise ValidationFailed(details={"kind": [kind]})
    event = QueueEvent.objects.create(account=account, queue=queue, kind=kind,
                                      at=now or timezone.now(), call_id=call_id,
                                      details=details)
    if kind in (QueueEventKind.ENTERED, QueueEventKind.ABANDONED):
        call_event(account_id=account.pk, type=f"queue.{kind}", subject_id=call_id,
                   payload={"call_id": call_id, "queue_id": str(queue.pk),
                            "queue": queue.name, "at": event.at.isoformat(),
                            **{k: v for k, v in details.items()
                               if k in ("position", "wait", "priority", "cause")}})
    return event
