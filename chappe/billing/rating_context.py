"""What a use is rated with — billing mode, price list, version in force, price rows —
cached per process for a moment.

Rating needs the account's live subscription (postpaid or prepaid), its price list (its
own, a parent's, the plan's or the default) and the version in force, then the price rows:
five to seven queries, which were most of the cost of small batches (one API message, a
group of SMPP submits, a campaign chunk). They change rarely and only through a few
models, so the context is cached per (account, service) and dropped:

* when one of those models is saved or deleted in this process (signals, `apps.py`);
* at the next instant it could change by itself: the subscription's end, the start of a
  later subscription, the next price version's `effective_from` — a context is only
  used for times inside the window it was computed for;
* after `CACHE_SECONDS` at most, which bounds how late another process (another web or
  SMPP server) sees an operator's change to an account's prices or plan.

Price rows are cached per version (a version's rows are its own; any `Price` change
clears them). Historical rating (an `at` outside the current window) works the same way:
the context is computed for that time, only cached while it is the latest asked for.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chappe.accounts.models import Account
from chappe.billing.errors import NoPriceError
from chappe.billing.models import PriceList, PriceListVersion, Subscription, SubscriptionStatus
from chappe.billing.rating import PriceEntry
from chappe.billing.selectors import price_entries, price_list_for, subscription_live

CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class RatingContext:
    postpaid: bool
    price_list: PriceList
    version: PriceListVersion
    # The times it holds for: [valid_from, valid_until) (None: unbounded).
    valid_from: datetime | None
    valid_until: datetime | None
    loaded: float  # time.monotonic() when computed

    def holds_at(self, at: datetime) -> bool:
        return ((self.valid_from is None or self.valid_from <= at)
                and (self.valid_until is None or at < self.valid_until)
                and time.monotonic() - self.loaded < CACHE_SECONDS)


_lock = threading.Lock()
_contexts: dict[tuple[Any, str], RatingContext] = {}
_tables: dict[tuple[int, str, str], list[PriceEntry]] = {}


def rating_context(*, account: Account, service_kind: str, at: datetime) -> RatingContext:
    key = (account.pk, service_kind)
    cached = _contexts.get(key)
    if cached is not None and cached.holds_at(at):
        return cached
    context = _load(account=account, service_kind=service_kind, at=at)
    with _lock:
        _contexts[key] = context
    return context


def price_table(*, version: PriceListVersion, product: str, country: str) -> list[PriceEntry]:
    key = (version.pk, product, country)
    table = _tables.get(key)
    if table is None:
        table = price_entries(version=version, product=product, country=country)
        with _lock:
            _tables[key] = table
    return table


def rating_cache_clear(**_signal: Any) -> None:
    """Forget every cached context and price table (a billing model changed)."""
    with _lock:
        _contexts.clear()
        _tables.clear()


def _load(*, account: Account, service_kind: str, at: datetime) -> RatingContext:
    loaded = time.monotonic()
    subscription = subscription_live(account=account, service_kind=service_kind, at=at)
    price_list = price_list_for(account=account, service_kind=service_kind, at=at,
                                subscription=subscription)
    versions = list(price_list.versions.order_by("effective_from"))
    in_force = [v for v in versions if v.effective_from <= at]
    if not in_force:
        raise NoPriceError()
    version = in_force[-1]
    later = [v.effective_from for v in versions if v.effective_from > at]
    bounds = [later[0]] if later else []
    if subscription is not None:
        if subscription.ends_at is not None:
            bounds.append(subscription.ends_at)
    else:
        next_start = (Subscription.objects.filter(account=account, service_kind=service_kind,
                                                  started_at__gt=at)
                      .exclude(status=SubscriptionStatus.ENDED).order_by("started_at")
                      .values_list("started_at", flat=True).first())
        if next_start is not None:
            bounds.append(next_start)
    starts = [version.effective_from]
    if subscription is not None:
        starts.append(subscription.started_at)
    return RatingContext(postpaid=subscription is not None, price_list=price_list,
                         version=version, valid_from=max(starts),
                         valid_until=min(bounds) if bounds else None, loaded=loaded)
