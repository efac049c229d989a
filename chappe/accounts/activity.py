"""The account's last activity (P-10: 24 months without any and the account is deleted):
a login, an API call, an SMPP bind.

Written on the hot path (every API request authenticates), so it costs almost nothing:
each process remembers when it last wrote an account's activity and writes again only
once `activity_touch_minutes` (an hour by default) has passed, with a conditional UPDATE
that skips the row when another process wrote it meanwhile. The deletion is counted in
months, so an hour's imprecision does not matter. Sends need no hook of their own: every
send comes through an API key, a web login or an SMPP bind, which are recorded."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from chappe.accounts.models import Account

# account id → when this process last wrote its activity.
_WRITTEN: dict[Any, datetime] = {}


def _interval() -> timedelta:
    return timedelta(minutes=settings.CHAPPE_LIFECYCLE["activity_touch_minutes"])


def activity_touch(*, account_id: Any, now: datetime | None = None) -> bool:
    """Record activity on the account now (at most once per interval); True when written."""
    if account_id is None:
        return False
    now = now or timezone.now()
    interval = _interval()
    last = _WRITTEN.get(account_id)
    if last is not None and last <= now < last + interval:
        return False
    _WRITTEN[account_id] = now
    return bool(Account.objects.filter(pk=account_id).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lte=now - interval)
    ).update(last_activity_at=now))


def last_activity(account: Account) -> datetime:
    """The account's last activity, its creation when nothing was recorded since."""
    return account.last_activity_at or account.created_at
