"""Reads of call campaigns: tenant-scoped lookups, the consumer's record the French rules
read at dial time, the Bloctel list in force, and the progress counters."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncHour

from chappe.accounts.models import Account
from chappe.callcenter.models import CallRecord, Direction
from chappe.common.lookup import filtered, get_or_404
from chappe.dialer import french_rules
from chappe.dialer.models import (
    BloctelNumber,
    BloctelScrub,
    CallCampaign,
    CampaignContact,
    Consent,
    ContractExemption,
    DialAttempt,
    DialerPolicy,
    DialLogEntry,
    Outcome,
)


def call_campaign_query(*, account: Account, state: str | None = None) -> QuerySet[CallCampaign]:
    return filtered(CallCampaign.objects.filter(account=account).select_related("queue"),
                    state=state)


def call_campaign_get(*, account: Account, id: Any) -> CallCampaign:
    return get_or_404(CallCampaign.objects.filter(account=account).select_related("queue"), id)


def campaign_contact_get(*, account: Account, id: Any) -> CampaignContact:
    return get_or_404(CampaignContact.objects.filter(campaign__account=account)
                      .select_related("campaign"), id)


def dial_attempt_get(*, account: Account, id: Any) -> DialAttempt:
    return get_or_404(DialAttempt.objects.filter(account=account)
                      .select_related("campaign", "campaign_contact"), id)


def agent_current_attempt(*, account: Account, agent_id: Any, since: datetime
                          ) -> DialAttempt | None:
    """The agent's latest campaign call since `since` (the one on screen while they talk
    and wrap up)."""
    return DialAttempt.objects.filter(account=account, agent_id=agent_id, at__gte=since) \
        .select_related("campaign", "campaign_contact__contact").order_by("-at").first()


def agent_preview_campaigns(*, account: Account, agent_id: Any) -> QuerySet[CallCampaign]:
    """The running preview campaigns of the queues the agent belongs to."""
    return CallCampaign.objects.filter(account=account, state="running", mode="preview",
                                       queue__members__agent_id=agent_id).distinct()


def campaign_log(*, campaign: CallCampaign) -> QuerySet[DialLogEntry]:
    return DialLogEntry.objects.filter(campaign=campaign)


def consent_query(*, account: Account, number: str | None = None) -> QuerySet[Consent]:
    return filtered(Consent.objects.filter(account=account), number=number)


def consent_get(*, account: Account, id: Any) -> Consent:
    return get_or_404(Consent.objects.filter(account=account), id)


def contract_exemption_query(*, account: Account) -> QuerySet[ContractExemption]:
    return ContractExemption.objects.filter(account=account).order_by("-created_at")


def bloctel_scrub_query(*, account: Account) -> QuerySet[BloctelScrub]:
    return BloctelScrub.objects.filter(account=account)


def bloctel_last_scrub(*, account: Account) -> BloctelScrub | None:
    return BloctelScrub.objects.filter(account=account).first()


def bloctel_numbers(*, account: Account, numbers: Iterable[str]) -> set[str]:
    """Which of `numbers` the latest scrub lists (each scrub covers the whole file the
    account sent, so the latest is the list in force)."""
    scrub = bloctel_last_scrub(account=account)
    if scrub is None:
        return set()
    numbers = list(numbers)
    found: set[str] = set()
    for start in range(0, len(numbers), 1000):
        found.update(BloctelNumber.objects.filter(
            scrub=scrub, number__in=numbers[start:start + 1000]).values_list("number", flat=True))
    return found


def dialer_policy(*, account: Account) -> DialerPolicy:
    """The account's settings; unsaved defaults when never changed (opt-in on in France)."""
    policy = DialerPolicy.objects.filter(account=account).first()
    return policy or DialerPolicy(account=account, opt_in=account.country == "FR")


def call_attempts(*, account: Account, number: str, since: datetime) -> list[datetime]:
    """When the account called or tried to call `number` since `since`: every campaign's
    attempts and the agents' other outbound calls (call records not from a campaign)."""
    campaign_calls = DialAttempt.objects.filter(account=account, number=number, at__gt=since)
    times = list(campaign_calls.values_list("at", flat=True))
    from_campaigns = campaign_calls.exclude(sip_call_id="").values("sip_call_id")
    times += CallRecord.objects.filter(
        account=account, to_number=number, direction=Direction.OUTBOUND, parent=None,
        started_at__gt=since).exclude(sip_call_id__in=from_campaigns) \
        .values_list("started_at", flat=True)
    return sorted(times)


