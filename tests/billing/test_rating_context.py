"""The per-process cache of what a use is rated with (`rating_context`): exact at the
instants a context changes by itself, dropped on any billing change in this process, and
at most `CACHE_SECONDS` late for changes made elsewhere."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chappe.billing import rating_context as cache
from chappe.billing.models import AccountBilling, BillingMode, UsageRecord
from chappe.billing.services import (
    plan_create,
    price_list_create,
    price_list_version_create,
    subscription_create,
    usage_charge,
)
from tests.billing.conftest import EPOCH, OPERATOR


def charge(account, key: str, at):
    return usage_charge(account=account, product="sms", quantity=1, destination_country="FR",
                        cause_type="test", cause_id=key, idempotency_key=key, occurred_at=at)


@pytest.fixture
def other_list(db):
    prices = price_list_create(actor=OPERATOR, code="other", name="Other")
    price_list_version_create(actor=OPERATOR, price_list=prices, effective_from=EPOCH,
                              prices=[{"product": "sms", "unit_price": "0.09"}])
    return prices


def test_a_later_subscription_takes_over_at_its_start(account, buy_credits, other_list):
    buy_credits(account, "10")
    now = timezone.now()
    plan = plan_create(actor=OPERATOR, code="m", name="M", service_kind="messaging",
                       price_list=other_list)
    subscription_create(actor=OPERATOR, account=account, plan=plan,
                        started_at=now + timedelta(seconds=1))
    first = charge(account, "before", now)  # warms the cache: prepaid, default list
    second = charge(account, "after", now + timedelta(seconds=1))
    assert (first.record.billing_mode, first.amount_micros) == (BillingMode.PREPAID, 45_000)
    assert (second.record.billing_mode, second.amount_micros) == (BillingMode.POSTPAID, 90_000)


def test_a_new_version_applies_from_its_effective_time(account, buy_credits, price_list):
    buy_credits(account, "10")
    change = timezone.now() + timedelta(days=40)  # a month's notice (P-14)
    price_list_version_create(actor=OPERATOR, price_list=price_list, effective_from=change,
                              prices=[{"product": "sms", "unit_price": "0.05"}])
    before = change - timedelta(microseconds=1)
    assert charge(account, "old", before).amount_micros == 45_000
    assert charge(account, "new", change).amount_micros == 50_000


def test_changes_unseen_by_signals_apply_after_the_cache_time(account, buy_credits,
                                                            other_list, monkeypatch):
    """Another process changing the account's list: no signal here, only the clock."""
    buy_credits(account, "10")
    now = timezone.now()
    assert charge(account, "a", now).amount_micros == 45_000
    AccountBilling.objects.update_or_create(account=account)  # signal: clears the cache
    assert charge(account, "b", now).amount_micros == 45_000
    AccountBilling.objects.filter(account=account).update(price_list=other_list)  # no signal
    assert charge(account, "c", now).amount_micros == 45_000  # still cached
    clock = cache.time.monotonic() + cache.CACHE_SECONDS
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock)
    assert charge(account, "d", now).amount_micros == 90_000
    assert UsageRecord.objects.filter(account=account).count() == 4


def test_saving_a_billing_row_here_applies_at_once(account, buy_credits, other_list):
    buy_credits(account, "10")
    now = timezone.now()
    assert charge(account, "a", now).amount_micros == 45_000
    AccountBilling.objects.create(account=account, price_list=other_list)
    assert charge(account, "b", now).amount_micros == 90_000
