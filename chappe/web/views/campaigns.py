"""Campaign pages: the list; a draft (the form with its audience picker, then the
personalised preview per recipient and the cost estimate of what was saved, and the
launch); a launched campaign's live progress (an htmx partial polled every two seconds,
its delivery curve drawn as inline SVG) with pause, resume and cancel."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.campaigns import selectors, services
from chappe.campaigns.models import Campaign, CampaignStatus
from chappe.campaigns.personalize import TemplateError
from chappe.common.errors import ChappeError, ValidationFailed
from chappe.contacts.models import ContactList
from chappe.contacts.selectors import contact_list_query, field_specs
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.campaign_forms import CampaignForm
from chappe.web.selectors import recent_senders
from chappe.web.views.common import confirmed_action

PAGE_SIZE = 50
POLL = "2s"
PREVIEW_ROWS = 20
CHART_WIDTH, CHART_HEIGHT = 640, 180


def _form(request: HttpRequest, actor: Actor,
          campaign: Campaign | None) -> tuple[CampaignForm, list[ContactList]]:
    account = actor.account
    lists = list(contact_list_query(account=account))
    if campaign is not None:
        initial = CampaignForm.initial_for(campaign)
    else:
        senders = recent_senders(account=account, limit=1)
        initial = {"sender": senders[0]} if senders else {}
    form = CampaignForm(request.POST if request.method == "POST" else None, account=account,
                        lists=lists, specs=field_specs(account=account), initial=initial)
    return form, lists


def _show_error(form: CampaignForm, exc: ChappeError) -> None:
    if isinstance(exc, ValidationFailed):
        exc.details = {form.error_field(key): value for key, value in exc.details.items()}
    apply_service_error(form, exc)


@account_view(Perm.MESSAGING_VIEW)
def campaign_index(request: HttpRequest, actor: Actor) -> HttpResponse:
    campaigns = selectors.campaign_query(account=actor.account)
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/campaigns.html", {"page": page})


@account_view(Perm.MESSAGING_SEND)
def campaign_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    form, lists = _form(request, actor, None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(actor=actor, account=actor.account,
                                                lists=form.chosen_lists(lists), **form.values())
        except REFUSALS:
            raise
        except ChappeError as exc:
            _show_error(form, exc)
        else:
            return redirect("web:campaign", campaign_id=campaign.pk)
    return render(request, "web/campaign_form.html", {"form": form, "campaign": None})


def _draft(request: HttpRequest, actor: Actor, campaign: Campaign) -> HttpResponse:
    form, lists = _form(request, actor, campaign)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(actor=actor, campaign=campaign, values=form.values(),
                                     lists=form.chosen_lists(lists))
        except REFUSALS:
            raise
        except ChappeError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("The campaign was saved."))
            return redirect("web:campaign", campaign_id=campaign.pk)
    context: dict[str, Any] = {"form": form, "campaign": campaign}
    audience = selectors.campaign_audience(campaign)
    content = selectors.campaign_content(campaign)
    try:
        context["preview"] = selectors.campaign_preview(
            account=actor.account, audience=audience, content=content, limit=PREVIEW_ROWS)
        context["estimate"] = selectors.campaign_estimate(
            account=actor.account, audience=audience, content=content)
    except TemplateError as exc:
        context["template_error"] = exc.message
    return render(request, "web/campaign_form.html", context)


def _chart(progress: selectors.Progress) -> dict[str, Any] | None:
    """The delivered and failed curves as SVG polyline points (time left to right)."""
    points = progress.series
    if len(points) < 2:
        return None
    start, end = points[0].at, points[-1].at
    span = (end - start).total_seconds() or 1.0
    top = max(progress.total, max(p.delivered for p in points), 1)

    def line(attribute: str) -> str:
        return " ".join(
            f"{(p.at - start).total_seconds() / span * CHART_WIDTH:.1f},"
            f"{CHART_HEIGHT - getattr(p, attribute) / top * CHART_HEIGHT:.1f}" for p in points)

    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "top": top, "start": start,
            "end": end, "delivered": line("delivered"), "failed": line("failed")}


def _progress_context(actor: Actor, campaign: Campaign) -> dict[str, Any]:
    progress = selectors.campaign_progress(campaign=campaign)
    return {"campaign": campaign, "progress": progress, "chart": _chart(progress),
            "poll": None if campaign.is_final else POLL,
            "can_send": actor.can(Perm.MESSAGING_SEND),
            "progress_url": reverse("web:campaign_progress", args=[campaign.pk])}


@account_view(Perm.MESSAGING_VIEW)
def campaign_detail(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    campaign = selectors.campaign_get(account=actor.account, id=campaign_id)
    if campaign.editable and actor.can(Perm.MESSAGING_SEND):
        return _draft(request, actor, campaign)
    return render(request, "web/campaign_detail.html", _progress_context(actor, campaign))


@account_view(Perm.MESSAGING_VIEW)
def campaign_progress(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    """The progress partial (htmx polls it until the campaign is over)."""
    campaign = selectors.campaign_get(account=actor.account, id=campaign_id)
    return render(request, "web/partials/campaign_progress.html",
                  _progress_context(actor, campaign))


def _act(request: HttpRequest, campaign: Campaign, act: Any, done: str) -> HttpResponse:
    try:
        act()
    except REFUSALS:
        raise
    except ChappeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("web:campaign", campaign_id=campaign.pk)


@require_POST
@account_view(Perm.MESSAGING_SEND)
def campaign_launch(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    campaign = selectors.campaign_get(account=actor.account, id=campaign_id)
    try:
        launched = services.campaign_launch(actor=actor, campaign=campaign)
    except REFUSALS:
        raise
    except ChappeError as exc:
        messages.error(request, exc.message)
        return redirect("web:campaign", campaign_id=campaign.pk)
    if launched.status == CampaignStatus.REVIEW:
        messages.warning(request, _(
            "Its recipients are unusually concentrated on one operator: the campaign waits "
            "for the operator's review before it is sent."))
    else:
        messages.success(request, _("The campaign is launched."))
    return redirect("web:campaign", campaign_id=campaign.pk)


@require_POST
@account_view(Perm.MESSAGING_SEND)
def campaign_pause(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    campaign = selectors.campaign_get(account=actor.account, id=campaign_id)
    return _act(request, campaign, lambda: services.campaign_pause(actor=actor,
                                                                   campaign=campaign),
                _("The campaign is paused: nothing more leaves until you resume it."))


@require_POST
@account_view(Perm.MESSAGING_SEND)
def campaign_resume(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    campaign = selectors.campaign_get(account=actor.account, id=campaign_id)
    return _act(request, campaign, lambda: services.campaign_resume(actor=actor,
                                                                    campaign=campaign),
                _("The campaign goes on."))


@account_view(Perm.MESSAGING_SEND)
def campaign_cancel(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    campaign = selectors.campaign_get(account=actor.account, id=campaign_id)
    return confirmed_action(
        request, act=lambda: services.campaign_cancel(actor=actor, campaign=campaign),
        question=_("Cancel the campaign “%(name)s”? Messages that have not left are canceled "
                   "and credited back; those already sent are not.") % {"name": campaign.name},
        button=_("Cancel the campaign"),
        back=reverse("web:campaign", args=[campaign.pk]),
        done=_("The campaign is being canceled."))


@account_view(Perm.MESSAGING_SEND)
def campaign_delete(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    campaign = selectors.campaign_get(account=actor.account, id=campaign_id)
    response = confirmed_action(
        request, act=lambda: services.campaign_delete(actor=actor, campaign=campaign),
        question=_("Delete the draft “%(name)s”?") % {"name": campaign.name},
        button=_("Delete the draft"), back=reverse("web:campaign", args=[campaign.pk]),
        done=_("The draft was deleted."))
    if request.method == "POST" and not Campaign.objects.filter(pk=campaign.pk).exists():
        return redirect("web:campaigns")
    return response
