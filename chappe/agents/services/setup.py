"""Setting the contact center up (C-4, C-7): skills, pause reasons, agents and their SIP
credentials, queues with their members, required skills, overflows and caller priority
rules. Administrators and Supervisors (`agents.supervise`); each write audited."""

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import ValidationError as PydanticError

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, User
from chappe.accounts.roles import Perm, role_allows
from chappe.agents.acd import State, Strategy
from chappe.agents.models import (
    Agent,
    AgentSkill,
    CallbackRequest,
    CallerPriorityRule,
    OverflowTarget,
    OverflowWhen,
    PauseReason,
    Queue,
    QueueMember,
    QueueOverflow,
    QueueSkill,
    Skill,
    WrapUpCode,
)
from chappe.agents.selectors import skill_get
from chappe.audit.services import audit_record
from chappe.callcenter.models import NumberRental
from chappe.callcenter.selectors import audio_prompt_get, flow_get, flow_list
from chappe.callcenter.services import flow_create, number_assign
from chappe.common.changes import changes_apply
from chappe.common.errors import Conflict, NotFound, ValidationFailed
from chappe.common.lookup import get_or_404
from chappe.common.numbers import InvalidNumber, normalize, written_forms
from chappe.voice.flows import OpeningHours


def _unique(field: str, message: str):
    """A unique constraint broken by a write: a clear 409 instead of a 500."""
    return Conflict(message, details={field: [message]})


# --- skills and pause reasons ------------------------------------------------------------


def _named_create(model, *, actor: Actor, account: Account, name: str, action: str):
    actor.require(Perm.AGENTS_SUPERVISE)
    name = name.strip()
    if not name:
        raise ValidationFailed(details={"name": [_("This field is required.")]})
    try:
        with transaction.atomic():
            row = model.objects.create(account=account, name=name)
            audit_record(actor=actor, account=account, action=action, target=row,
                         details={"name": name})
    except IntegrityError:
        raise _unique("name", _("This name is already used in this account.")) from None
    return row


def skill_create(*, actor: Actor, account: Account, name: str) -> Skill:
    return _named_create(Skill, actor=actor, account=account, name=name,
                         action="agents.skill.create")


def pause_reason_create(*, actor: Actor, account: Account, name: str) -> PauseReason:
    return _named_create(PauseReason, actor=actor, account=account, name=name,
                         action="agents.pause_reason.create")


def wrap_up_code_create(*, actor: Actor, account: Account, name: str) -> WrapUpCode:
    return _named_create(WrapUpCode, actor=actor, account=account, name=name,
                         action="agents.wrap_up_code.create")


@transaction.atomic
def named_delete(*, actor: Actor, row: Skill | PauseReason | WrapUpCode) -> None:
    """Delete a skill (agents and queues lose it), a pause reason (paused agents keep
    their state, without the reason) or a disposition code (calls wrapped up with it keep
    its name)."""
    actor.require(Perm.AGENTS_SUPERVISE)
    audit_record(actor=actor, account=row.account, action=f"agents.{row._meta.model_name}.delete",
                 target=row, details={"name": row.name})
    row.delete()


# --- agents -------------------------------------------------------------------------------


def _sip_credentials() -> tuple[str, str]:
    return f"a{secrets.token_hex(6)}", secrets.token_urlsafe(18)


def _levels(account: Account, skills: Mapping[str, int]) -> list[tuple[Skill, int]]:
    """{skill id: level from 1 to 10} checked: the account's skills and their levels."""
    found = []
    for skill_id, level in skills.items():
        if not 1 <= int(level) <= 10:
            raise ValidationFailed(details={"skills": [_("A level runs from 1 to 10.")]})
        found.append((skill_get(account=account, skill_id=skill_id), int(level)))
    return found


def _skills_set(*, account: Account, agent: Agent, skills: Mapping[str, int]) -> None:
    """Replace the agent's skills."""
    rows = [AgentSkill(account=account, agent=agent, skill=skill, level=level)
            for skill, level in _levels(account, skills)]
    AgentSkill.objects.filter(account=account, agent=agent).delete()
    AgentSkill.objects.bulk_create(rows)


