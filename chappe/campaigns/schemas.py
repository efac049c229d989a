"""API shapes of campaigns. Money is a decimal string in the campaign's currency."""

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Schema

from chappe.campaigns.models import Campaign
from chappe.campaigns.selectors import FILTER_OPS, Estimate, PreviewRow, Progress
from chappe.messaging.rcs.content import RcsContent

Kind = Literal["marketing", "transactional"]


def _amount(micros: int) -> Decimal:
    """Micros as a decimal amount, without trailing zeros (0.045, as messages show it)."""
    return Decimal(micros) / 1_000_000
FilterOp = Literal[FILTER_OPS]  # type: ignore[valid-type]


class FilterIn(Schema):
    field: str = Field(description='A contact field ("city") or "custom:<key>"')
    op: FilterOp
    value: str = Field("", max_length=500, description="Not used by empty / not_empty")


class CampaignRcsIn(Schema):
    """An RCS campaign's content and SMS fallback, as in `POST /api/v1/rcs/messages`."""

    agent_id: UUID = Field(description="An RCS agent of the account, launched by the "
                                       "carriers when the campaign is launched")
    content: RcsContent
    fallback_text: str = Field("", max_length=1_600, description=(
        "Sent as an SMS (billed as SMS) to each recipient not RCS-capable, or not reached "
        "after `fallback_after`"))
    fallback_after: int | None = Field(None, description="Seconds without delivery before "
                                                         "the fallback SMS is sent")


class CampaignIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    sender: str = Field("", max_length=20, description="Required for SMS; an RCS "
                                                       "campaign's is its agent's")
    text: str = Field("", max_length=10_000, description=(
        "With placeholders: {first_name}, {last_name}, {company}, {city}…, or a custom "
        "field's key; a default after a bar for empty values: {first_name|Client}. "
        "Required for SMS; an RCS campaign's is a summary of its content"))
    kind: Kind = "marketing"
    stop_mention: bool = Field(True, description="Always true for marketing (M-10)")
    max_segments: int | None = Field(None, ge=1)
    send_at: datetime | None = Field(None, description="null: as soon as launched")
    list_ids: list[str] = Field(default_factory=list)
    all_contacts: bool = Field(False, description="The whole address book instead of lists")
    filters: list[FilterIn] = Field(default_factory=list, description="All must match")
    numbers: list[str] = Field(default_factory=list, description="Pasted numbers")
    rcs: CampaignRcsIn | None = Field(None, description="Send on RCS through an agent, "
                                                        "with a per-recipient SMS fallback")


class CampaignPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    sender: str | None = Field(None, min_length=1, max_length=20)
    text: str | None = Field(None, min_length=1, max_length=10_000)
    kind: Kind | None = None
    stop_mention: bool | None = None
    max_segments: int | None = Field(None, ge=1)
    send_at: datetime | None = None
    list_ids: list[str] | None = None
    all_contacts: bool | None = None
    filters: list[FilterIn] | None = None
    numbers: list[str] | None = None


class ReviewFinding(Schema):
    country: str
    operator: str
    code: str
    recipients: int
    on_operator: int
    share: float
    usual: float


