"""The RCS agent workflow (M-15, decision 0049): the client writes and submits its agent,
the operator decides per carrier, any change to a submitted agent sends it back for
validation, the operator suspends it, and 6 months without a send deactivate it after a
month's notice. Every change of status is audited and notified (`rcs_agent.status`
webhook to the account's default URL)."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ValidationFailed
from chappe.common.lookup import get_or_404
from chappe.common.numbers import InvalidNumber, normalize
from chappe.messaging.rcs.assets import BANNER, LOGO, asset_problem
from chappe.messaging.rcs.models import AgentStatus, RcsAgent, RcsAgentReview, ReviewStatus
from chappe.webhooks.selectors import webhook_url
from chappe.webhooks.services import EventDraft, webhooks_emit

# The fields the client writes; a change to any of them is re-validated.
PROFILE_FIELDS = ("brand_name", "color", "description", "phone", "website", "email",
                  "privacy_url", "terms_url", "use_case")
SUBMITTED = frozenset({AgentStatus.PENDING, AgentStatus.LAUNCHED, AgentStatus.REJECTED})
# An average month, for the idle rule (6 months = 182.6 days).
MONTH = timedelta(days=30.44)


def rcs_agent_get(*, account: Account, id: Any) -> RcsAgent:
    return get_or_404(RcsAgent.objects.filter(account=account), id)


def _check(agent: RcsAgent, logo: bytes | None, banner: bytes | None) -> None:
    errors: dict[str, list[str]] = {}
    for name, data, rule in (("logo", logo, LOGO), ("banner", banner, BANNER)):
        if data is not None and (problem := asset_problem(data, rule)):
            errors[name] = [problem]
    if agent.color and not (len(agent.color) == 7 and agent.color[0] == "#" and all(
            c in "0123456789abcdefABCDEF" for c in agent.color[1:])):
        errors["color"] = [_("A colour as #RRGGBB.")]
    try:
        validate_email(agent.email)
    except DjangoValidationError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    if agent.phone:
        try:
            agent.phone = normalize(agent.phone,
                                    default_country=agent.account.default_country).e164
        except InvalidNumber:
            errors["phone"] = [_("Not a valid phone number.")]
    if errors:
        raise ValidationFailed(details=errors)


def _notify(agent: RcsAgent, *, actor: Actor, action: str, details: dict | None = None) -> None:
    """Audit a change of the agent and tell the client (webhook `rcs_agent.status`)."""
    audit_record(actor=actor, account=agent.account, action=f"rcs_agent.{action}",
                 target=agent, details={"status": agent.status, **(details or {})})
    url = webhook_url(account_id=agent.account_id, callback_url="")
    webhooks_emit([EventDraft(
        account_id=agent.account_id, url=url, type="rcs_agent.status", subject_id=str(agent.pk),
        payload={"agent_id": str(agent.pk), "brand_name": agent.brand_name,
                 "status": agent.status, "reason": agent.status_reason, "action": action,
                 "reviews": {r.carrier: r.status for r in agent.reviews.all()}})])


def _store_assets(agent: RcsAgent, logo: bytes | None, banner: bytes | None) -> None:
    if logo is not None:
        agent.logo.save(f"{agent.pk}-logo", ContentFile(logo), save=False)
    if banner is not None:
        agent.banner.save(f"{agent.pk}-banner", ContentFile(banner), save=False)


@transaction.atomic
def rcs_agent_create(*, actor: Actor, account: Account, logo: bytes | None = None,
                     banner: bytes | None = None, **profile: Any) -> RcsAgent:
    """A new agent, as a draft (it sends nothing before it is validated)."""
    actor.require(Perm.MESSAGING_SEND)
    agent = RcsAgent(account=account, **{k: profile[k] for k in PROFILE_FIELDS if k in profile})
    _check(agent, logo, banner)
    _store_assets(agent, logo, banner)
    agent.save()
    _notify(agent, actor=actor, action="create")
    return agent


def _reopen(agent: RcsAgent, now: datetime) -> None:
    """Back to `pending`, one fresh review per carrier."""
    agent.status, agent.status_reason, agent.submitted_at = AgentStatus.PENDING, "", now
    agent.reviews.all().delete()
    RcsAgentReview.objects.bulk_create(
        RcsAgentReview(agent=agent, carrier=carrier) for carrier in settings.CHAPPE_RCS_CARRIERS)


@transaction.atomic
def rcs_agent_update(*, actor: Actor, agent: RcsAgent, logo: bytes | None = None,
                     banner: bytes | None = None, **changes: Any) -> RcsAgent:
    """Change the agent's profile or images; a submitted agent goes back to validation
    (M-15: re-validated after changes), and a launched one stops sending until then."""
    actor.require(Perm.MESSAGING_SEND)
    agent = RcsAgent.objects.select_for_update().get(pk=agent.pk)
    if agent.status in (AgentStatus.SUSPENDED, AgentStatus.DEACTIVATED):
        raise Conflict(_("A suspended or deactivated agent cannot be changed."),
                       code="rcs_agent_locked")
    changed = [k for k in PROFILE_FIELDS if k in changes and changes[k] != getattr(agent, k)]
    for key in changed:
        setattr(agent, key, changes[key])
    _check(agent, logo, banner)
    _store_assets(agent, logo, banner)
    changed += [name for name, data in (("logo", logo), ("banner", banner)) if data is not None]
    if not changed:
        return agent
    revalidate = agent.status in SUBMITTED
    if revalidate:
        _reopen(agent, timezone.now())
    agent.save()
    _notify(agent, actor=actor, action="update",
            details={"changed": changed, "revalidation": revalidate})
    return agent


@transaction.atomic
def rcs_agent_submit(*, actor: Actor, agent: RcsAgent) -> RcsAgent:
    """Ask the carriers to validate a draft (or a rejected agent, after changes)."""
    actor.require(Perm.MESSAGING_SEND)
    agent = RcsAgent.objects.select_for_update().get(pk=agent.pk)
    if agent.status not in (AgentStatus.DRAFT, AgentStatus.REJECTED):
        raise Conflict(_("Only a draft or a rejected agent can be submitted."),
                       code="rcs_agent_not_draft")
    missing = [f for f in ("logo", "banner") if not getattr(agent, f)]
    if missing:
        raise ValidationFailed(details={f: [_("Required before submitting.")] for f in missing})
    _reopen(agent, timezone.now())
    agent.save()
    _notify(agent, actor=actor, action="submit")
    return agent


def _status_from_reviews(agent: RcsAgent, now: datetime) -> None:
    reviews = list(agent.reviews.all())
    if any(r.status == ReviewStatus.APPROVED for r in reviews):
        if agent.status != AgentStatus.LAUNCHED:
            agent.launched_at = now
        agent.status, agent.status_reason = AgentStatus.LAUNCHED, ""
    elif reviews and all(r.status == ReviewStatus.REJECTED for r in reviews):
        agent.status = AgentStatus.REJECTED
        agent.status_reason = "; ".join(f"{r.carrier}: {r.reason}" for r in reviews)[:300]


@transaction.atomic
def rcs_agent_review(*, actor: Actor, agent: RcsAgent, carrier: str, approved: bool,
                     reason: str = "") -> RcsAgent:
    """The operator records one carrier's decision on a pending (or launched) agent; a
    rejection says why."""
    actor.require_operator()
    agent = RcsAgent.objects.select_for_update().get(pk=agent.pk)
    review = agent.reviews.filter(carrier=carrier).first()
    if review is None or agent.status not in (AgentStatus.PENDING, AgentStatus.LAUNCHED):
        raise Conflict(_("This agent is not waiting for %(carrier)s's validation.")
                       % {"carrier": carrier}, code="rcs_agent_not_pending")
    if not approved and not reason.strip():
        raise ValidationFailed(details={"reason": [_("Say why it is rejected.")]})
    now = timezone.now()
    review.status = ReviewStatus.APPROVED if approved else ReviewStatus.REJECTED
    review.reason, review.decided_at, review.decided_by = reason.strip(), now, actor.label
    review.save()
    _status_from_reviews(agent, now)
    agent.save()
    _notify(agent, actor=actor, action="review",
            details={"carrier": carrier, "approved": approved, "reason": review.reason})
    return agent


@transaction.atomic
def rcs_agent_suspend(*, actor: Actor, agent: RcsAgent, reason: str) -> RcsAgent:
    """The operator (or the supplier, through the operator) stops an agent from sending."""
    actor.require_operator()
    agent = RcsAgent.objects.select_for_update().get(pk=agent.pk)
    agent.status, agent.status_reason = AgentStatus.SUSPENDED, reason.strip()[:300]
    agent.save()
    _notify(agent, actor=actor, action="suspend")
    return agent


@transaction.atomic
def rcs_agent_reinstate(*, actor: Actor, agent: RcsAgent) -> RcsAgent:
    """Lift a suspension or a deactivation: the agent goes through validation again."""
    actor.require_operator()
    agent = RcsAgent.objects.select_for_update().get(pk=agent.pk)
    if agent.status not in (AgentStatus.SUSPENDED, AgentStatus.DEACTIVATED):
        raise Conflict(_("The agent is neither suspended nor deactivated."),
                       code="rcs_agent_not_suspended")
    _reopen(agent, timezone.now())
    agent.idle_notice_at = None
    agent.save()
    _notify(agent, actor=actor, action="reinstate")
    return agent


def agents_deactivate_idle(*, now: datetime | None = None) -> tuple[int, int]:
    """The scheduled job of the idle rule (M-15): a launched agent with no send for
    `CHAPPE_RCS_IDLE_MONTHS` months (counted from its launch if it never sent) is
    deactivated; one month before, its account is given notice. Answers (notices,
    deactivations)."""
    now = now or timezone.now()
    months = settings.CHAPPE_RCS_IDLE_MONTHS
    limit, notice = now - months * MONTH, now - (months - 1) * MONTH
    notified = deactivated = 0
    for agent in RcsAgent.objects.filter(status=AgentStatus.LAUNCHED):
        last = agent.last_used_at or agent.launched_at or agent.created_at
        with transaction.atomic():
            if last <= limit:
                agent.status = AgentStatus.DEACTIVATED
                agent.status_reason = _("No send for %(n)d months.") % {"n": months}
                agent.save()
                _notify(agent, actor=SYSTEM.on(agent.account), action="deactivate")
                deactivated += 1
            elif last <= notice and (agent.idle_notice_at is None or agent.idle_notice_at < last):
                agent.idle_notice_at = now
                agent.save()
                _notify(agent, actor=SYSTEM.on(agent.account), action="idle_notice",
                        details={"deactivation_after": (last + months * MONTH).isoformat()})
                notified += 1
    return notified, deactivated
