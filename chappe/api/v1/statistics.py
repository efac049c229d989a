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
