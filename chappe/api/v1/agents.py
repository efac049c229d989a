"""Contact-center agents API (C-4, C-7, C-8): skills, pause reasons, agents and their
states, queues, licences, the queue event log. Administrators and Supervisors manage;
an agent reads and changes their own state; licences are the administrator's."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import Field

from chappe.accounts.roles import Perm
from chappe.agents import selectors
from chappe.agents.acd import State, Strategy
from chappe.agents.models import (
    NoAgentBehaviour,
    OverflowTarget,
    OverflowWhen,
    PriorityKind,
    QueueEventKind,
)
from chappe.agents.services import callbacks, licences, setup, states
from chappe.api.v1.base import actor_of
from chappe.api.v1.callcenter import NumberOut
from chappe.voice.flows import OpeningHours

router = Router(tags=["contact center: agents and queues"])


class NamedIn(Schema):
    name: str = Field(min_length=1, max_length=60)


class NamedOut(Schema):
    id: UUID
    name: str


# --- skills and pause reasons ------------------------------------------------------------


@router.get("/skills", response=list[NamedOut])
@paginate(LimitOffsetPagination)
def skill_list(request: HttpRequest):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    return selectors.skill_list(account=actor.account)


@router.post("/skills", response={201: NamedOut})
def skill_create(request: HttpRequest, payload: NamedIn):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    return Status(201, setup.skill_create(actor=actor, account=actor.account,
                                          name=payload.name))


@router.delete("/skills/{skill_id}", response={204: None})
def skill_delete(request: HttpRequest, skill_id: UUID):
    """Delete a skill: agents and queues lose it."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    setup.named_delete(actor=actor, row=selectors.skill_get(account=actor.account,
                                                            skill_id=skill_id))
    return Status(204, None)


@router.get("/pause-reasons", response=list[NamedOut])
@paginate(LimitOffsetPagination)
def pause_reason_list(request: HttpRequest):
    """The reasons agents pick when they pause (agents read them too)."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    return selectors.pause_reason_list(account=actor.account)


@router.post("/pause-reasons", response={201: NamedOut})
def pause_reason_create(request: HttpRequest, payload: NamedIn):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    return Status(201, setup.pause_reason_create(actor=actor, account=actor.account,
                                                 name=payload.name))


@router.delete("/pause-reasons/{pause_reason_id}", response={204: None})
def pause_reason_delete(request: HttpRequest, pause_reason_id: UUID):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    setup.named_delete(actor=actor, row=selectors.pause_reason_get(
        account=actor.account, pause_reason_id=pause_reason_id))
    return Status(204, None)


@router.get("/wrap-up-codes", response=list[NamedOut])
@paginate(LimitOffsetPagination)
def wrap_up_code_list(request: HttpRequest):
    """The account's disposition codes, picked in the agent's wrap-up form (agents read
    them too)."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    return selectors.wrap_up_code_list(account=actor.account)


@router.post("/wrap-up-codes", response={201: NamedOut})
def wrap_up_code_create(request: HttpRequest, payload: NamedIn):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    return Status(201, setup.wrap_up_code_create(actor=actor, account=actor.account,
                                                 name=payload.name))


@router.delete("/wrap-up-codes/{wrap_up_code_id}", response={204: None})
def wrap_up_code_delete(request: HttpRequest, wrap_up_code_id: UUID):
    """Delete a disposition code: calls wrapped up with it keep its name."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    setup.named_delete(actor=actor, row=selectors.wrap_up_code_get(
        account=actor.account, wrap_up_code_id=wrap_up_code_id))
    return Status(204, None)


# --- agents -------------------------------------------------------------------------------


class SkillLevel(Schema):
    skill_id: UUID
    level: int = Field(ge=1, le=10)


class AgentSkillOut(Schema):
    skill_id: UUID
    name: str
    level: int

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.skill.name


class SipOut(Schema):
    username: str
    password: str


class AgentOut(Schema):
    id: UUID
    user_id: UUID
    email: str
    extension: str
    wrap_up_seconds: int
    max_no_answer: int
    skills: list[AgentSkillOut]
    sip: SipOut = Field(description="Digest credentials for the agent's SIP phones")
    state: State
    state_changed_at: datetime
    pause_reason_id: UUID | None
    paused_for_no_answer: bool

    @staticmethod
    def resolve_email(obj) -> str:
        return obj.user.email

    @staticmethod
    def resolve_skills(obj) -> list:
        return list(obj.skills.all())

    @staticmethod
    def resolve_sip(obj) -> dict[str, str]:
        return {"username": obj.sip_username, "password": obj.sip_password}


class AgentIn(Schema):
    user_id: UUID = Field(description="A user of the account (any role) who takes calls")
    extension: str = Field(min_length=1, max_length=8, pattern=r"^\d+$")
    wrap_up_seconds: int = Field(10, ge=0, le=3600)
    max_no_answer: int = Field(3, ge=0, le=100, description="0: never paused")
    skills: list[SkillLevel] = []


class AgentUpdateIn(Schema):
    extension: str | None = Field(None, min_length=1, max_length=8, pattern=r"^\d+$")
    wrap_up_seconds: int | None = Field(None, ge=0, le=3600)
    max_no_answer: int | None = Field(None, ge=0, le=100)
    skills: list[SkillLevel] | None = None


class StateIn(Schema):
    state: Literal["available", "paused", "logged_out"]
    pause_reason_id: UUID | None = None


def _levels(items: list[SkillLevel]) -> dict[str, int]:
    return {str(item.skill_id): item.level for item in items}


def _agent_for(request: HttpRequest, agent_id: UUID):
    """The agent, for a supervisor, or for the agent themself."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    agent = selectors.agent_get(account=actor.account, agent_id=agent_id)
    if agent.user_id != getattr(actor.user, "pk", None):
        actor.require(Perm.AGENTS_SUPERVISE)
    return actor, agent


