"""Call campaigns: drafts (validated the same way for the API and the web app), launch
with the Bloctel exclusion, pause, resume, stop."""

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.agents.models import Queue
from chappe.audit.services import audit_record
from chappe.callcenter.models import RentalStatus
from chappe.callcenter.selectors import rental_list
from chappe.campaigns.selectors import Audience, audience_contacts
from chappe.campaigns.services.campaigns import filters_clean, numbers_clean
from chappe.common.errors import Conflict, ValidationFailed
from chappe.common.numbers import InvalidNumber, normalize
from chappe.contacts.models import ContactList
from chappe.dialer import french_rules
from chappe.dialer.models import (
    RETRIED,
    CallCampaign,
    CampaignContact,
    CampaignState,
    ContactStatus,
    ContractExemption,
    DialLogEntry,
    DialMode,
    check_transition,
)
from chappe.dialer.selectors import bloctel_last_scrub, bloctel_numbers

DEFAULT_DISPOSITIONS = [
    {"code": "interested", "label": "Interested", "refusal": False},
    {"code": "not_interested", "label": "Not interested", "refusal": False},
    {"code": "refused", "label": "Refuses any further call", "refusal": True},
    {"code": "wrong_number", "label": "Wrong number", "refusal": False},
]
DEFAULT_RETRY_RULES = {
    "busy": {"count": 2, "delay_minutes": 30},
    "no_answer": {"count": 2, "delay_minutes": 120},
    "machine": {"count": 1, "delay_minutes": 240},
    "failed": {"count": 1, "delay_minutes": 60},
}
MAX_LINES_PER_AGENT = 3
MAX_ABANDON_CAP = Decimal(3)
FIELDS = ("name", "commercial", "caller_id", "script", "dispositions", "mode",
          "lines_per_agent", "abandon_cap_percent", "abandon_redial_minutes", "retry_rules",
          "amd", "amd_message", "starts_at", "ends_at", "daily_windows", "all_contacts",
          "filters", "numbers")


def _clock(value: Any) -> time | None:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        return None


def _clean_windows(windows: Any, commercial: bool, errors: dict[str, list[str]]) -> list:
    if not isinstance(windows, list) or len(windows) > 6:
        errors["daily_windows"] = [_("At most six daily windows.")]
        return []
    cleaned = []
    for index, window in enumerate(windows):
        start = _clock(window.get("start")) if isinstance(window, Mapping) else None
        end = _clock(window.get("end")) if isinstance(window, Mapping) else None
        if start is None or end is None or start >= end:
            errors[f"daily_windows.{index}"] = [_("A window is a start and a later end "
                                                  "(HH:MM).")]
        elif commercial and not any(s <= start and end <= e for s, e in french_rules.SLOTS):
            errors[f"daily_windows.{index}"] = [_(
                "Commercial calls are only allowed 10:00-13:00 and 14:00-20:00 (D.223-9).")]
        else:
            cleaned.append({"start": start.isoformat("minutes"), "end": end.isoformat("minutes")})
    return cleaned


def _clean_dispositions(value: Any, errors: dict[str, list[str]]) -> list[dict]:
    if value in (None, []):
        return [dict(d) for d in DEFAULT_DISPOSITIONS]
    cleaned, codes = [], set()
    if not isinstance(value, list) or len(value) > 50:
        errors["dispositions"] = [_("A list of at most 50 disposition codes.")]
        return []
    for index, item in enumerate(value):
        code = str(item.get("code", "")).strip() if isinstance(item, Mapping) else ""
        if not code or len(code) > 40 or code in codes:
            errors[f"dispositions.{index}"] = [_("Each code is distinct, 1 to 40 characters.")]
            continue
        codes.add(code)
        cleaned.append({"code": code, "label": str(item.get("label") or code)[:100],
                        "refusal": bool(item.get("refusal"))})
    return cleaned


