"""The dialer's side on the data (decision 0048): consumers claimed through
`common.leases`, the French rules applied at the moment of each dial (a refused dial is
logged with its rule and deferred to when the rule allows it), the pacing floor, the
outcome of each call driving the retry rules, and the agents' dispositions and callbacks."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from fractions import Fraction

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.agents.acd import State
from chappe.agents.models import Agent, QueueMember
from chappe.agents.services.states import agent_offer
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ValidationFailed
from chappe.common.leases import LEASE_RELEASED, lease_claim
from chappe.dialer import french_rules, pacing
from chappe.dialer.models import (
    CallCampaign,
    CampaignContact,
    CampaignState,
    ContactStatus,
    DialAttempt,
    DialLogEntry,
    DialMode,
    Outcome,
)
from chappe.dialer.selectors import consumer_of, rules_campaign

# A claimed consumer is the dialer's for this long (extended while the call lasts).
LEASE = timedelta(minutes=5)
# History the predictive pacing measures the hit rate and abandon rate over.
HISTORY = timedelta(days=30)
# Wrap-ups ending within this are agents "about to be free" (about a ring's time).
SOON = timedelta(seconds=15)


@dataclass(frozen=True)
class Dial:
    """A call to place now: allowed by every rule at `at`, recorded as an attempt."""

    attempt_id: str
    contact_id: str
    campaign_id: str
    account_id: str
    number: str
    caller_id: str
    queue_id: str
    amd: bool


def _campaign_window(campaign: CallCampaign, number: str, at: datetime) -> datetime | None:
    """None when `at` is inside the campaign's own schedule for `number`, else the next
    moment it opens (its daily windows are in the consumer's time zone)."""
    if campaign.starts_at and at < campaign.starts_at:
        return campaign.starts_at
    if not campaign.daily_windows:
        return None
    zone = french_rules.consumer_zone(number)
    local = at.astimezone(zone)
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        for window in sorted(campaign.daily_windows, key=lambda w: w["start"]):
            opens = datetime.combine(day, time.fromisoformat(window["start"]), zone)
            closes = datetime.combine(day, time.fromisoformat(window["end"]), zone)
            if opens <= local < closes:
                return None
            if local < opens:
                return opens
    return None  # pragma: no cover - a window opens every day


def _log(campaign: CallCampaign, at: datetime, number: str, refusal: french_rules.Refusal
         ) -> DialLogEntry:
    return DialLogEntry(campaign=campaign, at=at, number=number, rule=refusal.rule,
                        retry_at=refusal.retry_at, details=dict(refusal.details))


def _stale_scrub(campaign: CallCampaign, rules: french_rules.Campaign, at: datetime) -> bool:
    return campaign.commercial and (rules.bloctel_scrubbed_at is None
                                    or at - rules.bloctel_scrubbed_at
                                    > french_rules.SCRUB_VALIDITY)


def _hold(campaign: CallCampaign, at: datetime, rule: str) -> None:
    """The campaign stops dialing new consumers (logged once, when it starts)."""
    if campaign.hold_reason != rule:
        CallCampaign.objects.filter(pk=campaign.pk).update(hold_reason=rule)
        campaign.hold_reason = rule
        DialLogEntry.objects.create(campaign=campaign, at=at, rule=rule,
                                    details={"new_numbers": "held"})


def dials_claim(*, campaign: CallCampaign, now: datetime, limit: int, holder: str) -> list[Dial]:
    """Up to `limit` calls to place now for a running campaign: the due consumers claimed
    (a lease), each checked against the French rules at `now` with its record as it is
    now (attempts across every campaign and manual call, consent, refusal, contract,
    Bloctel). A refused one is logged with the rule and waits until the rule allows it
    (or is excluded when waiting cannot lift it); an allowed one becomes an attempt."""
    if limit <= 0 or campaign.state != CampaignState.RUNNING:
        return []
    if campaign.ends_at and now >= campaign.ends_at:
        return []
    rules = rules_campaign(campaign=campaign)
    due = CampaignContact.objects.filter(campaign=campaign, status=ContactStatus.PENDING) \
        .filter(Q(next_attempt_at=None) | Q(next_attempt_at__lte=now))
    if _stale_scrub(campaign, rules, now):
        _hold(campaign, now, french_rules.BLOCTEL_STALE)
        due = due.filter(attempts__gt=0)  # only those already called go on
    elif campaign.hold_reason:
        CallCampaign.objects.filter(pk=campaign.pk).update(hold_reason="")
        campaign.hold_reason = ""
    dials: list[Dial] = []
    # Callbacks and retries due first (at the time chosen), then the consumers not yet
    # called; a few more than needed: some will be refused by the rules.
    order = (F("next_attempt_at").asc(nulls_last=True), "id")
    for contact in lease_claim(due.order_by(*order), limit=limit * 2, now=now,
                               lease=LEASE, holder=holder):
        if len(dials) >= limit:
            CampaignContact.objects.filter(pk=contact.pk).update(**LEASE_RELEASED)
            continue
        dial = _dial_or_defer(campaign, rules, contact, now, holder)
        if dial is not None:
            dials.append(dial)
    return dials


@transaction.atomic
def _dial_or_defer(campaign: CallCampaign, rules: french_rules.Campaign,
                   contact: CampaignContact, now: datetime, holder: str) -> Dial | None:
    opens = _campaign_window(campaign, contact.number, now)
    refusals = [] if opens is None else [french_rules.Refusal("schedule", opens)]
    if not refusals:
        refusals = french_rules.dial_refusals(
            consumer_of(account=campaign.account, number=contact.number, at=now),
            at=now, campaign=rules, first_contact=contact.attempts == 0)
    if refusals:
        DialLogEntry.objects.bulk_create(_log(campaign, now, contact.number, r)
                                         for r in refusals)
        waits = [r.retry_at for r in refusals]
        update = dict(LEASE_RELEASED)
        if all(waits):
            update["next_attempt_at"] = max(waits)
        elif any(r.rule == french_rules.BLOCTEL_STALE for r in refusals) and len(refusals) == 1:
            pass  # waits for a fresh scrub, not excluded
        else:
            update.update(status=ContactStatus.EXCLUDED,
                          excluded_reason=next(r.rule for r in refusals if r.retry_at is None))
        CampaignContact.objects.filter(pk=contact.pk).update(**update)
        return None
    attempt = DialAttempt.objects.create(account=campaign.account, campaign=campaign,
                                         campaign_contact=contact, number=contact.number, at=now)
    CampaignContact.objects.filter(pk=contact.pk).update(status=ContactStatus.DIALING,
                                                         attempts=F("attempts") + 1)
    return Dial(attempt_id=str(attempt.pk), contact_id=str(contact.pk),
                campaign_id=str(campaign.pk), account_id=str(campaign.account_id),
                number=contact.number, caller_id=campaign.caller_id,
                queue_id=str(campaign.queue_id), amd=campaign.amd)


@transaction.atomic
def dial_finish(*, attempt_id: str, outcome: str, now: datetime,
                answered_at: datetime | None = None, agent_id: str | None = None,
                sip_call_id: str = "") -> DialAttempt:
    """How a placed call ended, and what follows for its consumer: connected → done (the
    agent's disposition may ask for a callback); abandoned → not called again within the
    campaign's delay; busy, no answer, machine, failed → the campaign's retry rule for
    that outcome (retried after its delay while retries are left, else exhausted)."""
    if outcome not in Outcome.values or outcome == Outcome.DIALING:
        raise ValueError(f"not a final outcome: {outcome!r}")
    attempt = DialAttempt.objects.select_for_update().select_related("campaign").get(
        pk=attempt_id)
    campaign = attempt.campaign
    attempt.outcome, attempt.ended_at, attempt.answered_at = outcome, now, answered_at
    attempt.agent_id, attempt.sip_call_id = agent_id or None, sip_call_id
    attempt.save()
    contact = CampaignContact.objects.select_for_update().get(pk=attempt.campaign_contact_id)
    contact.last_outcome = outcome
    contact.outcome_counts = {**contact.outcome_counts,
                              outcome: contact.outcome_counts.get(outcome, 0) + 1}
    contact.locked_by, contact.locked_until = "", None
    if outcome == Outcome.ANSWERED:
        contact.status = ContactStatus.DONE
    elif outcome == Outcome.ABANDONED:
        contact.status = ContactStatus.PENDING
        contact.next_attempt_at = now + timedelta(minutes=campaign.abandon_redial_minutes)
    elif outcome == Outcome.MACHINE and campaign.amd_message:
        contact.status = ContactStatus.DONE  # a message was left
    else:
        rule = campaign.retry_rules.get(outcome, {"count": 0, "delay_minutes": 0})
        if contact.outcome_counts[outcome] <= rule["count"]:
            contact.status = ContactStatus.PENDING
            contact.next_attempt_at = now + timedelta(minutes=rule["delay_minutes"])
        else:
            contact.status = ContactStatus.EXHAUSTED
    contact.save()
    return attempt


def campaign_finish_if_done(*, campaign: CallCampaign, now: datetime) -> bool:
    """A running campaign with nobody left to call (or past its end) is finished."""
    if campaign.state != CampaignState.RUNNING:
        return False
    left = campaign.contacts.filter(status__in=[ContactStatus.PENDING, ContactStatus.DIALING])
    past_end = campaign.ends_at is not None and now >= campaign.ends_at \
        and not left.filter(status=ContactStatus.DIALING).exists()
    if left.exists() and not past_end:
        return False
    updated = CallCampaign.objects.filter(pk=campaign.pk, state=CampaignState.RUNNING).update(
        state=CampaignState.FINISHED, finished_at=now)
    return bool(updated)


def pacing_floor(*, campaign: CallCampaign, now: datetime) -> pacing.Floor:
    """The campaign's queue and history as the pacing core reads them."""
    members = Agent.objects.filter(
        pk__in=QueueMember.objects.filter(queue_id=campaign.queue_id).values("agent_id"),
        user__is_active=True)
    states = list(members.values_list("state", "state_changed_at", "wrap_up_seconds"))
    staffed = [s for s in states if s[0] not in (State.LOGGED_OUT, State.PAUSED)]
    ready = sum(1 for s in staffed if s[0] == State.AVAILABLE)
    soon = sum(1 for state, changed, wrap in staffed
               if state == State.WRAP_UP and changed + timedelta(seconds=wrap) <= now + SOON)
    attempts = campaign.attempts.filter(at__gt=now - HISTORY)
    counts = {outcome: attempts.filter(outcome=outcome).count()
              for outcome in (Outcome.DIALING, Outcome.ANSWERED, Outcome.ABANDONED)}
    placed = attempts.exclude(outcome=Outcome.DIALING).count()
    live = counts[Outcome.ANSWERED] + counts[Outcome.ABANDONED]
    return pacing.Floor(agents_staffed=len(staffed), agents_ready=ready,
                        lines_dialing=counts[Outcome.DIALING], agents_soon=Fraction(soon),
                        placed=placed, answered=live, live_answered=live,
                        abandoned=counts[Outcome.ABANDONED])


def campaign_pacing(campaign: CallCampaign) -> pacing.Pacing:
    return pacing.campaign_pacing(campaign.mode, lines_per_agent=campaign.lines_per_agent,
                                  abandon_cap=Fraction(campaign.abandon_cap_percent) / 100)


def dials_due(*, campaign: CallCampaign, now: datetime, holder: str) -> list[Dial]:
    """One turn of the dialer for `campaign`: how many calls the pacing core wants now,
    and those calls (claimed and checked)."""
    if campaign.mode == DialMode.PREVIEW:
        return []
    decision = pacing.calls_to_place(campaign_pacing(campaign),
                                     pacing_floor(campaign=campaign, now=now))
    return dials_claim(campaign=campaign, now=now, limit=decision.calls, holder=holder)


@transaction.atomic
def agent_for_call(*, campaign: CallCampaign, call_id: str, now: datetime) -> Agent | None:
    """A free agent of the campaign's queue for an answered call, the longest idle first,
    moved to ringing (None: nobody is free — the call is abandoned)."""
    free = Agent.objects.select_for_update().filter(
        pk__in=QueueMember.objects.filter(queue_id=campaign.queue_id).values("agent_id"),
        user__is_active=True, state=State.AVAILABLE).order_by(F("idle_since").asc(nulls_first=True))
    agent = free.first()
    if agent is None:
        return None
    return agent_offer(account=campaign.account, agent=agent, queue=campaign.queue,
                       call_id=call_id, now=now)


# --- agents: preview, dispositions, callbacks --------------------------------------------


def preview_next(*, actor: Actor, campaign: CallCampaign, agent: Agent,
                 now: datetime | None = None) -> Dial | None:
    """Preview mode: the next consumer for `agent` to see and dial (rules checked now)."""
    actor.require(Perm.CALLS_HANDLE)
    if campaign.mode != DialMode.PREVIEW:
        raise Conflict(_("Only a preview campaign hands records to agents."),
                       code="campaign_mode")
    dials = dials_claim(campaign=campaign, now=now or timezone.now(), limit=1,
                        holder=f"agent:{agent.pk}")
    return dials[0] if dials else None


def preview_taken(*, attempt_id: str, agent: Agent) -> None:
    """The preview consumer is the agent's: the attempt is theirs (their panel shows it)
    until their disposition ends it. The agent dials from their own phone, whose call
    record is the call: the attempt counts once more than the call, on the safe side of
    C-5's four attempts."""
    DialAttempt.objects.filter(pk=attempt_id).update(agent=agent)


@transaction.atomic
def disposition_set(*, actor: Actor, attempt: DialAttempt, code: str,
                    callback_at: datetime | None = None, now: datetime | None = None
                    ) -> DialAttempt:
    """The agent's disposition of a campaign call; a refusal code blocks the consumer for
    60 days (every campaign of the account); `callback_at`, a time the consumer chose,
    makes them due again then (still under the rules at that moment)."""
    actor.require(Perm.CALLS_HANDLE)
    now = now or timezone.now()
    campaign = attempt.campaign
    known = {d["code"] for d in campaign.dispositions}
    if code not in known:
        raise ValidationFailed(details={"code": [_(
            "Not one of the campaign's dispositions: %(codes)s.") % {
                "codes": ", ".join(sorted(known))}]})
    if callback_at is not None and (callback_at.tzinfo is None or callback_at <= now):
        raise ValidationFailed(details={"callback_at": [_("A future date and time with its "
                                                          "time zone.")]})
    attempt.disposition, attempt.refusal = code, code in campaign.refusal_codes()
    attempt.save(update_fields=["disposition", "refusal"])
    if attempt.outcome == Outcome.DIALING:  # a preview call the agent placed themselves
        attempt = dial_finish(attempt_id=str(attempt.pk), outcome=Outcome.ANSWERED, now=now,
                              agent_id=attempt.agent_id)
    contact = CampaignContact.objects.select_for_update().get(pk=attempt.campaign_contact_id)
    contact.disposition = code
    if attempt.refusal:
        contact.status = ContactStatus.EXCLUDED
        contact.excluded_reason = french_rules.REFUSAL_60_DAYS
        contact.callback_at = None
    elif callback_at is not None:
        contact.status, contact.next_attempt_at = ContactStatus.PENDING, callback_at
        contact.callback_at = callback_at
        contact.callback_agent = Agent.objects.filter(account=campaign.account,
                                                      user=actor.user).first()
    contact.save()
    audit_record(actor=actor, action="call_campaign.disposition", account=campaign.account,
                 target=attempt, details={"code": code, "refusal": attempt.refusal,
                                          "callback_at": callback_at.isoformat()
                                          if callback_at else None})
    return attempt