@router.get("/agents", response=list[AgentOut])
@paginate(LimitOffsetPagination)
def agent_list(request: HttpRequest, state: State | None = None):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    return selectors.agent_list(account=actor.account, state=state)


@router.post("/agents", response={201: AgentOut})
def agent_create(request: HttpRequest, payload: AgentIn):
    """Make a user an agent; SIP credentials for their phones are generated."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    agent = setup.agent_create(actor=actor, account=actor.account, user_id=payload.user_id,
                               extension=payload.extension,
                               wrap_up_seconds=payload.wrap_up_seconds,
                               max_no_answer=payload.max_no_answer,
                               skills=_levels(payload.skills))
    return Status(201, selectors.agent_get(account=actor.account, agent_id=agent.pk))


@router.get("/agents/{agent_id}", response=AgentOut)
def agent_read(request: HttpRequest, agent_id: UUID):
    return _agent_for(request, agent_id)[1]


@router.patch("/agents/{agent_id}", response=AgentOut)
def agent_update(request: HttpRequest, agent_id: UUID, payload: AgentUpdateIn):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    agent = selectors.agent_get(account=actor.account, agent_id=agent_id)
    changes: dict[str, Any] = payload.dict(exclude_unset=True)
    if payload.skills is not None:
        changes["skills"] = _levels(payload.skills)
    setup.agent_update(actor=actor, account=actor.account, agent=agent, changes=changes)
    return selectors.agent_get(account=actor.account, agent_id=agent_id)


@router.delete("/agents/{agent_id}", response={204: None})
def agent_delete(request: HttpRequest, agent_id: UUID):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    setup.agent_delete(actor=actor, account=actor.account,
                       agent=selectors.agent_get(account=actor.account, agent_id=agent_id))
    return Status(204, None)


@router.post("/agents/{agent_id}/sip-password", response=AgentOut)
def agent_sip_password_reset(request: HttpRequest, agent_id: UUID):
    """A new SIP password: the agent's phones must be given it."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    setup.agent_sip_password_reset(
        actor=actor, account=actor.account,
        agent=selectors.agent_get(account=actor.account, agent_id=agent_id))
    return selectors.agent_get(account=actor.account, agent_id=agent_id)


@router.put("/agents/{agent_id}/state", response=AgentOut)
@router.post("/agents/{agent_id}/state", response=AgentOut)
def agent_state_set(request: HttpRequest, agent_id: UUID, payload: StateIn):
    """Log in (`available`, needs a free licence: 409 `licences_exhausted`), pause (with a
    reason), unpause or end a wrap-up early (`available`), log out."""
    actor, agent = _agent_for(request, agent_id)
    states.agent_state_set(actor=actor, account=actor.account, agent=agent,
                           state=payload.state, pause_reason_id=payload.pause_reason_id)
    return selectors.agent_get(account=actor.account, agent_id=agent_id)


# --- queues -------------------------------------------------------------------------------


class MemberIO(Schema):
    agent_id: UUID
    tier: int = Field(1, ge=1, le=9, description="1 rings first")
    position: int = Field(0, ge=0, description="Order for linear and round-robin")


class RequiredSkill(Schema):
    skill_id: UUID
    min_level: int = Field(1, ge=1, le=10)


class OverflowIO(Schema):
    when: OverflowWhen
    target: OverflowTarget
    queue_id: UUID | None = None
    flow_id: UUID | None = None
    number: str = ""


class PriorityRuleIO(Schema):
    kind: PriorityKind
    value: str = Field(min_length=1, max_length=64)
    priority: int = Field(ge=0, le=100)