def _clean_retry_rules(value: Any, errors: dict[str, list[str]]) -> dict:
    if value in (None, {}):
        return {k: dict(v) for k, v in DEFAULT_RETRY_RULES.items()}
    if not isinstance(value, Mapping):
        errors["retry_rules"] = [_("An object by outcome.")]
        return {}
    cleaned = {}
    for outcome, rule in value.items():
        try:
            count, delay = int(rule["count"]), int(rule["delay_minutes"])
        except (KeyError, TypeError, ValueError):
            count = delay = -1
        if outcome not in RETRIED:
            errors[f"retry_rules.{outcome}"] = [_("Retries are for busy, no_answer, machine "
                                                  "or failed.")]
        elif not (0 <= count <= 10 and 1 <= delay <= 7 * 24 * 60):
            errors[f"retry_rules.{outcome}"] = [_("A count of 0 to 10 retries and a delay of "
                                                  "1 minute to 7 days.")]
        else:
            cleaned[outcome] = {"count": count, "delay_minutes": delay}
    return cleaned


def _clean_caller_id(account: Account, value: Any, errors: dict[str, list[str]]) -> str:
    try:
        e164 = normalize(str(value or ""), default_country=account.default_country).e164
    except InvalidNumber:
        errors["caller_id"] = [_("Not a valid phone number.")]
        return ""
    owned = rental_list(account=account, status=RentalStatus.ACTIVE).filter(
        number__e164=e164).exists()
    if not owned:
        errors["caller_id"] = [_("Present one of the account's own numbers.")]
    return e164


