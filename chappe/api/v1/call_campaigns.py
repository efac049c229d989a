"""Outbound call campaigns API (C-5, C-9): campaigns and their lifecycle, progress and log,
agents' dispositions and callbacks, and the compliance records the dialer reads —
consent, ongoing contracts, Bloctel export and import, the opt-in setting.
Administrators and supervisors manage; agents set dispositions. Thin: the services and
selectors of `chappe.dialer` do the work."""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import Field

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.agents.selectors import queue_get
from chappe.api.v1.base import actor_of
from chappe.campaigns.selectors import FILTER_OPS
from chappe.common.errors import ValidationFailed
from chappe.contacts.models import ContactList
from chappe.contacts.selectors import contact_lists_by_id
from chappe.dialer import selectors, services
from chappe.dialer.models import CallCampaign, CampaignState

router = Router(tags=["contact center: call campaigns"])
MANAGE, VIEW, HANDLE = Perm.AGENTS_SUPERVISE, Perm.AGENTS_SUPERVISE, Perm.CALLS_HANDLE
Mode = Literal["preview", "progressive", "predictive"]
Retried = Literal["busy", "no_answer", "machine", "failed"]
FilterOp = Literal[FILTER_OPS]  # type: ignore[valid-type]


class FilterIn(Schema):
    field: str = Field(max_length=60, description='A contact field ("city") or "custom:<key>"')
    op: FilterOp
    value: str = Field("", max_length=500)


class DispositionIn(Schema):
    code: str = Field(min_length=1, max_length=40)
    label: str = Field("", max_length=100)
    refusal: bool = Field(False, description="The consumer refuses any further call: 60 "
                                             "days without contact (C-5)")


class RetryRule(Schema):
    count: int = Field(ge=0, le=10)
    delay_minutes: int = Field(ge=1, le=7 * 24 * 60)


class Window(Schema):
    start: str = Field(pattern=r"^\d\d:\d\d$")
    end: str = Field(pattern=r"^\d\d:\d\d$")


class CallCampaignIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    queue_id: UUID = Field(description="The agents who take the answered calls")
    caller_id: str = Field(min_length=1, max_length=20, description=(
        "One of the account's numbers; for a progressive or predictive commercial "
        "campaign, one in ARCEP's automated-calling ranges"))
    commercial: bool = Field(True, description="Prospecting: the French rules apply (C-5)")
    script: str = Field("", max_length=20_000)
    dispositions: list[DispositionIn] = Field(default_factory=list, max_length=50)
    mode: Mode = "progressive"
    lines_per_agent: int = Field(1, ge=1, le=3)
    abandon_cap_percent: Decimal = Field(Decimal(3), ge=0, le=3, decimal_places=2)
    abandon_redial_minutes: int = Field(72 * 60, ge=1, le=30 * 24 * 60)
    retry_rules: dict[Retried, RetryRule] = Field(default_factory=dict)
    amd: bool = False
    amd_message: str = Field("", max_length=1000)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    daily_windows: list[Window] = Field(default_factory=list, max_length=6)
    list_ids: list[str] = Field(default_factory=list, max_length=100)
    all_contacts: bool = False
    filters: list[FilterIn] = Field(default_factory=list, max_length=20)
    numbers: list[str] = Field(default_factory=list, max_length=100_000)


class CallCampaignPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    queue_id: UUID | None = None
    caller_id: str | None = Field(None, min_length=1, max_length=20)
    commercial: bool | None = None
    script: str | None = Field(None, max_length=20_000)
    dispositions: list[DispositionIn] | None = Field(None, max_length=50)
    mode: Mode | None = None
    lines_per_agent: int | None = Field(None, ge=1, le=3)
    abandon_cap_percent: Decimal | None = Field(None, ge=0, le=3, decimal_places=2)
    abandon_redial_minutes: int | None = Field(None, ge=1, le=30 * 24 * 60)
    retry_rules: dict[Retried, RetryRule] | None = None
    amd: bool | None = None
    amd_message: str | None = Field(None, max_length=1000)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    daily_windows: list[Window] | None = Field(None, max_length=6)
    list_ids: list[str] | None = Field(None, max_length=100)
    all_contacts: bool | None = None
    filters: list[FilterIn] | None = Field(None, max_length=20)
    numbers: list[str] | None = Field(None, max_length=100_000)


