"""Reads of agents and queues, always scoped to one account — plus the snapshots the ACD
choice (`acd.choose`) is fed."""

from typing import Any

from django.db.models import Prefetch, QuerySet

from chappe.accounts.models import Account
from chappe.agents.acd import Member, QueueSpec, State, Strategy
from chappe.agents.models import (
    Agent,
    AgentSkill,
    CallbackRequest,
    CallerPriorityRule,
    LicencePool,
    NoAgentBehaviour,
    PauseReason,
    Queue,
    QueueEvent,
    QueueMember,
    QueueSkill,
    Skill,
    WrapUpCode,
)
from chappe.callcenter.models import CallRecord
from chappe.common.lookup import filtered, get_or_404
from chappe.voice.directory import SipCredentials


def skill_list(*, account: Account) -> QuerySet[Skill]:
    return Skill.objects.filter(account=account)


def skill_get(*, account: Account, skill_id: Any) -> Skill:
    return get_or_404(skill_list(account=account), skill_id)


def pause_reason_list(*, account: Account) -> QuerySet[PauseReason]:
    return PauseReason.objects.filter(account=account)


def wrap_up_code_list(*, account: Account) -> QuerySet[WrapUpCode]:
    return WrapUpCode.objects.filter(account=account)


def wrap_up_code_get(*, account: Account, wrap_up_code_id: Any) -> WrapUpCode:
    return get_or_404(wrap_up_code_list(account=account), wrap_up_code_id)


def agent_call_history(*, account: Account, agent: Agent, limit: int = 20) -> list:
    """The agent's own last calls (their legs' records, with the call each belongs to),
    newest first."""
    return list(CallRecord.objects.filter(account=account, to_number=f"agent:{agent.pk}")
                .select_related("parent").order_by("-started_at")[:limit])


def pause_reason_get(*, account: Account, pause_reason_id: Any) -> PauseReason:
    return get_or_404(pause_reason_list(account=account), pause_reason_id)


def agent_list(*, account: Account, state: str | None = None) -> QuerySet[Agent]:
    return filtered(Agent.objects.filter(account=account), state=state).select_related(
        "user", "pause_reason").prefetch_related(
        Prefetch("skills", AgentSkill.objects.select_related("skill")))


def agent_get(*, account: Account, agent_id: Any) -> Agent:
    return get_or_404(agent_list(account=account), agent_id)


def agent_of_user(*, account: Account, user: Any) -> Agent | None:
    return agent_list(account=account).filter(user=user).first()


def agent_by_sip_username(*, username: str) -> Agent | None:
    """The agent whose phones register as `username` (unique platform-wide): how the
    registrar and the feature codes find the account and the agent."""
    return Agent.objects.select_related("account", "user").filter(sip_username=username).first()


def agent_sip_credentials(username: str) -> SipCredentials | None:
    """The digest credentials an agent's phones register with (the voice role hands this
    to its directory): none for an unknown username or a deactivated user."""
    agent = agent_by_sip_username(username=username)
    if agent is None or not agent.user.is_active:
        return None
    return SipCredentials(username=agent.sip_username, password=agent.sip_password,
                          account_id=str(agent.account_id), agent_id=str(agent.pk))


def queue_list(*, account: Account) -> QuerySet[Queue]:
    return Queue.objects.filter(account=account).prefetch_related(
        Prefetch("members", QueueMember.objects.select_related("agent")),
        "skills__skill", "overflows", "priority_rules")


def queue_get(*, account: Account, queue_id: Any) -> Queue:
    return get_or_404(queue_list(account=account), queue_id)


def licences_of(*, account: Account) -> int:
    pool = LicencePool.objects.filter(account=account).first()
    return pool.licences if pool is not None else 0


def agents_logged_in(*, account: Account) -> int:
    """The licences in use: agents logged in whose user is still active."""
    return Agent.objects.filter(account=account, user__is_active=True) \
        .exclude(state=State.LOGGED_OUT).count()


def queue_events(*, account: Account, queue: Queue | None = None,
                 agent: Agent | None = None) -> QuerySet[QueueEvent]:
    return filtered(QueueEvent.objects.filter(account=account), queue=queue, agent=agent)


def priority_rules(*, queue: Queue) -> list[tuple[str, str, int]]:
    """The queue's caller priority rules as `acd.caller_priority` takes them."""
    return [(r.kind, r.value, r.priority)
            for r in CallerPriorityRule.objects.filter(account_id=queue.account_id, queue=queue)]


def queue_spec(*, queue: Queue, with_skills: bool = True) -> QueueSpec:
    """The queue as `acd` takes it (its required skills: one query, when asked)."""
    skills = (tuple(sorted(QueueSkill.objects.filter(account_id=queue.account_id, queue=queue)
                           .values_list("skill__name", "min_level")))
              if with_skills else ())
    return QueueSpec(
        id=str(queue.pk), strategy=Strategy(queue.strategy),
        escalation_seconds=queue.escalation_seconds, required_skills=skills,
        ring_timeout_seconds=queue.ring_timeout_seconds,
        last_agent_id=str(queue.last_agent_id) if queue.last_agent_id else None,
        max_wait_seconds=queue.max_wait_seconds, max_length=queue.max_length,
        overflow_when_no_agent=queue.when_no_agent == NoAgentBehaviour.OVERFLOW)


def queue_logged_in(*, queue: Queue) -> int:
    """How many of the queue's (active) members are logged in: one COUNT."""
    return QueueMember.objects.filter(account_id=queue.account_id, queue=queue,
                                      agent__user__is_active=True) \
        .exclude(agent__state=State.LOGGED_OUT).count()


def queue_snapshot(*, queue: Queue) -> tuple[QueueSpec, list[Member]]:
    """The queue and its members as `acd.choose` takes them: plain rows, no model objects
    (the voice engine asks on every turn of a busy queue), the members' skills in one
    more query only when the queue requires some."""
    spec = queue_spec(queue=queue)
    # A deactivated user is no member any more (their agent may still show a state).
    rows = list(QueueMember.objects.filter(account_id=queue.account_id, queue=queue,
                                           agent__user__is_active=True)
                .values_list("agent_id", "tier", "position", "agent__state",
                             "agent__idle_since", "agent__calls_taken",
                             "agent__talk_seconds"))
    skills: dict[Any, dict[str, int]] = {}
    if spec.required_skills:
        for agent_id, name, level in AgentSkill.objects.filter(
                account_id=queue.account_id, agent_id__in=[r[0] for r in rows]) \
                .values_list("agent_id", "skill__name", "level"):
            skills.setdefault(agent_id, {})[name] = level
    return spec, [Member(id=str(agent_id), state=State(state), tier=tier, position=position,
                         skills=skills.get(agent_id, {}), idle_since=idle_since,
                         calls_taken=calls_taken, talk_seconds=talk_seconds)
                  for agent_id, tier, position, state, idle_since, calls_taken, talk_seconds
                  in rows]


def callback_list(*, account: Account, queue: Queue | None = None,
                  done: bool | None = False) -> QuerySet[CallbackRequest]:
    """The account's callback requests in queue order (open ones by default)."""
    rows = filtered(CallbackRequest.objects.filter(account=account), queue=queue)
    if done is not None:
        rows = rows.filter(done_at__isnull=not done)
    return rows.select_related("queue", "done_by")


def callback_get(*, account: Account, callback_id: Any) -> CallbackRequest:
    return get_or_404(CallbackRequest.objects.filter(account=account), callback_id)
