"""Contact center → Agents and Queues (C-4, C-7, C-8): supervisors manage agents, queues
and (administrators) licences; every user who is an agent sees their own state, SIP
credentials, and logs in, pauses or logs out from "My agent status". Every write goes
through chappe.agents' services."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.models import User
from chappe.accounts.roles import Perm
from chappe.agents import selectors
from chappe.agents.models import Agent
from chappe.agents.services import callbacks, licences, setup, states, wrap_up
from chappe.callcenter.selectors import audio_prompt_list
from chappe.common.errors import ChappeError
from chappe.web import softphone
from chappe.web.agent_forms import AgentForm, LicencesForm, QueueForm
from chappe.web.auth import REFUSALS, account_view, apply_service_error
from chappe.web.labels import badge_style


def _users_without_agent(actor: Actor):
    return User.objects.filter(account=actor.account, is_active=True, agent__isnull=True) \
        .order_by("email")


@account_view(Perm.AGENTS_SUPERVISE)
def agent_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The agents and their live states; POST adds one."""
    users = _users_without_agent(actor)
    form = AgentForm(request.POST or None, users=users)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agent = setup.agent_create(actor=actor, account=actor.account, user_id=data["user"],
                                       extension=data["extension"],
                                       wrap_up_seconds=data["wrap_up_seconds"],
                                       max_no_answer=data["max_no_answer"])
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("%(email)s is an agent, extension %(extension)s.")
                             % {"email": agent.user.email, "extension": agent.extension})
            return redirect("web:agents")
    return render(request, "web/agents.html", {
        "agents": selectors.agent_list(account=actor.account), "form": form,
        "licences": selectors.licences_of(account=actor.account),
        "logged_in": selectors.agents_logged_in(account=actor.account),
        "licences_form": LicencesForm(initial={
            "licences": selectors.licences_of(account=actor.account)}),
        "can_manage_licences": actor.can(Perm.LICENCES_MANAGE),
        "pause_reasons": selectors.pause_reason_list(account=actor.account),
    })


@account_view(Perm.LICENCES_MANAGE)
@require_POST
def licences_update(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = LicencesForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a number of licences."))
        return redirect("web:agents")
    try:
        licences.licences_set(actor=actor, account=actor.account,
                              licences=form.cleaned_data["licences"])
    except REFUSALS:
        raise
    except ChappeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The account now has %(count)d licences; the next "
                                    "invoice follows.") % {"count": form.cleaned_data["licences"]})
    return redirect("web:agents")


@account_view(Perm.CALLS_HANDLE)
@require_POST
def agent_state(request: HttpRequest, actor: Actor, agent_id: UUID) -> HttpResponse:
    """Log in, pause (with a reason), unpause, log out: an agent's own, or a supervisor's
    for anyone; the page it came from is shown again."""
    agent = selectors.agent_get(account=actor.account, agent_id=agent_id)
    try:
        states.agent_state_set(actor=actor, account=actor.account, agent=agent,
                               state=request.POST.get("state", ""),
                               pause_reason_id=request.POST.get("pause_reason") or None)
    except REFUSALS:
        raise
    except ChappeError as exc:
        messages.error(request, exc.message)
    back = request.POST.get("back")
    return redirect({"agents": "web:agents", "wallboard": "web:wallboard"}.get(back or "",
                                                                             "web:agent_me"))


@account_view(Perm.CALLS_HANDLE)
def agent_me(request: HttpRequest, actor: Actor) -> HttpResponse:
    """My agent status: state, SIP credentials for my phones, and the buttons."""
    agent: Agent | None = selectors.agent_of_user(account=actor.account, user=actor.user)
    callbacks = (selectors.callback_list(account=actor.account).filter(
        queue__members__agent=agent) if agent is not None else [])
    return render(request, "web/agent_me.html", {
        "agent": agent, "pause_reasons": selectors.pause_reason_list(account=actor.account),
        "callbacks": callbacks, "softphone_socket": softphone.PATH,
        "wrap_up_codes": selectors.wrap_up_code_list(account=actor.account),
        "caller_ids": softphone.caller_ids(str(actor.account.pk)),
        "ice_servers": softphone.ice_servers(),
        "dial": request.GET.get("dial", "")[:40],
        "state_seconds": _seconds_since(agent.state_changed_at) if agent is not None else 0,
        "history": selectors.agent_call_history(account=actor.account, agent=agent)
        if agent is not None else []})


def _seconds_since(at) -> int:
    return max(0, int((timezone.now() - at).total_seconds()))