class CallCampaignOut(Schema):
    id: UUID
    name: str
    state: str
    hold_reason: str
    queue_id: UUID
    caller_id: str
    commercial: bool
    script: str
    dispositions: list[dict[str, Any]]
    mode: str
    lines_per_agent: int
    abandon_cap_percent: Decimal
    abandon_redial_minutes: int
    retry_rules: dict[str, Any]
    amd: bool
    amd_message: str
    starts_at: datetime | None
    ends_at: datetime | None
    daily_windows: list[dict[str, str]]
    list_ids: list[UUID]
    all_contacts: bool
    filters: list[dict[str, Any]]
    numbers: list[str]
    created_at: datetime
    launched_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_list_ids(obj: CallCampaign) -> list[UUID]:
        return [cl.pk for cl in obj.lists.all()]


class ProgressOut(Schema):
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


class LogOut(Schema):
    at: datetime
    number: str
    rule: str
    retry_at: datetime | None
    details: dict[str, Any]


class DispositionSet(Schema):
    code: str = Field(min_length=1, max_length=40)
    callback_at: datetime | None = Field(None, description="A time the consumer chose to be "
                                                           "called back")


class AttemptOut(Schema):
    id: UUID
    campaign_id: UUID
    number: str
    at: datetime
    outcome: str
    disposition: str
    refusal: bool


class ConsentIn(Schema):
    number: str = Field(min_length=1, max_length=30)
    given_at: datetime
    source: str = Field(min_length=1, max_length=200)
    proof: str = Field(min_length=1, max_length=10_000)


class ConsentOut(Schema):
    id: UUID
    number: str
    given_at: datetime
    source: str
    proof: str
    withdrawn_at: datetime | None
    created_at: datetime


class ContractIn(Schema):
    number: str = Field(min_length=1, max_length=30)
    reference: str = Field(min_length=1, max_length=200)


class ContractOut(Schema):
    id: UUID
    number: str
    reference: str
    created_at: datetime


class ScrubOut(Schema):
    id: UUID
    imported_at: datetime
    filename: str
    sha256: str
    lines: int
    numbers: int
    invalid: int
    excluded: int


class PolicyIO(Schema):
    opt_in: bool = Field(description="Commercial calls need the consumer's recorded consent "
                                     "(the regime from 11 August 2026), unless a contract")


def _campaign(actor: Actor, call_campaign_id: UUID) -> CallCampaign:
    return selectors.call_campaign_get(account=actor.account, id=call_campaign_id)


def _lists(actor: Actor, ids: list[str] | None) -> list[ContactList] | None:
    if ids is None:
        return None
    found = contact_lists_by_id(account=actor.account, ids=ids)
    if len(found) != len(set(ids)):
        raise ValidationFailed(details={"list_ids": [_("Unknown list.")]})
    return found


