"""Call campaign pages (contact center): the list with each campaign's counters; a
campaign's page with its progress (consumers by status, attempts by outcome, the abandon
rate, dials refused by rule, a chart of the calls placed, answered and abandoned by hour
(server-drawn SVG, as the statistics page's) — an htmx partial polled every two seconds,
like the SMS campaigns'), its script and dispositions, the log of refused dials, and launch, pause,
resume, stop; the Bloctel page (export the prospects, import the returned list, the
scrubs kept as proof). Drafts are created through the API (`/api/v1/call-campaigns`)."""

from datetime import timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.agents.selectors import agent_of_user
from chappe.common.errors import ChappeError
from chappe.dialer import selectors, services
from chappe.web.auth import REFUSALS, account_view
from chappe.web.charts import bar_chart
from chappe.web.views.common import confirmed_action

PAGE_SIZE = 50
LOG_ROWS = 50
# A campaign call stays on the agent's panel this long (the call and its wrap-up).
CURRENT_CALL = timedelta(hours=2)


@account_view(Perm.AGENTS_SUPERVISE)
def call_campaign_index(request: HttpRequest, actor: Actor) -> HttpResponse:
    page = Paginator(selectors.call_campaign_query(account=actor.account), PAGE_SIZE) \
        .get_page(request.GET.get("page"))
    rows = [(c, selectors.campaign_progress(campaign=c)) for c in page.object_list]
    return render(request, "web/call_campaigns.html", {"page": page, "rows": rows})


def _context(actor: Actor, campaign_id: UUID) -> dict:
    campaign = selectors.call_campaign_get(account=actor.account, id=campaign_id)
    return {"campaign": campaign, "progress": selectors.campaign_progress(campaign=campaign),
            "chart": _chart(selectors.campaign_hours(campaign=campaign)),
            "log": selectors.campaign_log(campaign=campaign)[:LOG_ROWS]}


def _chart(hours: list[selectors.HourOfCalls]) -> SafeString | None:
    """Calls placed, answered (taken by an agent) and abandoned, hour by hour."""
    if not hours:
        return None
    return bar_chart([h.hour.strftime("%d/%m %H:00") for h in hours], [
        (_("Calls placed"), [h.attempts for h in hours]),
        (_("Answered"), [h.answered for h in hours]),
        (_("Abandoned"), [h.abandoned for h in hours])],
        title=_("Calls by hour"))


