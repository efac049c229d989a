"""The support desk's calendar (P-11, C-12), from `settings.CHAPPE_SUPPORT`: opening
hours (Monday to Friday 9:00-12:00 and 14:00-17:00, not on French public holidays, by
default), the monthly ticket quota in the account's zone, and the acknowledgement
deadline of an incident in working hours."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings

from chappe.accounts.models import Account, ServiceKind
from chappe.billing.periods import add_months, local_date, local_midnight, month_start, zone
from chappe.billing.selectors import subscription_live
from chappe.common.working_hours import Schedule, parse_slots


def desk_schedule() -> Schedule:
    conf = settings.CHAPPE_SUPPORT
    return Schedule(slots=parse_slots(conf["hours"]), tz=ZoneInfo(conf["timezone"]))


def acknowledge_due(*, severity: str, opened_at: datetime) -> datetime | None:
    """When the operator must have acknowledged an incident (None: not an incident)."""
    hours = settings.CHAPPE_SUPPORT["acknowledge_hours"].get(severity)
    if not severity or hours is None:
        return None
    return desk_schedule().add_working_hours(opened_at, hours)


def is_subscriber(account: Account, now: datetime) -> bool:
    """Holds a running subscription to any service (the quota of subscribers)."""
    return any(subscription_live(account=account, service_kind=kind, at=now) is not None
               for kind in ServiceKind.values)


@dataclass(frozen=True)
class Quota:
    used: int
    limit: int
    resets_at: datetime  # the next 1st, 00:00 in the account's zone

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


def month_window(account: Account, now: datetime) -> tuple[datetime, datetime]:
    tz = zone(account.timezone)
    first = month_start(local_date(now, tz))
    return local_midnight(first, tz), local_midnight(add_months(first, 1), tz)