def _clean(account: Account, values: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out = {key: values[key] for key in FIELDS if key in values}
    out["name"] = str(values.get("name") or "").strip()
    if not out["name"] or len(out["name"]) > 100:
        errors["name"] = [_("Give the campaign a name of at most 100 characters.")]
    out["commercial"] = bool(values.get("commercial", True))
    out["caller_id"] = _clean_caller_id(account, values.get("caller_id"), errors)
    if values.get("mode", DialMode.PROGRESSIVE) not in DialMode.values:
        errors["mode"] = [_("Preview, progressive or predictive.")]
    lines = values.get("lines_per_agent", 1)
    if not isinstance(lines, int) or not 1 <= lines <= MAX_LINES_PER_AGENT:
        errors["lines_per_agent"] = [_("1 to 3 lines per agent.")]
    try:
        cap = Decimal(str(values.get("abandon_cap_percent", 3)))
        if not Decimal(0) <= cap <= MAX_ABANDON_CAP:
            raise InvalidOperation
        out["abandon_cap_percent"] = cap
    except (InvalidOperation, ValueError):
        errors["abandon_cap_percent"] = [_("An abandon cap of 0 to 3 % of live-answered "
                                           "calls.")]
    out["dispositions"] = _clean_dispositions(values.get("dispositions"), errors)
    out["retry_rules"] = _clean_retry_rules(values.get("retry_rules"), errors)
    out["daily_windows"] = _clean_windows(values.get("daily_windows") or [], out["commercial"],
                                          errors)
    starts, ends = values.get("starts_at"), values.get("ends_at")
    for key in ("starts_at", "ends_at"):
        moment = values.get(key)
        if moment is not None and (not isinstance(moment, datetime) or moment.tzinfo is None):
            errors[key] = [_("A date and time with its time zone.")]
    if isinstance(starts, datetime) and isinstance(ends, datetime) and ends <= starts:
        errors["ends_at"] = [_("The end comes after the start.")]
    out["filters"] = filters_clean(account, values.get("filters") or [], errors)
    out["numbers"] = numbers_clean(account, values.get("numbers") or [], errors)
    if errors:
        raise ValidationFailed(details=errors)
    return out


def _require_draft(campaign: CallCampaign) -> None:
    if campaign.state != CampaignState.DRAFT:
        raise Conflict(_("Only a draft can be changed."), code="campaign_state",
                       details={"state": campaign.state})


@transaction.atomic
def call_campaign_create(*, actor: Actor, account: Account, queue: Queue,
                         lists: Sequence[ContactList] = (), **values: Any) -> CallCampaign:
    actor.require(Perm.AGENTS_SUPERVISE)
    campaign = CallCampaign.objects.create(account=account, queue=queue,
                                           created_by=actor.label, **_clean(account, values))
    campaign.lists.set(lists)
    audit_record(actor=actor, action="call_campaign.create", account=account, target=campaign,
                 details={"name": campaign.name, "mode": campaign.mode})
    return campaign


@transaction.atomic
def call_campaign_update(*, actor: Actor, campaign: CallCampaign, values: Mapping[str, Any],
                         queue: Queue | None = None,
                         lists: Sequence[ContactList] | None = None) -> CallCampaign:
    actor.require(Perm.AGENTS_SUPERVISE)
    _require_draft(campaign)
    current = {key: getattr(campaign, key) for key in FIELDS}
    cleaned = _clean(campaign.account, {**current, **values})
    for key, value in cleaned.items():
        setattr(campaign, key, value)
    if queue is not None:
        campaign.queue = queue
    campaign.save()
    if lists is not None:
        campaign.lists.set(lists)
    audit_record(actor=actor, action="call_campaign.update", account=campaign.account,
                 target=campaign, details={"fields": sorted(values)})
    return campaign


@transaction.atomic
def call_campaign_delete(*, actor: Actor, campaign: CallCampaign) -> None:
    _require_draft(campaign)
    audit_record(actor=actor, action="call_campaign.delete", account=campaign.account,
                 target=campaign, details={"name": campaign.name})
    campaign.delete()


def _audience_numbers(campaign: CallCampaign) -> dict[str, Any]:
    """The audience's numbers (E.164) → the contact each comes from (None: given)."""
    audience = Audience(list_ids=tuple(cl.pk for cl in campaign.lists.all()),
                        all_contacts=campaign.all_contacts, filters=tuple(campaign.filters),
                        numbers=tuple(campaign.numbers))
    numbers: dict[str, Any] = {}
    for contact_id, mobile in audience_contacts(account=campaign.account, audience=audience) \
            .exclude(mobile="").values_list("id", "mobile"):
        numbers.setdefault(mobile, contact_id)
    for number in campaign.numbers:
        numbers.setdefault(number, None)
    return numbers


def bloctel_exclude(*, campaign: CallCampaign, now: datetime) -> int:
    """Exclude the campaign's consumers still to call whom the Bloctel list in force names
    (not those with an ongoing contract), each logged with the rule. How many."""
    if not campaign.commercial:
        return 0
    pending = campaign.contacts.filter(status=ContactStatus.PENDING)
    listed = bloctel_numbers(account=campaign.account,
                             numbers=pending.values_list("number", flat=True))
    if not listed:
        return 0
    listed -= set(ContractExemption.objects.filter(account=campaign.account,
                                                   number__in=listed)
                  .values_list("number", flat=True))
    pending.filter(number__in=listed).update(status=ContactStatus.EXCLUDED,
                                             excluded_reason=french_rules.BLOCTEL)
    DialLogEntry.objects.bulk_create(
        DialLogEntry(campaign=campaign, at=now, number=number, rule=french_rules.BLOCTEL,
                     details={"when": "launch"}) for number in sorted(listed))
    return len(listed)


def _check_launchable(campaign: CallCampaign, now: datetime) -> None:
    service_require(account=campaign.account, kind=ServiceKind.CONTACT_CENTER)
    if campaign.commercial and campaign.automated and not french_rules.automated_caller_id(
            campaign.caller_id):
        raise ValidationFailed(details={"caller_id": [_(
            "A progressive or predictive commercial campaign presents a number from ARCEP's "
            "ranges for automated calling (01 62, 01 63, 02 70, 02 71, 03 77, 03 78, 04 24, "
            "04 25, 05 68, 05 69, 09 48, 09 49; 09 475 to 09 479 overseas).")]},
            code=french_rules.CALLER_ID.replace(" ", "_"))
    scrub = bloctel_last_scrub(account=campaign.account)
    if campaign.commercial and (scrub is None
                                or now - scrub.imported_at > french_rules.SCRUB_VALIDITY):
        raise Conflict(_("Import a Bloctel scrub of less than 30 days before launching a "
                         "commercial campaign."), code="bloctel_scrub_required",
                       details={"last_scrub": scrub.imported_at.isoformat() if scrub else None})


@transaction.atomic
def call_campaign_launch(*, actor: Actor, campaign: CallCampaign,
                         now: datetime | None = None) -> CallCampaign:
    """Draft → running: the audience frozen into the campaign's consumers, those on the
    Bloctel list excluded. 400 for an unlawful caller ID, 409 without a fresh scrub."""
    actor.require(Perm.AGENTS_SUPERVISE)
    now = now or timezone.now()
    campaign = CallCampaign.objects.select_for_update().get(pk=campaign.pk)
    check_transition(campaign.state, CampaignState.RUNNING)
    _check_launchable(campaign, now)
    numbers = _audience_numbers(campaign)
    if not numbers:
        raise ValidationFailed(_("The audience is empty."), details={"audience": [
            _("No contact or number to call.")]})
    CampaignContact.objects.bulk_create(
        [CampaignContact(campaign=campaign, number=number, contact_id=contact_id)
         for number, contact_id in numbers.items()], batch_size=2000, ignore_conflicts=True)
    excluded = bloctel_exclude(campaign=campaign, now=now)
    campaign.state, campaign.launched_at, campaign.hold_reason = CampaignState.RUNNING, now, ""
    campaign.save(update_fields=["state", "launched_at", "hold_reason", "updated_at"])
    audit_record(actor=actor, action="call_campaign.launch", account=campaign.account,
                 target=campaign, details={"consumers": len(numbers), "bloctel": excluded})
    return campaign


@transaction.atomic
def call_campaign_pause(*, actor: Actor, campaign: CallCampaign) -> CallCampaign:
    """No new call is placed until resumed (calls in progress go on)."""
    return _move(actor, campaign, CampaignState.PAUSED, "call_campaign.pause")


@transaction.atomic
def call_campaign_resume(*, actor: Actor, campaign: CallCampaign,
                         now: datetime | None = None) -> CallCampaign:
    """Paused → running, with the same checks as a launch and the Bloctel list applied
    again."""
    now = now or timezone.now()
    campaign = CallCampaign.objects.select_for_update().get(pk=campaign.pk)
    check_transition(campaign.state, CampaignState.RUNNING)
    _check_launchable(campaign, now)
    bloctel_exclude(campaign=campaign, now=now)
    campaign.hold_reason = ""
    campaign.save(update_fields=["hold_reason"])
    return _move(actor, campaign, CampaignState.RUNNING, "call_campaign.resume")


@transaction.atomic
def call_campaign_stop(*, actor: Actor, campaign: CallCampaign) -> CallCampaign:
    """Final: nobody more is called; the consumers not reached stay as they are."""
    return _move(actor, campaign, CampaignState.STOPPED, "call_campaign.stop")


def _move(actor: Actor, campaign: CallCampaign, state: str, action: str) -> CallCampaign:
    actor.require(Perm.AGENTS_SUPERVISE)
    campaign = CallCampaign.objects.select_for_update().get(pk=campaign.pk)
    check_transition(campaign.state, state)
    campaign.state = state
    if state in (CampaignState.STOPPED, CampaignState.FINISHED):
        campaign.finished_at = timezone.now()
    campaign.save(update_fields=["state", "finished_at", "updated_at"])
    audit_record(actor=actor, action=action, account=campaign.account, target=campaign)
    return campaign
