"""Contact-center statistics API (C-6, C-11; decision 0042): the same figures as the web
page, per queue, agent or number and per period, computed from the queue event log and
the call records (chappe.agents.statistics). Administrators and Supervisors."""

from datetime import date
from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from chappe.accounts.roles import Perm
from chappe.agents import statistics
from chappe.api.v1.base import actor_of
from chappe.common.errors import ValidationFailed

router = Router(tags=["contact center: statistics"])


class StatisticsFilters(Schema):
    start: date
    end: date
    group: Literal["total", "day", "hour", "weekday"] = "total"
    threshold: int = Field(statistics.DEFAULT_THRESHOLD, ge=1, le=3600,
                           description="service-level threshold T, seconds")
    short_abandon: int = Field(statistics.DEFAULT_SHORT_ABANDON, ge=0, le=600,
                               description="abandons under this many seconds are short")
    id: list[UUID] | None = Field(None, description="only these queues or agents")


class StatisticsOut(Schema):
    subject: str
    start: date
    end: date
    timezone: str
    group: str
    threshold: int
    short_abandon: int
    rows: list[dict[str, Any]]


def _report(request: HttpRequest, subject: str, filters: StatisticsFilters) -> dict[str, Any]:
    actor = actor_of(request, Perm.STATISTICS_VIEW)
    if filters.end < filters.start:
        raise ValidationFailed(details={"end": ["before start"]})
    if (filters.end - filters.start).days >= statistics.MAX_DAYS:
        raise ValidationFailed(details={"end": [f"at most {statistics.MAX_DAYS} days"]})
    rows = statistics.report(account=actor.account, subject=subject, first=filters.start,
                             last=filters.end, group=filters.group,
                             threshold=filters.threshold, short_abandon=filters.short_abandon,
                             ids=filters.id)
    return {"subject": subject, "start": filters.start, "end": filters.end,
            "timezone": str(statistics.account_zone(actor.account)), "group": filters.group,
            "threshold": filters.threshold, "short_abandon": filters.short_abandon,
            "rows": [row.as_dict() for row in rows]}


@router.get("/statistics/queues", response=StatisticsOut)
def queue_statistics(request: HttpRequest, filters: Query[StatisticsFilters]):
    """Per queue (and period): offered, answered, abandoned and short abandoned, abandon
    rate, service level (answered within T over answered) and with abandons, ASA, average
    and longest wait, handled, talk/hold/wrap-up seconds, AHT, transfers, callbacks,
    overflowed. Ratios are fractions (0.8, not 80); a ratio over nothing is null."""
    return _report(request, "queues", filters)


@router.get("/statistics/agents", response=StatisticsOut)
def agent_statistics(request: HttpRequest, filters: Query[StatisticsFilters]):
    """Per agent (and period): answered, their waits, handled, AHT, transfers made and,
    over the whole range (group=total), occupancy."""
    return _report(request, "agents", filters)


@router.get("/statistics/numbers", response=StatisticsOut)
def number_statistics(request: HttpRequest, filters: Query[StatisticsFilters]):
    """Per number (and period), from the call records: inbound calls, answered, talk
    seconds; outbound attempts, connected, talk seconds."""
    return _report(request, "numbers", filters)


# --- the CRM web service asked on inbound calls (C-11) ---------------------------------


class CrmEndpointIn(Schema):
    url: str = Field(max_length=500, description="asked with GET ?remote_number=&"
                                                 "local_number=&apikey=, signed as webhooks")
    number: str = Field("", max_length=20, description="one of the account's numbers; "
                                                       "empty: every number")
    queue_id: UUID | None = Field(None, description="one of the account's queues: for the "
                                                    "calls whose flow leads to it")
    api_key: str = Field("", max_length=200, description="sent as `apikey`")
    timeout_ms: int = Field(1500, ge=100, le=5000)


class CrmEndpointOut(Schema):
    id: UUID
    url: str
    number: str
    queue_id: UUID | None
    timeout_ms: int


@router.get("/crm-endpoints", response=list[CrmEndpointOut])
def crm_endpoint_list(request: HttpRequest):
    """The CRM web services asked on each inbound call: the account's, and numbers' own."""
    from chappe.agents.models import CrmEndpoint

    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    return list(CrmEndpoint.objects.filter(account=actor.account)
                .order_by("number", "queue_id"))


@router.put("/crm-endpoints", response=CrmEndpointOut)
def crm_endpoint_set(request: HttpRequest, payload: CrmEndpointIn):
    """Set the account's (no number, no queue), a number's or a queue's CRM web service
    (the most specific one is asked: the number's, else the queue's, else the
    account's). On each inbound call the engine asks it (within `timeout_ms`, then the
    call goes on): the JSON answer may carry `caller_info` {full_name,
    caller_profile_url}, `priority` (0-100) and `redirect` {"queue"|"flow"|"agent": id
    or name; an agent by id or extension}. Private and loopback addresses are refused."""
    from chappe.agents import crm

    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    return crm.crm_endpoint_set(actor=actor, account=actor.account, url=payload.url,
                                number=payload.number, queue_id=payload.queue_id,
                                api_key=payload.api_key,
                                timeout_ms=payload.timeout_ms)


@router.delete("/crm-endpoints/{crm_endpoint_id}", response={204: None})
def crm_endpoint_delete(request: HttpRequest, crm_endpoint_id: UUID):
    from ninja import Status

    from chappe.agents import crm
    from chappe.agents.models import CrmEndpoint
    from chappe.common.lookup import get_or_404

    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    endpoint = get_or_404(CrmEndpoint.objects.filter(account=actor.account), crm_endpoint_id)
    crm.crm_endpoint_delete(actor=actor, endpoint=endpoint)
    return Status(204, None)


# --- live calls ----------------------------------------------------------------------------


class LiveCallOut(Schema):
    call_id: str
    state: Literal["waiting", "talking"]
    # "inbound": a caller in a queue or with an agent; "outbound": placed by the API.
    direction: Literal["inbound", "outbound"] = "inbound"
    queue_id: UUID | None
    agent_id: UUID | None
    since: str
    seconds: int


@router.get("/live-calls", response=list[LiveCallOut])
def live_call_list(request: HttpRequest):
    """The calls going on now: callers waiting in a queue and calls an agent is on (read
    from the queue log, as the wallboard; calls still in a flow's menu are not), and the
    calls placed by `POST /api/v1/calls` once the customer answered (from the engine)."""
    from django.utils import timezone

    from chappe.agents import wallboard
    from chappe.agents.services.calls import originated_calls

    actor = actor_of(request, Perm.AGENTS_SUPERVISE)
    now = timezone.now()
    return [*wallboard.live_calls(account=actor.account, now=now),
            *wallboard.originated_live(originated_calls(account=actor.account), now=now)]
