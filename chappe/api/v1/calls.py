"""Call control (C-11; decision 0047): place a call for an agent (click-to-call), and
act on a live call — hang up, hold, take off hold, transfer (blind), and a supervisor's
listen / whisper / barge (C-7). Thin: `agents.services.calls` checks and audits, the
voice engine carries it out. An id the engine does not hold for this account is 404, a
call that has ended 409, the engine unreachable 503."""

import re
from typing import Literal
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from chappe.accounts.roles import Perm
from chappe.agents import selectors
from chappe.agents.services import calls
from chappe.api.v1.base import actor_of
from chappe.common.errors import NotFound

router = Router(tags=["call control"])

CALL_ID = re.compile(r"[A-Za-z0-9._@:+-]{1,128}")


class OriginateIn(Schema):
    agent_id: UUID = Field(description="The agent whose phones ring first")
    number: str = Field(min_length=2, max_length=32, description="The customer's number")
    caller_id: str | None = Field(None, max_length=32,
                                  description="One of the account's numbers (default: "
                                              "the first)")


class CallIdOut(Schema):
    call_id: str


class TransferIn(Schema):
    agent_id: UUID | None = None
    queue_id: UUID | None = None
    number: str = Field("", max_length=32)


class SuperviseIn(Schema):
    mode: Literal["listen", "whisper", "barge"]
    supervisor_agent_id: UUID | None = Field(
        None, description="The agent whose phones are rung and joined to the call "
                          "(default: the signed-in user's own)")


class SupervisionOut(Schema):
    call_id: str
    mode: str
    ringing: bool = Field(description="The supervisor's phones are rung (false: they were "
                                      "on the call already, its mode changed)")


class DoneOut(Schema):
    call_id: str
    done: bool = True


def _checked(live_call_id: str) -> str:
    """A call id as the engine makes them; anything else names no call (404)."""
    if not CALL_ID.fullmatch(live_call_id):
        raise NotFound(_("No such call in this account."))
    return live_call_id


def originate(request: HttpRequest, payload: OriginateIn) -> dict:
    """POST /calls (mounted by the call records' router, which owns the path)."""
    actor = actor_of(request, Perm.CALLS_HANDLE)
    agent = selectors.agent_get(account=actor.account, agent_id=payload.agent_id)
    call_id = calls.call_originate(actor=actor, account=actor.account, agent=agent,
                                   number=payload.number, caller_id=payload.caller_id)
    return {"call_id": call_id}


@router.post("/live-calls/{live_call_id}/hangup", response=DoneOut)
def call_hangup(request: HttpRequest, live_call_id: str):
    """End the call: both sides hang up."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    calls.call_hangup(actor=actor, account=actor.account, call_id=_checked(live_call_id))
    return {"call_id": live_call_id}


@router.post("/live-calls/{live_call_id}/hold", response=DoneOut)
def call_hold(request: HttpRequest, live_call_id: str):
    """The customer hears music on hold, the agent nothing, until `resume`."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    calls.call_hold(actor=actor, account=actor.account, call_id=_checked(live_call_id),
                    on=True)
    return {"call_id": live_call_id}


@router.post("/live-calls/{live_call_id}/resume", response=DoneOut)
def call_resume(request: HttpRequest, live_call_id: str):
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    calls.call_hold(actor=actor, account=actor.account, call_id=_checked(live_call_id),
                    on=False)
    return {"call_id": live_call_id}


@router.post("/live-calls/{live_call_id}/transfer", response=DoneOut)
def call_transfer(request: HttpRequest, live_call_id: str, payload: TransferIn):
    """A blind transfer of the customer (a queue's caller) to an agent, a queue or a
    number; the agent's leg ends."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    calls.call_transfer(actor=actor, account=actor.account, call_id=_checked(live_call_id),
                        to=calls.TransferTo(agent_id=payload.agent_id,
                                            queue_id=payload.queue_id, number=payload.number))
    return {"call_id": live_call_id}


@router.post("/live-calls/{live_call_id}/supervise", response=SupervisionOut)
def call_supervise(request: HttpRequest, live_call_id: str, payload: SuperviseIn):
    """Ring the supervisor's phones and join them to the call: `listen` (hears both
    sides, heard by nobody), `whisper` (heard by the agent only), `barge` (three-way)."""
    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    supervisor = (selectors.agent_get(account=actor.account,
                                      agent_id=payload.supervisor_agent_id)
                  if payload.supervisor_agent_id else None)
    ringing = calls.call_supervise(actor=actor, account=actor.account,
                                   call_id=_checked(live_call_id), mode=payload.mode,
                                   supervisor=supervisor)
    return {"call_id": live_call_id, "mode": payload.mode, "ringing": ringing}