def consumer_of(*, account: Account, number: str, at: datetime,
                on_bloctel: bool | None = None) -> french_rules.Consumer:
    """What the account knows of the consumer at `number` at `at`, as the rules read it."""
    consent = Consent.objects.filter(account=account, number=number, given_at__lte=at) \
        .filter(Q(withdrawn_at=None) | Q(withdrawn_at__gt=at)).aggregate(at=Max("given_at"))["at"]
    refused = DialAttempt.objects.filter(account=account, number=number, refusal=True,
                                         at__lte=at).aggregate(at=Max("at"))["at"]
    if on_bloctel is None:
        on_bloctel = bool(bloctel_numbers(account=account, numbers=[number]))
    return french_rules.Consumer(
        number=number,
        attempts=tuple(call_attempts(account=account, number=number,
                                     since=at - french_rules.ATTEMPTS_WINDOW)),
        consent_at=consent, refused_at=refused,
        ongoing_contract=ContractExemption.objects.filter(account=account,
                                                          number=number).exists(),
        on_bloctel=on_bloctel)


def rules_campaign(*, campaign: CallCampaign) -> french_rules.Campaign:
    scrub = bloctel_last_scrub(account=campaign.account)
    return french_rules.Campaign(
        caller_id=campaign.caller_id, commercial=campaign.commercial,
        automated=campaign.automated,
        opt_in=dialer_policy(account=campaign.account).opt_in,
        bloctel_scrubbed_at=scrub.imported_at if scrub else None)


@dataclass(frozen=True)
class Progress:
    state: str
    hold_reason: str
    contacts: int
    by_status: dict[str, int]
    attempts: int
    by_outcome: dict[str, int]
    live_answered: int
    abandoned: int
    abandon_rate_percent: float
    refused_dials: int
    by_rule: dict[str, int]


def campaign_progress(*, campaign: CallCampaign) -> Progress:
    by_status = dict(campaign.contacts.values_list("status").annotate(n=Count("id"))
                     .values_list("status", "n"))
    by_outcome = dict(campaign.attempts.values_list("outcome").annotate(n=Count("id"))
                      .values_list("outcome", "n"))
    by_rule = dict(campaign.log.values_list("rule").annotate(n=Count("id"))
                   .values_list("rule", "n"))
    live = by_outcome.get(Outcome.ANSWERED, 0) + by_outcome.get(Outcome.ABANDONED, 0)
    abandoned = by_outcome.get(Outcome.ABANDONED, 0)
    return Progress(
        state=campaign.state, hold_reason=campaign.hold_reason,
        contacts=sum(by_status.values()), by_status=by_status,
        attempts=sum(by_outcome.values()), by_outcome=by_outcome, live_answered=live,
        abandoned=abandoned,
        abandon_rate_percent=round(100 * abandoned / live, 2) if live else 0.0,
        refused_dials=sum(by_rule.values()), by_rule=by_rule)


@dataclass(frozen=True)
class HourOfCalls:
    """The calls a campaign placed in one hour (the account's time zone): how many, and
    how many of them a person answered and an agent took, or was left (abandoned)."""

    hour: datetime
    attempts: int
    answered: int
    abandoned: int


def campaign_hours(*, campaign: CallCampaign) -> list[HourOfCalls]:
    """The progress chart's figures: the campaign's calls by the hour they were placed."""
    tz = ZoneInfo(campaign.account.timezone)
    rows = (campaign.attempts.order_by().annotate(hour=TruncHour("at", tzinfo=tz))
            .values("hour")
            .annotate(n=Count("id"), answered=Count("id", filter=Q(outcome=Outcome.ANSWERED)),
                      abandoned=Count("id", filter=Q(outcome=Outcome.ABANDONED)))
            .order_by("hour"))
    return [HourOfCalls(hour=r["hour"], attempts=r["n"], answered=r["answered"],
                        abandoned=r["abandoned"]) for r in rows]