class CampaignOut(Schema):
    id: UUID
    name: str
    kind: str
    sender: str
    text: str
    stop_mention: bool
    max_segments: int | None
    send_at: datetime | None
    list_ids: list[UUID]
    all_contacts: bool
    filters: list[dict[str, Any]]
    pasted_numbers: int
    status: str
    stop_reason: str = Field(description='Why it stopped by itself, e.g. "insufficient_credit"')
    review: list[ReviewFinding] = Field(description="The operator-skew findings (M-9)")
    send_id: UUID | None
    channel: str = Field(description='"sms" or "rcs"')
    rcs_agent_id: UUID | None
    rcs_content: dict[str, Any] | None
    fallback_text: str
    fallback_after: int | None
    recipients: int = Field(description="Distinct numbers frozen at launch")
    invalid: int
    processed: int = Field(description="Recipients accepted so far")
    messages: int
    opted_out: int
    not_sent: int = Field(description="Refused at acceptance (sender rule, too long)")
    cost: Decimal
    currency: str
    released: int = Field(description="Messages released to the carriers so far")
    created_by: str
    created_at: datetime
    launch_requested_at: datetime | None
    launched_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_list_ids(obj: Campaign) -> list[UUID]:
        return [cl.pk for cl in obj.lists.all()]

    @staticmethod
    def resolve_channel(obj: Campaign) -> str:
        return "rcs" if obj.rcs_agent_id else "sms"

    @staticmethod
    def resolve_pasted_numbers(obj: Campaign) -> int:
        return len(obj.numbers)

    @staticmethod
    def resolve_cost(obj: Campaign) -> Decimal:
        return _amount(obj.cost_micros)


class PreviewOut(Schema):
    number: str
    name: str
    text: str
    encoding: str
    segments: int
    price: Decimal | None
    opted_out: bool
    too_long: bool = Field(description="Over max_segments: not sent")

    @staticmethod
    def resolve_price(obj: PreviewRow) -> Decimal | None:
        return None if obj.price_micros is None else _amount(obj.price_micros)


class CountryOut(Schema):
    country: str
    recipients: int
    segments: int
    cost: Decimal
    priced: bool

    @staticmethod
    def resolve_cost(obj) -> Decimal:
        return _amount(obj.cost_micros)


class SkewOut(Schema):
    country: str
    operator: str
    recipients: int
    on_operator: int
    share: float
    usual: float


class EstimateOut(Schema):
    recipients: int
    contacts: int
    pasted: int
    opted_out: int
    invalid: int
    too_long: int
    billable: int
    segments: int
    encodings: dict[str, int]
    ucs2_example: str
    by_country: list[CountryOut]
    cost: Decimal
    currency: str
    available_credit: Decimal | None = Field(description="null for a subscriber (postpaid)")
    short_of_credit: bool
    unpriced: list[str]
    skews: list[SkewOut] = Field(description="Operators far above their usual share (M-9): "
                                             "the launch is held for review")

    @staticmethod
    def resolve_cost(obj: Estimate) -> Decimal:
        return _amount(obj.cost_micros)

    @staticmethod
    def resolve_available_credit(obj: Estimate) -> Decimal | None:
        return None if obj.available_micros is None else _amount(obj.available_micros)


class PointOut(Schema):
    at: datetime
    delivered: int
    failed: int


class ProgressOut(Schema):
    status: str
    stop_reason: str
    recipients: int
    processed: int
    launch_percent: int
    released: int
    sampled_at: datetime | None = Field(description="When the counts below were taken")
    waiting: int = Field(description="Accepted, not yet handed to a carrier")
    sent: int = Field(description="Handed to a carrier, waiting for its receipt")
    delivered: int
    failed: int = Field(description="Undelivered, rejected or expired")
    canceled: int
    opted_out: int
    percent: int
    series: list[PointOut] = Field(description="Delivered and failed over time")

    @staticmethod
    def resolve_status(obj: Progress) -> str:
        return obj.campaign.status

    @staticmethod
    def resolve_stop_reason(obj: Progress) -> str:
        return obj.campaign.stop_reason

    @staticmethod
    def resolve_recipients(obj: Progress) -> int:
        return obj.campaign.recipients

    @staticmethod
    def resolve_processed(obj: Progress) -> int:
        return obj.campaign.processed

    @staticmethod
    def resolve_launch_percent(obj: Progress) -> int:
        return obj.campaign.launch_percent

    @staticmethod
    def resolve_released(obj: Progress) -> int:
        return obj.campaign.released

    @staticmethod
    def resolve_opted_out(obj: Progress) -> int:
        return obj.campaign.opted_out