def _values(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("queue_id", None)
    data.pop("list_ids", None)
    return data


@router.get("/call-campaigns", response=list[CallCampaignOut])
@paginate(LimitOffsetPagination)
def call_campaign_list(request: HttpRequest, state: CampaignState | None = None):
    actor = actor_of(request, VIEW)
    return selectors.call_campaign_query(account=actor.account, state=state) \
        .prefetch_related("lists")


@router.post("/call-campaigns", response={201: CallCampaignOut})
def call_campaign_create(request: HttpRequest, payload: CallCampaignIn):
    """A draft: nobody is called until it is launched."""
    actor = actor_of(request, MANAGE)
    data = payload.dict()
    queue = queue_get(account=actor.account, queue_id=data["queue_id"])
    lists = _lists(actor, data["list_ids"]) or []
    campaign = services.call_campaign_create(actor=actor, account=actor.account, queue=queue,
                                             lists=lists, **_values(data))
    return Status(201, _campaign(actor, campaign.pk))


@router.get("/call-campaigns/{call_campaign_id}", response=CallCampaignOut)
def call_campaign_read(request: HttpRequest, call_campaign_id: UUID):
    return _campaign(actor_of(request, VIEW), call_campaign_id)


@router.patch("/call-campaigns/{call_campaign_id}", response=CallCampaignOut)
def call_campaign_patch(request: HttpRequest, call_campaign_id: UUID, payload: CallCampaignPatch):
    """Change a draft (409 once launched)."""
    actor = actor_of(request, MANAGE)
    campaign = _campaign(actor, call_campaign_id)
    data = payload.dict(exclude_unset=True)
    queue = (queue_get(account=actor.account, queue_id=data["queue_id"])
             if data.get("queue_id") else None)
    lists = _lists(actor, data.get("list_ids"))
    services.call_campaign_update(actor=actor, campaign=campaign, values=_values(data),
                                  queue=queue, lists=lists)
    return _campaign(actor, call_campaign_id)


@router.delete("/call-campaigns/{call_campaign_id}", response={204: None})
def call_campaign_delete(request: HttpRequest, call_campaign_id: UUID):
    actor = actor_of(request, MANAGE)
    services.call_campaign_delete(actor=actor, campaign=_campaign(actor, call_campaign_id))
    return Status(204, None)


@router.post("/call-campaigns/{call_campaign_id}/numbers-file", response=CallCampaignOut)
def call_campaign_numbers_file(request: HttpRequest, call_campaign_id: UUID,
                               file: File[UploadedFile]):
    """Add the numbers of an uploaded file (one per line, CSV or XLSX: in each row the
    first cell that is a phone number) to a draft's audience."""
    actor = actor_of(request, MANAGE)
    campaign = _campaign(actor, call_campaign_id)
    numbers, _lines, _invalid = services.numbers_in_file(
        account=actor.account, data=file.read(services.MAX_FILE_BYTES + 1),
        filename=file.name or "")
    services.call_campaign_update(actor=actor, campaign=campaign, values={
        "numbers": [*campaign.numbers, *sorted(set(numbers) - set(campaign.numbers))]})
    return _campaign(actor, call_campaign_id)


@router.post("/call-campaigns/{call_campaign_id}/launch", response=CallCampaignOut)
def call_campaign_launch(request: HttpRequest, call_campaign_id: UUID):
    """Launch a draft: its audience frozen, Bloctel-listed consumers excluded. 400 for a
    caller ID an automated commercial campaign may not present, 409 without a Bloctel
    scrub of less than 30 days."""
    actor = actor_of(request, MANAGE)
    services.call_campaign_launch(actor=actor, campaign=_campaign(actor, call_campaign_id))
    return _campaign(actor, call_campaign_id)


@router.post("/call-campaigns/{call_campaign_id}/pause", response=CallCampaignOut)
def call_campaign_pause(request: HttpRequest, call_campaign_id: UUID):
    actor = actor_of(request, MANAGE)
    services.call_campaign_pause(actor=actor, campaign=_campaign(actor, call_campaign_id))
    return _campaign(actor, call_campaign_id)


@router.post("/call-campaigns/{call_campaign_id}/resume", response=CallCampaignOut)
def call_campaign_resume(request: HttpRequest, call_campaign_id: UUID):
    actor = actor_of(request, MANAGE)
    services.call_campaign_resume(actor=actor, campaign=_campaign(actor, call_campaign_id))
    return _campaign(actor, call_campaign_id)


@router.post("/call-campaigns/{call_campaign_id}/stop", response=CallCampaignOut)
def call_campaign_stop(request: HttpRequest, call_campaign_id: UUID):
    actor = actor_of(request, MANAGE)
    services.call_campaign_stop(actor=actor, campaign=_campaign(actor, call_campaign_id))
    return _campaign(actor, call_campaign_id)


@router.get("/call-campaigns/{call_campaign_id}/progress", response=ProgressOut)
def call_campaign_progress(request: HttpRequest, call_campaign_id: UUID):
    """Counters: consumers by status, attempts by outcome, the abandon rate over the
    live-answered calls, dials refused by rule."""
    actor = actor_of(request, VIEW)
    return selectors.campaign_progress(campaign=_campaign(actor, call_campaign_id))


@router.get("/call-campaigns/{call_campaign_id}/log", response=list[LogOut])
@paginate(LimitOffsetPagination)
def call_campaign_log(request: HttpRequest, call_campaign_id: UUID):
    """Every refused dial with the rule that refused it (`C-5 hours`, …), newest first."""
    actor = actor_of(request, VIEW)
    return selectors.campaign_log(campaign=_campaign(actor, call_campaign_id))


@router.post("/call-attempts/{call_attempt_id}/disposition", response=AttemptOut)
def call_attempt_disposition(request: HttpRequest, call_attempt_id: UUID, payload: DispositionSet):
    """The agent's disposition of a campaign call, and a callback at a time the consumer
    chose."""
    actor = actor_of(request, HANDLE)
    attempt = selectors.dial_attempt_get(account=actor.account, id=call_attempt_id)
    return services.disposition_set(actor=actor, attempt=attempt, code=payload.code,
                                    callback_at=payload.callback_at)


# --- compliance ---------------------------------------------------------------------------


@router.get("/call-consents", response=list[ConsentOut])
@paginate(LimitOffsetPagination)
def consent_list(request: HttpRequest, number: str | None = Query(None, max_length=30)):
    actor = actor_of(request, VIEW)
    return selectors.consent_query(account=actor.account, number=number)


@router.post("/call-consents", response={201: ConsentOut})
def consent_create(request: HttpRequest, payload: ConsentIn):
    """A consumer's prior, explicit consent to be called: it lifts the calling hours and
    the opt-in rule (never the 4 calls in 30 days nor a refusal's 60 days)."""
    actor = actor_of(request, MANAGE)
    return Status(201, services.consent_record(actor=actor, account=actor.account,
                                               **payload.dict()))


@router.post("/call-consents/{call_consent_id}/withdraw", response=ConsentOut)
def consent_withdraw(request: HttpRequest, call_consent_id: UUID):
    actor = actor_of(request, MANAGE)
    consent = selectors.consent_get(account=actor.account, id=call_consent_id)
    return services.consent_withdraw(actor=actor, consent=consent)


@router.get("/call-contracts", response=list[ContractOut])
@paginate(LimitOffsetPagination)
def contract_list(request: HttpRequest):
    actor = actor_of(request, VIEW)
    return selectors.contract_exemption_query(account=actor.account)


@router.post("/call-contracts", response={201: ContractOut})
def contract_create(request: HttpRequest, payload: ContractIn):
    """A consumer under an ongoing contract: Bloctel and the opt-in rule do not apply."""
    actor = actor_of(request, MANAGE)
    return Status(201, services.contract_exempt(actor=actor, account=actor.account,
                                                **payload.dict()))


@router.get("/bloctel/export")
def bloctel_export(request: HttpRequest):
    """The account's French prospect numbers, one per line (0XXXXXXXXX), for the Bloctel
    operator to scrub."""
    actor = actor_of(request, MANAGE)
    response = HttpResponse("".join(services.bloctel_export_lines(account=actor.account)),
                            content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="bloctel-prospects.txt"'
    return response


@router.get("/bloctel/scrubs", response=list[ScrubOut])
@paginate(LimitOffsetPagination)
def bloctel_scrub_list(request: HttpRequest):
    actor = actor_of(request, VIEW)
    return selectors.bloctel_scrub_query(account=actor.account)


@router.post("/bloctel/scrubs", response={201: ScrubOut})
def bloctel_scrub_import(request: HttpRequest, file: File[UploadedFile]):
    """Import the numbers to remove that the Bloctel operator returned (one per line, or
    CSV: the first cell of each row that is a phone number). The file is kept as proof;
    the list applies at once and the campaigns' scrub date is now."""
    actor = actor_of(request, MANAGE)
    return Status(201, services.bloctel_import(
        actor=actor, account=actor.account, data=file.read(services.MAX_FILE_BYTES + 1),
        filename=file.name or ""))


@router.get("/dialer-policy", response=PolicyIO)
def dialer_policy_read(request: HttpRequest):
    actor = actor_of(request, VIEW)
    return selectors.dialer_policy(account=actor.account)


@router.put("/dialer-policy", response=PolicyIO)
def dialer_policy_write(request: HttpRequest, payload: PolicyIO):
    actor = actor_of(request, Perm.ACCOUNT_MANAGE)
    return services.dialer_policy_set(actor=actor, account=actor.account,
                                      opt_in=payload.opt_in)