def agent_create(*, actor: Actor, account: Account, user_id: Any, extension: str,
                 wrap_up_seconds: int = 10, max_no_answer: int = 3,
                 skills: Mapping[str, int] | None = None) -> Agent:
    """Make a user of the account an agent, with generated SIP credentials for their
    phones (shown to them and to supervisors, to configure a softphone or desk phone)."""
    actor.require(Perm.AGENTS_SUPERVISE)
    user = get_or_404(User.objects.filter(account=account, is_active=True), user_id)
    if not role_allows(user.role, Perm.CALLS_HANDLE):
        raise ValidationFailed(details={"user": [
            _("This user's role does not take calls: make them an agent, a supervisor or an "
              "administrator first.")]})
    if not extension.isdigit():
        raise ValidationFailed(details={"extension": [_("An extension is digits only.")]})
    username, password = _sip_credentials()
    try:
        with transaction.atomic():
            agent = Agent.objects.create(
                account=account, user=user, extension=extension,
                wrap_up_seconds=wrap_up_seconds, max_no_answer=max_no_answer,
                sip_username=username, sip_password=password, state_changed_at=timezone.now())
            _skills_set(account=account, agent=agent, skills=skills or {})
            audit_record(actor=actor, account=account, action="agents.agent.create",
                         target=agent, details={"user": user.email, "extension": extension})
    except IntegrityError:
        raise _unique("extension", _("This user is already an agent, or this extension is "
                                     "taken.")) from None
    return agent


def agent_update(*, actor: Actor, account: Account, agent: Agent,
                 changes: Mapping[str, Any]) -> Agent:
    """Change an agent's extension, wrap-up, max-no-answer or skills ({skill id: level})."""
    actor.require(Perm.AGENTS_SUPERVISE)
    changes = dict(changes)
    skills = changes.pop("skills", None)
    if "extension" in changes and not str(changes["extension"]).isdigit():
        raise ValidationFailed(details={"extension": [_("An extension is digits only.")]})
    try:
        with transaction.atomic():
            agent = Agent.objects.select_for_update().get(pk=agent.pk, account=account)
            changed = changes_apply(agent, changes, editable=(
                "extension", "wrap_up_seconds", "max_no_answer"))
            if skills is not None:
                _skills_set(account=account, agent=agent, skills=skills)
                changed.append("skills")
            if changed:
                audit_record(actor=actor, account=account, action="agents.agent.update",
                             target=agent, details={"fields": changed})
    except IntegrityError:
        raise _unique("extension", _("This extension is taken.")) from None
    return agent


@transaction.atomic
def agent_sip_password_reset(*, actor: Actor, account: Account, agent: Agent) -> Agent:
    """A new SIP password (the phones must be reconfigured): after a leak, or a phone lost."""
    actor.require(Perm.AGENTS_SUPERVISE)
    agent = Agent.objects.select_for_update().get(pk=agent.pk, account=account)
    agent.sip_password = _sip_credentials()[1]
    agent.save(update_fields=["sip_password"])
    audit_record(actor=actor, account=account, action="agents.agent.sip_password_reset",
                 target=agent)
    return agent


@transaction.atomic
def agent_delete(*, actor: Actor, account: Account, agent: Agent) -> None:
    """The user stops being an agent; only while logged out (it holds no licence)."""
    actor.require(Perm.AGENTS_SUPERVISE)
    agent = Agent.objects.select_for_update().get(pk=agent.pk, account=account)
    if agent.state != State.LOGGED_OUT:
        raise Conflict(_("Log this agent out first."))
    audit_record(actor=actor, account=account, action="agents.agent.delete", target=agent,
                 details={"extension": agent.extension})
    agent.delete()


# --- queues -------------------------------------------------------------------------------

QUEUE_FIELDS = ("name", "strategy", "ring_timeout_seconds", "escalation_seconds",
                "max_wait_seconds", "max_length", "when_no_agent", "recording",
                "announce_seconds", "language", "hold_audio_id", "hours", "callback_key")


