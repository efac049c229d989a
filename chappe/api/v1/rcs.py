"""RCS (M-15): agents (create, change, submit for validation) and messages (same shape as
SMS sends, with a `content` object per type)."""

from django.http import HttpRequest
from ninja import Header, Router, Status

from chappe.accounts.roles import Perm
from chappe.api.v1.base import actor_of
from chappe.api.v1.messaging import send_answer
from chappe.messaging.rcs.agents import (
    rcs_agent_create,
    rcs_agent_get,
    rcs_agent_submit,
    rcs_agent_update,
)
from chappe.messaging.rcs.models import RcsAgent
from chappe.messaging.rcs.schemas import (
    RcsAgentCreate,
    RcsAgentOut,
    RcsAgentPatch,
    RcsMessageCreate,
)
from chappe.messaging.rcs.send import rcs_send
from chappe.messaging.schemas import SendOut

router = Router(tags=["rcs"])
URL_FIELDS = ("website", "privacy_url", "terms_url")


def _agent_fields(payload: RcsAgentCreate | RcsAgentPatch, data: dict) -> dict:
    """The service's arguments: URLs as text, images as their decoded bytes (a dump
    would encode them back to base64)."""
    for key in URL_FIELDS:
        if key in data:
            data[key] = str(data[key])
    for key in ("logo", "banner"):
        if key in data:
            data[key] = getattr(payload, key)
    return data


@router.post("/rcs/messages", response={200: SendOut, 201: SendOut})
def rcs_message_create(request: HttpRequest, payload: RcsMessageCreate,
                       idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """Send an RCS message (text, media, rich card or carousel, with suggested replies and
    actions) through a launched agent. Each recipient's phone is checked for RCS first;
    `fallback_text` goes as an SMS to one that is not capable, or after `fallback_after`
    seconds without delivery. Billed one `rcs_message` each at acceptance (a fallback is
    re-billed as SMS). Same answer as `POST /sms`."""
    actor = actor_of(request)
    data = payload.dict()
    data["content"] = payload.content.model_dump(mode="json")
    outcome = rcs_send(actor=actor, account=actor.account, idempotency_key=idempotency_key,
                       **data)
    return Status(200 if outcome.replayed else 201, send_answer(outcome))


@router.get("/rcs/agents", response=list[RcsAgentOut])
def rcs_agent_list(request: HttpRequest):
    """The account's RCS agents with their validation per carrier."""
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    return RcsAgent.objects.filter(account=actor.account).prefetch_related("reviews")


@router.post("/rcs/agents", response={201: RcsAgentOut})
def rcs_agent_post(request: HttpRequest, payload: RcsAgentCreate):
    """Create an agent (a draft): brand, logo and banner (base64), colour, description,
    contact, privacy and terms URLs, use case."""
    actor = actor_of(request)
    data = _agent_fields(payload, payload.dict())
    return Status(201, rcs_agent_create(actor=actor, account=actor.account, **data))


@router.get("/rcs/agents/{rcs_agent_id}", response=RcsAgentOut)
def rcs_agent_read(request: HttpRequest, rcs_agent_id: str):
    actor = actor_of(request, Perm.MESSAGING_VIEW)
    return rcs_agent_get(account=actor.account, id=rcs_agent_id)


@router.patch("/rcs/agents/{rcs_agent_id}", response=RcsAgentOut)
def rcs_agent_patch(request: HttpRequest, rcs_agent_id: str, payload: RcsAgentPatch):
    """Change an agent; a submitted or launched agent goes back to validation."""
    actor = actor_of(request)
    agent = rcs_agent_get(account=actor.account, id=rcs_agent_id)
    data = _agent_fields(payload, {k: v for k, v in payload.dict(exclude_unset=True).items()
                                   if v is not None})
    return rcs_agent_update(actor=actor, agent=agent, **data)


@router.post("/rcs/agents/{rcs_agent_id}/submit", response=RcsAgentOut)
def rcs_agent_submit_post(request: HttpRequest, rcs_agent_id: str):
    """Submit an agent to the carriers' validation (the operator decides per carrier)."""
    actor = actor_of(request)
    return rcs_agent_submit(actor=actor, agent=rcs_agent_get(account=actor.account,
                                                             id=rcs_agent_id))