@account_view(Perm.AGENTS_SUPERVISE)
def call_campaign_detail(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    return render(request, "web/call_campaign_detail.html", _context(actor, campaign_id))


@account_view(Perm.AGENTS_SUPERVISE)
def call_campaign_progress(request: HttpRequest, actor: Actor,
                           campaign_id: UUID) -> HttpResponse:
    return render(request, "web/partials/call_campaign_progress.html",
                  _context(actor, campaign_id))


def _act(request: HttpRequest, actor: Actor, campaign_id: UUID, action, done: str
         ) -> HttpResponse:
    campaign = selectors.call_campaign_get(account=actor.account, id=campaign_id)
    try:
        action(actor=actor, campaign=campaign)
    except REFUSALS:
        raise
    except ChappeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("web:call_campaign", campaign_id=campaign.pk)


@require_POST
@account_view(Perm.AGENTS_SUPERVISE)
def call_campaign_launch(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    return _act(request, actor, campaign_id, services.call_campaign_launch,
                _("The campaign is launched: the dialer calls within the legal hours."))


@require_POST
@account_view(Perm.AGENTS_SUPERVISE)
def call_campaign_pause(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    return _act(request, actor, campaign_id, services.call_campaign_pause,
                _("The campaign is paused: no new call until you resume it."))


@require_POST
@account_view(Perm.AGENTS_SUPERVISE)
def call_campaign_resume(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    return _act(request, actor, campaign_id, services.call_campaign_resume,
                _("The campaign goes on."))


@account_view(Perm.AGENTS_SUPERVISE)
def call_campaign_stop(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    campaign = selectors.call_campaign_get(account=actor.account, id=campaign_id)
    return confirmed_action(
        request, act=lambda: services.call_campaign_stop(actor=actor, campaign=campaign),
        question=_("Stop the campaign “%(name)s”? Nobody more will be called; this cannot "
                   "be undone.") % {"name": campaign.name},
        button=_("Stop the campaign"),
        back=reverse("web:call_campaign", args=[campaign.pk]),
        done=_("The campaign is stopped."))


@account_view(Perm.CALLS_HANDLE)
def agent_campaign_call(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The agent's current campaign call: the consumer, the campaign's script and its
    dispositions, and a callback at a time the consumer chose."""
    agent = agent_of_user(account=actor.account, user=actor.user)
    attempt = agent and selectors.agent_current_attempt(
        account=actor.account, agent_id=agent.pk, since=timezone.now() - CURRENT_CALL)
    if request.method == "POST" and attempt:
        callback = parse_datetime(request.POST.get("callback_at") or "")
        if callback is not None and timezone.is_naive(callback):
            callback = timezone.make_aware(callback, ZoneInfo(actor.account.timezone))
        try:
            services.disposition_set(actor=actor, attempt=attempt,
                                     code=request.POST.get("code", ""), callback_at=callback)
        except REFUSALS:
            raise
        except ChappeError as exc:
            messages.error(request, "; ".join(
                [exc.message, *(m for ms in exc.details.values() for m in ms)]))
        else:
            messages.success(request, _("Disposition saved."))
        return redirect("web:agent_campaign_call")
    previews = (selectors.agent_preview_campaigns(account=actor.account, agent_id=agent.pk)
                if agent else [])
    return render(request, "web/agent_campaign_call.html",
                  {"attempt": attempt, "previews": previews})


@require_POST
@account_view(Perm.CALLS_HANDLE)
def agent_preview_next(request: HttpRequest, actor: Actor, campaign_id: UUID) -> HttpResponse:
    """Preview mode: the next consumer for the agent to see, then dial from their phone
    (the rules are checked now and the attempt counted)."""
    agent = agent_of_user(account=actor.account, user=actor.user)
    campaign = selectors.call_campaign_get(account=actor.account, id=campaign_id)
    if agent is None:
        messages.error(request, _("Only an agent takes preview calls."))
        return redirect("web:agent_campaign_call")
    try:
        dial = services.preview_next(actor=actor, campaign=campaign, agent=agent)
    except REFUSALS:
        raise
    except ChappeError as exc:
        messages.error(request, exc.message)
        return redirect("web:agent_campaign_call")
    if dial is None:
        messages.info(request, _("Nobody is due in this campaign now."))
    else:
        services.preview_taken(attempt_id=dial.attempt_id, agent=agent)
    return redirect("web:agent_campaign_call")


@account_view(Perm.AGENTS_SUPERVISE)
def bloctel(request: HttpRequest, actor: Actor) -> HttpResponse:
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose the file the Bloctel operator returned."))
        else:
            try:
                scrub = services.bloctel_import(
                    actor=actor, account=actor.account,
                    data=upload.read(services.MAX_FILE_BYTES + 1), filename=upload.name or "")
            except REFUSALS:
                raise
            except ChappeError as exc:
                messages.error(request, "; ".join(
                    [exc.message, *(m for ms in exc.details.values() for m in ms)]))
            else:
                messages.success(request, _(
                    "Scrub imported: %(numbers)d numbers on the list, %(excluded)d consumers "
                    "excluded from your campaigns.") % {"numbers": scrub.numbers,
                                                        "excluded": scrub.excluded})
                return redirect("web:bloctel")
    scrubs = selectors.bloctel_scrub_query(account=actor.account)[:20]
    return render(request, "web/bloctel.html", {"scrubs": scrubs})


@account_view(Perm.AGENTS_SUPERVISE)
def bloctel_export(request: HttpRequest, actor: Actor) -> HttpResponse:
    response = HttpResponse("".join(services.bloctel_export_lines(account=actor.account)),
                            content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="bloctel-prospects.txt"'
    return response