def _checked(account: Account, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields with what the model cannot check itself checked: music on hold is one
    of the account's own uploaded prompts (or none); opening hours are valid
    (`flows.OpeningHours`, stored normalised)."""
    fields = dict(fields)
    if fields.get("hold_audio_id") is not None:
        try:
            audio_prompt_get(account=account, prompt_id=fields["hold_audio_id"])
        except NotFound:
            raise ValidationFailed(details={"hold_audio_id": [
                _("No such audio prompt in this account.")]}) from None
    if fields.get("hours") is not None:
        try:
            fields["hours"] = OpeningHours.model_validate(fields["hours"]).model_dump(
                mode="json")
        except PydanticError as exc:
            raise ValidationFailed(details={"hours": [
                f"{'.'.join(str(p) for p in e['loc']) or 'hours'}: {e['msg']}"
                for e in exc.errors()]}) from None
    return fields


@dataclass(frozen=True)
class MemberDraft:
    agent_id: Any
    tier: int = 1
    position: int = 0


@dataclass(frozen=True)
class OverflowDraft:
    when: str
    target: str
    queue_id: Any = None
    flow_id: Any = None
    number: str = ""


@dataclass(frozen=True)
class PriorityRuleDraft:
    kind: str
    value: str
    priority: int


def _members_set(account: Account, queue: Queue, members: Sequence[MemberDraft]) -> None:
    agents = {str(a.pk): a for a in Agent.objects.filter(
        account=account, pk__in=[str(m.agent_id) for m in members])}
    rows = []
    for draft in members:
        agent = agents.get(str(draft.agent_id))
        if agent is None:
            raise NotFound(details={"members": [str(draft.agent_id)]})
        if not 1 <= draft.tier <= 9:
            raise ValidationFailed(details={"members": [_("A tier runs from 1 to 9.")]})
        rows.append(QueueMember(account=account, queue=queue, agent=agent, tier=draft.tier,
                                position=draft.position))
    if len(agents) != len(members):
        raise ValidationFailed(details={"members": [_("An agent is listed twice.")]})
    QueueMember.objects.filter(account=account, queue=queue).delete()
    QueueMember.objects.bulk_create(rows)


def _skills_required(account: Account, queue: Queue, skills: Mapping[str, int]) -> None:
    rows = [QueueSkill(account=account, queue=queue, skill=skill, min_level=level)
            for skill, level in _levels(account, skills)]
    QueueSkill.objects.filter(account=account, queue=queue).delete()
    QueueSkill.objects.bulk_create(rows)


def _overflows_set(account: Account, queue: Queue, overflows: Sequence[OverflowDraft]) -> None:
    rows = []
    for draft in overflows:
        if draft.when not in OverflowWhen.values or draft.target not in OverflowTarget.values:
            raise ValidationFailed(details={"overflows": [_("Unknown condition or target.")]})
        row = QueueOverflow(account=account, queue=queue, when=draft.when, target=draft.target)
        if draft.target == OverflowTarget.QUEUE:
            row.target_queue = get_or_404(Queue.objects.filter(account=account), draft.queue_id)
            if row.target_queue.pk == queue.pk:
                raise ValidationFailed(details={"overflows": [
                    _("A queue cannot overflow to itself.")]})
        elif draft.target == OverflowTarget.FLOW:
            row.target_flow = flow_get(account=account, flow_id=draft.flow_id)
        elif draft.target == OverflowTarget.NUMBER:
            try:
                row.target_number = normalize(draft.number,
                                              default_country=account.default_country).e164
            except InvalidNumber:
                raise ValidationFailed(details={"overflows": [
                    _("This outside number is not valid.")]}) from None
        rows.append(row)
    if len({r.when for r in rows}) != len(rows):
        raise ValidationFailed(details={"overflows": [_("One target per condition.")]})
    QueueOverflow.objects.filter(account=account, queue=queue).delete()
    QueueOverflow.objects.bulk_create(rows)


def _rules_set(account: Account, queue: Queue, rules: Sequence[PriorityRuleDraft]) -> None:
    rows = []
    for draft in rules:
        rule = CallerPriorityRule(account=account, queue=queue, kind=draft.kind,
                                  value=draft.value.strip(), priority=draft.priority)
        try:
            rule.full_clean(exclude=["account", "queue"])
        except DjangoValidationError as exc:
            raise ValidationFailed(details={"priority_rules": exc.messages}) from None
        rows.append(rule)
    CallerPriorityRule.objects.filter(account=account, queue=queue).delete()
    CallerPriorityRule.objects.bulk_create(rows)


def _queue_parts(account: Account, queue: Queue, *, members: Sequence[MemberDraft] | None,
                 skills: Mapping[str, int] | None, overflows: Sequence[OverflowDraft] | None,
                 priority_rules: Sequence[PriorityRuleDraft] | None) -> list[str]:
    """Replace the parts given (None: unchanged); their names."""
    changed = []
    for name, given, apply in (("members", members, _members_set),
                               ("skills", skills, _skills_required),
                               ("overflows", overflows, _overflows_set),
                               ("priority_rules", priority_rules, _rules_set)):
        if given is not None:
            apply(account, queue, given)
            changed.append(name)
    return changed


def queue_create(*, actor: Actor, account: Account, fields: Mapping[str, Any],
                 members: Sequence[MemberDraft] = (), skills: Mapping[str, int] | None = None,
                 overflows: Sequence[OverflowDraft] = (),
                 priority_rules: Sequence[PriorityRuleDraft] = ()) -> Queue:
    """A queue (C-4): `fields` among QUEUE_FIELDS, its members in tiers, the skills its
    agents need, where callers overflow, and which callers pass ahead."""
    actor.require(Perm.AGENTS_SUPERVISE)
    refused = sorted(set(fields) - set(QUEUE_FIELDS))
    if refused:
        raise ValidationFailed(details={name: [_("Unknown field.")] for name in refused})
    fields = _checked(account, fields)
    queue = Queue(account=account, **fields)
    try:
        queue.full_clean(exclude=["account", "last_agent"], validate_unique=False,
                         validate_constraints=False)
    except DjangoValidationError as exc:
        raise ValidationFailed(details=exc.message_dict) from None
    try:
        with transaction.atomic():
            queue.save()
            _queue_parts(account, queue, members=members, skills=skills or {},
                         overflows=overflows, priority_rules=priority_rules)
            audit_record(actor=actor, account=account, action="agents.queue.create",
                         target=queue, details={"name": queue.name, "strategy": queue.strategy})
    except IntegrityError:
        raise _unique("name", _("This name is already used in this account.")) from None
    return queue


def queue_update(*, actor: Actor, account: Account, queue: Queue, fields: Mapping[str, Any],
                 members: Sequence[MemberDraft] | None = None,
                 skills: Mapping[str, int] | None = None,
                 overflows: Sequence[OverflowDraft] | None = None,
                 priority_rules: Sequence[PriorityRuleDraft] | None = None) -> Queue:
    """Change a queue's settings and replace the parts given (None: kept)."""
    actor.require(Perm.AGENTS_SUPERVISE)
    fields = _checked(account, fields)
    try:
        with transaction.atomic():
            queue = Queue.objects.select_for_update().get(pk=queue.pk, account=account)
            changed = changes_apply(queue, fields, editable=QUEUE_FIELDS)
            changed += _queue_parts(account, queue, members=members, skills=skills,
                                    overflows=overflows, priority_rules=priority_rules)
            if changed:
                audit_record(actor=actor, account=account, action="agents.queue.update",
                             target=queue, details={"fields": changed})
    except IntegrityError:
        raise _unique("name", _("This name is already used in this account.")) from None
    return queue


@transaction.atomic
def queue_delete(*, actor: Actor, account: Account, queue: Queue) -> None:
    actor.require(Perm.AGENTS_SUPERVISE)
    if QueueOverflow.objects.filter(account=account, target_queue=queue).exists():
        raise Conflict(_("Another queue overflows to this one: change it first."))
    audit_record(actor=actor, account=account, action="agents.queue.delete", target=queue,
                 details={"name": queue.name})
    try:
        with transaction.atomic():
            queue.delete()
    except ProtectedError:  # a call campaign's agents (chappe.dialer): kept
        raise Conflict(_("A call campaign uses this queue: change or delete it first."),
                       code="queue_in_use") from None


def queue_number_route(*, actor: Actor, account: Account, queue: Queue,
                       rental_id: Any) -> NumberRental:
    """Send a number's calls straight to `queue` (C-1): a call flow of one queue step,
    named after the queue (made once, then reused), becomes the number's flow; the flow
    can later grow a welcome or opening hours in the editor like any other."""
    definition = {"start": "queue",
                  "nodes": {"queue": {"type": "queue", "queue_id": str(queue.pk)}}}
    name = _("Queue %(name)s") % {"name": queue.name}
    flow = next((f for f in flow_list(account=account).filter(name=name)
                 if f.current is not None and f.current.definition == definition), None)
    with transaction.atomic():
        if flow is None:
            flow = flow_create(actor=actor, account=account, name=name, definition=definition)
        return number_assign(actor=actor, account=account, rental_id=rental_id,
                             flow_id=flow.pk)


def agent_number_route(*, actor: Actor, account: Account, agent: Agent,
                       rental_id: Any) -> NumberRental:
    """Send a number's calls straight to one agent (C-1): through a queue of that agent
    alone (named after them, made once), so the caller hears the music on hold while
    the agent's phones ring, and the queue's overflows and log apply as to any queue."""
    actor.require(Perm.AGENTS_SUPERVISE)
    name = _("Agent %(extension)s") % {"extension": agent.extension}
    queue = Queue.objects.filter(account=account, name=name).first()
    if queue is None:
        queue = queue_create(actor=actor, account=account,
                             fields={"name": name, "strategy": Strategy.RING_ALL},
                             members=[MemberDraft(agent.pk)])
    return queue_number_route(actor=actor, account=account, queue=queue, rental_id=rental_id)


def agents_erase_number(*, account: Account, number: str) -> int:
    """A recipient's erasure (P-12): the caller-priority rules naming their number (a
    `caller_prefix` that is the whole number, as written in any form) and their callback
    requests go."""
    forms = written_forms(number)
    rules, _detail = CallerPriorityRule.objects.filter(
        account=account, kind="caller_prefix", value__in=forms).delete()
    callbacks, _detail = CallbackRequest.objects.filter(account=account,
                                                        number__in=forms).delete()
    return rules + callbacks