class QueueSettings(Schema):
    strategy: Strategy = Strategy.LONGEST_IDLE
    ring_timeout_seconds: int = Field(20, ge=5, le=600)
    escalation_seconds: int = Field(30, ge=0, le=3600)
    max_wait_seconds: int = Field(0, ge=0, le=86_400, description="0: no limit")
    max_length: int = Field(0, ge=0, le=10_000, description="0: no limit")
    when_no_agent: NoAgentBehaviour = NoAgentBehaviour.WAIT
    recording: bool = False
    announce_seconds: int = Field(0, ge=0, le=3600,
                                  description="Waiting callers hear their position this often "
                                              "(0: never)")
    language: Literal["fr", "en"] = Field("fr", description="Language of the announcements")
    hold_audio_id: UUID | None = Field(None, description="An uploaded audio prompt played "
                                                         "on hold (none: the built-in music)")
    hours: OpeningHours | None = Field(None, description="Opening hours (none: always "
                                                         "open); callers arriving while "
                                                         "closed go to the `closed` overflow")
    callback_key: Literal["", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"] = \
        Field("", description="The key a waiting caller presses to be called back "
                              "(\"\": none)")


class QueueIn(QueueSettings):
    name: str = Field(min_length=1, max_length=100)
    members: list[MemberIO] = []
    skills: list[RequiredSkill] = []
    overflows: list[OverflowIO] = []
    priority_rules: list[PriorityRuleIO] = []


