"""The call-control API's actions (C-11; decision 0047): place a call for an agent, hang
up, hold, take off hold and transfer a live call, and a supervisor's listen, whisper or
barge. Each is checked here (permissions, the account's own agents, queues and numbers,
phone numbers read by chappe.common.numbers), audited, and carried out by the voice
engine through its command port (chappe.callcenter.engine_control), which knows the
live calls: it answers 404 for a call it does not hold for this account."""

import logging
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.agents.models import Agent
from chappe.agents.selectors import agent_get, queue_get
from chappe.audit.services import audit_record
from chappe.callcenter.engine_control import EngineUnavailable, engine_command
from chappe.callcenter.models import RentalStatus
from chappe.callcenter.selectors import rental_list
from chappe.common.errors import ValidationFailed
from chappe.common.numbers import InvalidNumber, normalize

SUPERVISION_MODES = ("listen", "whisper", "barge")

logger = logging.getLogger(__name__)


def _e164(account: Account, field: str, raw: str) -> str:
    try:
        return normalize(raw, default_country=account.default_country).e164
    except InvalidNumber:
        raise ValidationFailed(details={field: [_("This is not a phone number.")]}) from None


def _caller_id(account: Account, raw: str | None) -> str:
    """One of the account's active numbers: `raw` when it is one, the first when none."""
    numbers = [r.number.e164 for r in rental_list(account=account, status=RentalStatus.ACTIVE)
               .order_by("started_at")]
    if not numbers:
        raise ValidationFailed(details={"caller_id": [_("The account has no number to call "
                                                        "from.")]})
    if raw is None or raw == "":
        return numbers[0]
    chosen = _e164(account, "caller_id", raw)
    if chosen not in numbers:
        raise ValidationFailed(details={"caller_id": [_("Call from one of the account's "
                                                        "numbers.")]})
    return chosen


def originated_calls(*, account: Account) -> list[dict[str, Any]]:
    """The account's calls placed by the API and live now, as the engine holds them
    (the queue log knows the others). An engine that cannot be reached holds no call:
    none then (logged), so the list of queue calls still answers."""
    try:
        reply = engine_command({"op": "list", "account_id": str(account.pk)})
    except EngineUnavailable:
        logger.warning("live calls listed without the voice engine's")
        return []
    return [c for c in reply.get("calls", []) if c.get("origin") == "api"]


def call_originate(*, actor: Actor, account: Account, agent: Agent, number: str,
                   caller_id: str | None = None) -> str:
    """Ring `agent`'s phones, then dial `number` presenting `caller_id` (one of the
    account's numbers; the first when None): the call's id, at once (the call's
    progress comes as call events)."""
    actor.require(Perm.CALLS_HANDLE)
    if agent.user_id != getattr(actor.user, "pk", None):
        actor.require(Perm.AGENTS_SUPERVISE)
    customer = _e164(account, "number", number)
    presented = _caller_id(account, caller_id)
    reply = engine_command({"op": "originate", "account_id": str(account.pk),
                            "agent_id": str(agent.pk), "number": customer,
                            "caller_id": presented})
    audit_record(actor=actor, action="call.originate", account=account, target=agent,
                 details={"call_id": reply["call_id"], "caller_id": presented})
    return str(reply["call_id"])


def _command(actor: Actor, account: Account, op: str, call_id: str,
             **arguments: Any) -> dict[str, Any]:
    actor.require(Perm.AGENTS_SUPERVISE)
    reply = engine_command({"op": op, "account_id": str(account.pk), "call_id": call_id,
                            **arguments})
    audit_record(actor=actor, action=f"call.{op}", account=account,
                 details={"call_id": call_id, **arguments})
    return reply


def call_hangup(*, actor: Actor, account: Account, call_id: str) -> None:
    _command(actor, account, "hangup", call_id)


def call_hold(*, actor: Actor, account: Account, call_id: str, on: bool) -> None:
    _command(actor, account, "hold" if on else "resume", call_id)


@dataclass(frozen=True)
class TransferTo:
    """Exactly one of: an agent, a queue (of the account), a phone number."""

    agent_id: Any = None
    queue_id: Any = None
    number: str = ""


def call_transfer(*, actor: Actor, account: Account, call_id: str, to: TransferTo) -> None:
    """A blind transfer of the customer to an agent, a queue or a number; the engine
    reads the target as an agent's phone's REFER would be (extension, queue name,
    number)."""
    given = [v for v in (to.agent_id, to.queue_id, to.number) if v]
    if len(given) != 1:
        raise ValidationFailed(details={"target": [_("Name one of an agent, a queue or a "
                                                     "number.")]})
    if to.agent_id:
        target = agent_get(account=account, agent_id=to.agent_id).extension
    elif to.queue_id:
        target = queue_get(account=account, queue_id=to.queue_id).name
    else:
        target = _e164(account, "number", to.number)
    _command(actor, account, "transfer", call_id, target=target)


def call_supervise(*, actor: Actor, account: Account, call_id: str, mode: str,
                   supervisor: Agent | None = None) -> bool:
    """The supervisor's phones (`supervisor`, an agent of the account — by default the
    acting user's own agent — with a phone connected: else 409 once the engine found the
    call) are rung and joined to the live call: `listen` hears both sides,
    `whisper` is heard by the agent only, `barge` by both. True when their phones are
    rung, False when they were on the call already (its mode changed)."""
    if mode not in SUPERVISION_MODES:
        raise ValidationFailed(details={"mode": [_("Choose listen, whisper or barge.")]})
    if supervisor is None:
        supervisor = Agent.objects.filter(account=account, user_id=getattr(actor.user, "pk",
                                                                           None)).first()
    reply = _command(actor, account, "supervise", call_id, mode=mode,
                     supervisor_agent_id=str(supervisor.pk) if supervisor else "",
                     label=supervisor.extension if supervisor else "")
    return bool(reply.get("ringing"))