@account_view(Perm.CALLS_HANDLE)
def agent_me_state(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The workspace's live state badge (issue 15), read every few seconds: the state
    changes with the calls and from elsewhere (the engine pausing an agent whose browser
    is gone, a supervisor), not only from this page. `seconds`: how long in it, by the
    server's clock (the page counts on from there)."""
    agent = selectors.agent_of_user(account=actor.account, user=actor.user)
    if agent is None:
        return JsonResponse({"error": "not_found", "message": str(_("You are not an agent "
                             "of this account.")), "details": {}}, status=404)
    seconds = _seconds_since(agent.state_changed_at)
    return JsonResponse({"state": agent.state, "label": str(agent.get_state_display()),
                         "style": badge_style(agent.state), "seconds": seconds,
                         "pause_reason": agent.pause_reason.name if agent.pause_reason
                         else ""})


@require_POST
@account_view(Perm.CALLS_HANDLE)
def agent_wrap_up(request: HttpRequest, actor: Actor) -> HttpResponse:
    """The softphone's wrap-up form (issue 15): a disposition code and a note on the call
    just taken; JSON in and out (the page stays on)."""
    try:
        record = wrap_up.call_wrap_up(actor=actor, account=actor.account,
                                      call_ref=request.POST.get("call", ""),
                                      code_id=request.POST.get("code") or None,
                                      note=request.POST.get("note", ""))
    except REFUSALS:
        raise
    except ChappeError as exc:
        return JsonResponse({"error": exc.code, "message": str(exc.message),
                             "details": getattr(exc, "details", {})}, status=409
                            if exc.code == "call_not_recorded" else 400)
    return JsonResponse({"call": str(record.pk), "message": str(_("Wrap-up saved."))})


@require_POST
@account_view(Perm.CALLS_HANDLE)
def callback_done(request: HttpRequest, actor: Actor, callback_id: UUID) -> HttpResponse:
    try:
        callbacks.callback_done(actor=actor, account=actor.account, callback_id=callback_id)
    except ChappeError as exc:
        messages.error(request, exc.message)
    return redirect("web:agent_me")


# --- queues -------------------------------------------------------------------------------


def _members(request: HttpRequest, agents) -> list[setup.MemberDraft]:
    """The ticked agents with their tiers (fields `member` and `tier-<agent id>`)."""
    ticked = set(request.POST.getlist("member"))
    drafts = []
    for position, agent in enumerate(agents):
        if str(agent.pk) in ticked:
            tier = request.POST.get(f"tier-{agent.pk}", "1")
            drafts.append(setup.MemberDraft(agent.pk, int(tier) if tier.isdigit() else 0,
                                            position))
    return drafts


def _queue_page(request: HttpRequest, actor: Actor, queue=None) -> HttpResponse:
    agents = list(selectors.agent_list(account=actor.account))
    initial: dict[str, Any] = {}
    tiers: dict[str, int] = {}
    if queue is not None:
        initial = {name: getattr(queue, name) for name in setup.QUEUE_FIELDS}
        tiers = {str(m.agent_id): m.tier for m in queue.members.all()}
    form = QueueForm(request.POST or None, initial=initial,
                     audio_prompts=audio_prompt_list(account=actor.account))
    if request.method == "POST" and form.is_valid():
        members = _members(request, agents)
        try:
            if queue is None:
                queue = setup.queue_create(actor=actor, account=actor.account,
                                           fields=form.cleaned_data, members=members)
            else:
                setup.queue_update(actor=actor, account=actor.account, queue=queue,
                                   fields=form.cleaned_data, members=members)
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Queue %(name)s saved.") % {"name": queue.name})
            return redirect("web:queues")
    return render(request, "web/queue_form.html", {
        "form": form, "queue": queue,
        "rows": [{"agent": a, "member": str(a.pk) in tiers, "tier": tiers.get(str(a.pk), 1)}
                 for a in agents]})


@account_view(Perm.AGENTS_SUPERVISE)
def queue_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    return render(request, "web/queues.html",
                  {"queues": selectors.queue_list(account=actor.account)})


@account_view(Perm.AGENTS_SUPERVISE)
def queue_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    return _queue_page(request, actor)


@account_view(Perm.AGENTS_SUPERVISE)
def queue_edit(request: HttpRequest, actor: Actor, queue_id: UUID) -> HttpResponse:
    return _queue_page(request, actor, selectors.queue_get(account=actor.account,
                                                           queue_id=queue_id))