class QueueUpdateIn(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    strategy: Strategy | None = None
    ring_timeout_seconds: int | None = Field(None, ge=5, le=600)
    escalation_seconds: int | None = Field(None, ge=0, le=3600)
    max_wait_seconds: int | None = Field(None, ge=0, le=86_400)
    max_length: int | None = Field(None, ge=0, le=10_000)
    when_no_agent: NoAgentBehaviour | None = None
    recording: bool | None = None
    announce_seconds: int | None = Field(None, ge=0, le=3600)
    language: Literal["fr", "en"] | None = None
    hold_audio_id: UUID | None = None
    hours: OpeningHours | None = None
    callback_key: Literal["", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"] | None \
        = None
    members: list[MemberIO] | None = None
    skills: list[RequiredSkill] | None = None
    overflows: list[OverflowIO] | None = None
    priority_rules: list[PriorityRuleIO] | None = None


class QueueOut(QueueSettings):
    id: UUID
    name: str
    members: list[MemberIO]
    skills: list[RequiredSkill]
    overflows: list[OverflowIO]
    priority_rules: list[PriorityRuleIO]
    created_at: datetime

    @staticmethod
    def resolve_members(obj) -> list:
        return list(obj.members.all())

    @staticmethod
    def resolve_skills(obj) -> list:
        return list(obj.skills.all())

    @staticmethod
    def resolve_overflows(obj) -> list[dict[str, Any]]:
        return [{"when": o.when, "target": o.target, "queue_id": o.target_queue_id,
                 "flow_id": o.target_flow_id, "number": o.target_number}
                for o in obj.overflows.all()]

    @staticmethod
    def resolve_priority_rules(obj) -> list:
        return list(obj.priority_rules.all())


QUEUE_PARTS = ("members", "skills", "overflows", "priority_rules")


def _parts(payload: QueueIn | QueueUpdateIn) -> dict[str, Any]:
    """The service's drafts of the parts given (None: not given)."""
    return {
        "members": None if payload.members is None else [
            setup.MemberDraft(m.agent_id, m.tier, m.position) for m in payload.members],
        "skills": None if payload.skills is None else {
            str(s.skill_id): s.min_level for s in payload.skills},
        "overflows": None if payload.overflows is None else [
            setup.OverflowDraft(o.when, o.target, o.queue_id, o.flow_id, o.number)
            for o in payload.overflows],
        "priority_rules": None if payload.priority_rules is None else [
            setup.PriorityRuleDraft(r.kind, r.value, r.priority) for r in payload.priority_rules],
    }


@router.get("/queues", response=list[QueueOut])
@paginate(LimitOffsetPagination)
def queue_list(request: HttpRequest):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    return selectors.queue_list(account=actor.account)


@router.post("/queues", response={201: QueueOut})
def queue_create(request: HttpRequest, payload: QueueIn):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    queue = setup.queue_create(actor=actor, account=actor.account,
                               fields=payload.dict(exclude=set(QUEUE_PARTS)), **_parts(payload))
    return Status(201, selectors.queue_get(account=actor.account, queue_id=queue.pk))


@router.get("/queues/{queue_id}", response=QueueOut)
def queue_read(request: HttpRequest, queue_id: UUID):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    return selectors.queue_get(account=actor.account, queue_id=queue_id)


@router.patch("/queues/{queue_id}", response=QueueOut)
def queue_update(request: HttpRequest, queue_id: UUID, payload: QueueUpdateIn):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    queue = selectors.queue_get(account=actor.account, queue_id=queue_id)
    setup.queue_update(actor=actor, account=actor.account, queue=queue,
                       fields=payload.dict(exclude_unset=True, exclude=set(QUEUE_PARTS)),
                       **_parts(payload))
    return selectors.queue_get(account=actor.account, queue_id=queue_id)


@router.delete("/queues/{queue_id}", response={204: None})
def queue_delete(request: HttpRequest, queue_id: UUID):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    setup.queue_delete(actor=actor, account=actor.account,
                       queue=selectors.queue_get(account=actor.account, queue_id=queue_id))
    return Status(204, None)


class QueueNumberIn(Schema):
    rental_id: UUID = Field(description="One of the account's numbers (GET /numbers)")


@router.post("/queues/{queue_id}/numbers", response=NumberOut)
def queue_number_route(request: HttpRequest, queue_id: UUID, payload: QueueNumberIn):
    """Send a number's calls straight to this queue: the number gets a call flow of one
    queue step (named after the queue), which the flow editor can extend."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE, Perm.CALL_FLOWS_MANAGE)
    queue = selectors.queue_get(account=actor.account, queue_id=queue_id)
    return setup.queue_number_route(actor=actor, account=actor.account, queue=queue,
                                    rental_id=payload.rental_id)


@router.post("/agents/{agent_id}/numbers", response=NumberOut)
def agent_number_route(request: HttpRequest, agent_id: UUID, payload: QueueNumberIn):
    """Send a number's calls straight to this agent, through a queue of them alone (named
    "Agent <extension>"; its hold music, overflows and log apply)."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE, Perm.CALL_FLOWS_MANAGE)
    agent = selectors.agent_get(account=actor.account, agent_id=agent_id)
    return setup.agent_number_route(actor=actor, account=actor.account, agent=agent,
                                    rental_id=payload.rental_id)


class QueueEventOut(Schema):
    id: int
    at: datetime
    kind: QueueEventKind
    queue_id: UUID | None
    agent_id: UUID | None
    call_id: str
    details: dict[str, Any]


@router.get("/queue-events", response=list[QueueEventOut])
@paginate(LimitOffsetPagination)
def queue_event_list(request: HttpRequest, queue_id: str | None = None,
                     agent_id: str | None = None):
    """The queue log (after Asterisk's queue_log), oldest first: what statistics use."""
    actor = actor_of(request, Perm.STATISTICS_VIEW)
    return selectors.queue_events(
        account=actor.account,
        queue=selectors.queue_get(account=actor.account, queue_id=queue_id) if queue_id else None,
        agent=selectors.agent_get(account=actor.account, agent_id=agent_id) if agent_id else None)


# --- callback requests ----------------------------------------------------------------------


class CallbackOut(Schema):
    id: UUID
    queue_id: UUID | None
    number: str
    priority: int
    entered_at: datetime = Field(description="When the caller started waiting: their place")
    requested_at: datetime
    done_at: datetime | None
    done_by_agent_id: UUID | None = Field(alias="done_by_id")


@router.get("/callbacks", response=list[CallbackOut])
@paginate(LimitOffsetPagination)
def callback_list(request: HttpRequest, queue_id: str | None = None, done: bool = False):
    """Callers who asked to be called back, in the queue's order (open ones, or done)."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    queue = selectors.queue_get(account=actor.account, queue_id=queue_id) if queue_id else None
    return selectors.callback_list(account=actor.account, queue=queue, done=done)


@router.post("/callbacks/{callback_id}/done", response=CallbackOut)
def callback_done(request: HttpRequest, callback_id: UUID):
    """The caller was called back (409 `already_done` the second time)."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    return callbacks.callback_done(actor=actor, account=actor.account, callback_id=callback_id)


# --- licences -----------------------------------------------------------------------------


class LicencesOut(Schema):
    licences: int
    logged_in: int


class LicencesIn(Schema):
    licences: int = Field(ge=0, le=licences.MAX_LICENCES)


def _licences(account) -> dict[str, int]:
    return {"licences": selectors.licences_of(account=account),
            "logged_in": selectors.agents_logged_in(account=account)}


@router.get("/licences", response=LicencesOut)
def licences_read(request: HttpRequest):
    """How many agents may be logged in at once (C-8), and how many are."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    return _licences(actor.account)


@router.put("/licences", response=LicencesOut)
def licences_update(request: HttpRequest, payload: LicencesIn):
    """Change the number of licences; a contact-center subscription follows, and its next
    invoice. Below the agents logged in now: 409."""
    actor = actor_of(request, Perm.LICENCES_MANAGE)
    licences.licences_set(actor=actor, account=actor.account, licences=payload.licences)
    return _licences(actor.account)
