"""Messaging → RCS agents: the client creates and edits an agent (logo and banner
uploaded), submits it to the carriers' validation and follows each carrier's decision
with its reason. Every write goes through `chappe.messaging.rcs.agents`, as the API's."""

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.common.errors import ChappeError, ValidationFailed
from chappe.messaging.rcs.agents import (
    PROFILE_FIELDS,
    rcs_agent_create,
    rcs_agent_get,
    rcs_agent_submit,
    rcs_agent_update,
)
from chappe.messaging.rcs.models import AgentStatus, RcsAgent
from chappe.web.auth import account_view, apply_service_error
from chappe.web.rcs_forms import RcsAgentForm

# An agent that can be (re)submitted: never submitted, or refused by every carrier.
SUBMITTABLE = frozenset({AgentStatus.DRAFT, AgentStatus.REJECTED})


@account_view(Perm.MESSAGING_VIEW)
def rcs_agent_list(request: HttpRequest, actor: Actor) -> HttpResponse:
    agents = (RcsAgent.objects.filter(account=actor.account).prefetch_related("reviews")
              .order_by("brand_name"))
    return render(request, "web/rcs_agents.html", {
        "agents": agents, "can_edit": actor.can(Perm.MESSAGING_SEND)})


@account_view(Perm.MESSAGING_SEND)
def rcs_agent_new(request: HttpRequest, actor: Actor) -> HttpResponse:
    form = RcsAgentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            agent = rcs_agent_create(actor=actor, account=actor.account,
                                     **form.service_arguments())
        except ChappeError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("Agent “%(name)s” created: submit it for validation "
                                        "when it is ready.") % {"name": agent.brand_name})
            return redirect("web:rcs_agent", agent_id=agent.pk)
    return render(request, "web/rcs_agent.html", {"form": form, "agent": None})


@account_view(Perm.MESSAGING_VIEW)
def rcs_agent_detail(request: HttpRequest, actor: Actor, agent_id: UUID) -> HttpResponse:
    """The agent, each carrier's review and reason; POST saves a change (a submitted
    agent goes back to validation)."""
    agent = rcs_agent_get(account=actor.account, id=agent_id)
    initial = {key: getattr(agent, key) for key in PROFILE_FIELDS}
    form = RcsAgentForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST":
        actor.require(Perm.MESSAGING_SEND)
        if form.is_valid():
            try:
                agent = rcs_agent_update(actor=actor, agent=agent, **form.service_arguments())
            except ChappeError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("Agent saved."))
                return redirect("web:rcs_agent", agent_id=agent.pk)
    return render(request, "web/rcs_agent.html", {
        "form": form, "agent": agent, "reviews": agent.reviews.order_by("carrier"),
        "can_submit": agent.status in SUBMITTABLE and actor.can(Perm.MESSAGING_SEND)})


@account_view(Perm.MESSAGING_SEND)
@require_POST
def rcs_agent_submit_view(request: HttpRequest, actor: Actor, agent_id: UUID) -> HttpResponse:
    agent = rcs_agent_get(account=actor.account, id=agent_id)
    try:
        rcs_agent_submit(actor=actor, agent=agent)
    except ChappeError as exc:
        apart = exc.details if isinstance(exc, ValidationFailed) else {}
        messages.error(request, " ".join([str(exc.message), *(
            f"{field}: {' '.join(map(str, errors))}" for field, errors in apart.items())]))
    else:
        messages.success(request, _("Agent submitted to the carriers' validation."))
    return redirect("web:rcs_agent", agent_id=agent.pk)
