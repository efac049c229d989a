"""Campaign endpoints: drafts, preview per recipient, estimate, launch, pause, resume,
cancel and live progress. Thin: the services and selectors do the work."""

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.api.v1.base import actor_of
from chappe.campaigns import selectors, services
from chappe.campaigns.models import Campaign, CampaignStatus
from chappe.campaigns.personalize import TemplateError
from chappe.campaigns.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    EstimateOut,
    PreviewOut,
    ProgressOut,
)
from chappe.common.errors import ValidationFailed
from chappe.contacts.models import ContactList
from chappe.contacts.selectors import contact_lists_by_id

router = Router(tags=["campaigns"])


def _actor(request: HttpRequest, perm: Perm = Perm.MESSAGING_SEND) -> Actor:
    actor = actor_of(request, perm)
    return actor


def _lists(actor: Actor, ids: list[str] | None) -> list[ContactList] | None:
    if ids is None:
        return None
    found = contact_lists_by_id(account=actor.account, ids=ids)
    if len(found) != len(set(ids)):
        raise ValidationFailed(details={"list_ids": [_("Unknown list.")]})
    return found


def _template_checked(read: Any) -> Any:
    """A preview or estimate of a draft whose template no longer parses (a custom field
    it uses was deleted) is a validation error on its text."""
    try:
        return read()
    except TemplateError as exc:
        raise ValidationFailed(details={"text": [exc.message]}) from None


def _campaign(actor: Actor, campaign_id: str) -> Campaign:
    return selectors.campaign_get(account=actor.account, id=campaign_id)


@router.get("/campaigns", response=list[CampaignOut])
@paginate(LimitOffsetPagination)
def campaign_list(request: HttpRequest, status: CampaignStatus | None = None):
    """The account's campaigns, newest first."""
    actor = _actor(request, Perm.MESSAGING_VIEW)
    return selectors.campaign_query(account=actor.account, status=status)


@router.post("/campaigns", response={201: CampaignOut})
def campaign_create(request: HttpRequest, payload: CampaignIn):
    """A draft campaign: a template, an audience (lists or the whole book, filters on
    contact fields, pasted numbers), a sender, a kind and a schedule. Nothing is sent
    until it is launched."""
    actor = _actor(request)
    data = payload.dict()
    rcs = data.pop("rcs")
    if rcs is not None:
        data.update(rcs_agent_id=rcs["agent_id"], fallback_text=rcs["fallback_text"],
                    fallback_after=rcs["fallback_after"],
                    rcs_content=payload.rcs.content.model_dump(mode="json"))
    campaign = services.campaign_create(
        actor=actor, account=actor.account, lists=_lists(actor, data.pop("list_ids")) or [],
        **data)
    return Status(201, _campaign(actor, campaign.pk))


@router.get("/campaigns/{campaign_id}", response=CampaignOut)
def campaign_read(request: HttpRequest, campaign_id: str):
    actor = _actor(request, Perm.MESSAGING_VIEW)
    return _campaign(actor, campaign_id)


@router.patch("/campaigns/{campaign_id}", response=CampaignOut)
def campaign_patch(request: HttpRequest, campaign_id: str, payload: CampaignPatch):
    """Change a draft (409 once launched): the fields given."""
    actor = _actor(request)
    campaign = _campaign(actor, campaign_id)
    data = payload.dict(exclude_unset=True)
    lists = _lists(actor, data.pop("list_ids", None))
    services.campaign_update(actor=actor, campaign=campaign, values=data, lists=lists)
    return _campaign(actor, campaign.pk)


@router.delete("/campaigns/{campaign_id}", response={204: None})
def campaign_delete(request: HttpRequest, campaign_id: str):
    """Delete a draft (409 once launched)."""
    actor = _actor(request)
    services.campaign_delete(actor=actor, campaign=_campaign(actor, campaign_id))
    return Status(204, None)


@router.get("/campaigns/{campaign_id}/preview", response=list[PreviewOut])
def campaign_preview(request: HttpRequest, campaign_id: str,
                     limit: int = Query(20, ge=1, le=100)):
    """The first recipients with their own text, encoding (GSM-7 or UCS-2), segments and
    price."""
    actor = _actor(request)
    campaign = _campaign(actor, campaign_id)
    return _template_checked(lambda: selectors.campaign_preview(
        account=actor.account, audience=selectors.campaign_audience(campaign),
        content=selectors.campaign_content(campaign), limit=limit))


@router.get("/campaigns/{campaign_id}/estimate", response=EstimateOut)
def campaign_estimate(request: HttpRequest, campaign_id: str):
    """What launching now would send and cost: recipients by country, segments,
    encodings, price, the prepaid credit available, and the operator-skew check (M-9)."""
    actor = _actor(request)
    campaign = _campaign(actor, campaign_id)
    return _template_checked(lambda: selectors.campaign_estimate(
        account=actor.account, audience=selectors.campaign_audience(campaign),
        content=selectors.campaign_content(campaign),
        operator_pricing=campaign.operator_pricing))


@router.post("/campaigns/{campaign_id}/launch", response=CampaignOut)
def campaign_launch(request: HttpRequest, campaign_id: str):
    """Launch a draft: accepted in the background (follow `/progress`), or held for the
    operator's review when its operator mix is skewed (status "review"). 402 when the
    prepaid credit cannot pay for it, 400 when nobody can receive it or a destination has
    no price."""
    actor = _actor(request)
    campaign = services.campaign_launch(actor=actor, campaign=_campaign(actor, campaign_id))
    return _campaign(actor, campaign.pk)


@router.post("/campaigns/{campaign_id}/pause", response=CampaignOut)
def campaign_pause(request: HttpRequest, campaign_id: str):
    """Nothing more is accepted nor leaves until resumed (what a carrier link already took
    leaves)."""
    actor = _actor(request)
    campaign = services.campaign_pause(actor=actor, campaign=_campaign(actor, campaign_id))
    return _campaign(actor, campaign.pk)


@router.post("/campaigns/{campaign_id}/resume", response=CampaignOut)
def campaign_resume(request: HttpRequest, campaign_id: str):
    actor = _actor(request)
    campaign = services.campaign_resume(actor=actor, campaign=_campaign(actor, campaign_id))
    return _campaign(actor, campaign.pk)


@router.post("/campaigns/{campaign_id}/cancel", response=CampaignOut)
def campaign_cancel(request: HttpRequest, campaign_id: str):
    """Cancel what has not left: canceled in the background and credited back (M-8)."""
    actor = _actor(request)
    campaign = services.campaign_cancel(actor=actor, campaign=_campaign(actor, campaign_id))
    return _campaign(actor, campaign.pk)


@router.get("/campaigns/{campaign_id}/progress", response=ProgressOut)
def campaign_progress(request: HttpRequest, campaign_id: str):
    """Live progress: the launch, then the messages by status (counted in the background
    every few seconds, `sampled_at`) and the delivery curve."""
    actor = _actor(request, Perm.MESSAGING_VIEW)
    return selectors.campaign_progress(campaign=_campaign(actor, campaign_id))
