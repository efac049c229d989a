"""Operator writes on price lists, plans, per-account overrides and subscriptions."""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.billing.models import (
    AccountBilling,
    Plan,
    Price,
    PriceChangeNotice,
    PriceList,
    PriceListVersion,
    Subscription,
    SubscriptionStatus,
)
from chappe.billing.money import CURRENCIES, MoneyError, to_micros
from chappe.billing.periods import add_months, local_date, local_midnight, zone
from chappe.billing.rating import Product
from chappe.common.changes import changes_apply
from chappe.common.errors import Conflict, ValidationFailed

# P-14: price changes are announced one month ahead.
PRICE_NOTICE = timedelta(days=30)


@transaction.atomic
def price_list_create(*, actor: Actor, code: str, name: str, currency: str = "EUR",
                      is_default: bool = False) -> PriceList:
    actor.require_operator()
    if currency not in CURRENCIES:
        raise ValidationFailed(details={"currency": [_("Unknown currency.")]})
    if is_default:
        PriceList.objects.filter(is_default=True).update(is_default=False)
    price_list = PriceList.objects.create(code=code, name=name, currency=currency,
                                          is_default=is_default)
    audit_record(actor=actor, action="billing.price_list.create", target=price_list,
                 details={"code": code, "currency": currency})
    return price_list


@transaction.atomic
def price_list_update(*, actor: Actor, price_list: PriceList,
                      changes: Mapping[str, Any]) -> PriceList:
    """Rename a list or make it the default (the previous default stops being one). Its
    code and currency stay: versions and usage records refer to them."""
    actor.require_operator()
    price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)
    if changes.get("is_default"):
        PriceList.objects.filter(is_default=True).exclude(pk=price_list.pk) \
            .update(is_default=False)
    changed = changes_apply(price_list, changes, editable=("name", "is_default"))
    if changed:
        audit_record(actor=actor, action="billing.price_list.update", target=price_list,
                     details={"fields": changed})
    return price_list


def _price_rows(prices: Iterable[dict[str, Any]]) -> list[Price]:
    rows, seen = [], set()
    for index, raw in enumerate(prices):
        product = raw.get("product")
        if product not in Product.values:
            raise ValidationFailed(details={f"prices.{index}.product": [_("Unknown product.")]})
        try:
            micros = (raw["unit_price_micros"] if "unit_price_micros" in raw
                      else to_micros(raw["unit_price"]))
        except (KeyError, MoneyError) as exc:
            raise ValidationFailed(details={f"prices.{index}.unit_price": [str(exc)]}) from exc
        if not isinstance(micros, int) or micros < 0:
            raise ValidationFailed(details={f"prices.{index}.unit_price": [
                _("A price is an amount >= 0.")]})
        key = (product, (raw.get("country") or "").upper(), raw.get("operator") or "",
               raw.get("number_type") or "", (raw.get("origin_country") or "").upper())
        if key in seen:
            raise ValidationFailed(details={f"prices.{index}": [_("Duplicate price key.")]})
        seen.add(key)
        rows.append(Price(product=key[0], country=key[1], operator=key[2], number_type=key[3],
                          origin_country=key[4], unit_price_micros=micros))
    return rows


@transaction.atomic
def price_list_version_create(
    *,
    actor: Actor,
    price_list: PriceList,
    effective_from: datetime,
    prices: Iterable[dict[str, Any]],
    note: str = "",
    message: str = "",
    allow_short_notice: bool = False,
    now: datetime | None = None,
) -> PriceListVersion:
    """Schedule a new version of a list. Each price is {product, unit_price (decimal
    string) or unit_price_micros, country?, operator?, number_type?, origin_country?}.

    A change to a list already in use is announced with a `PriceChangeNotice` (P-14) and
    must take effect at least a month later, unless the operator confirms a shorter notice
    (e.g. a price decrease)."""
    actor.require_operator()
    now = now or timezone.now()
    if effective_from.tzinfo is None:
        raise ValidationFailed(details={"effective_from": [_("A time zone is required.")]})
    rows = _price_rows(prices)
    has_versions = price_list.versions.exists()
    short = has_versions and effective_from - now < PRICE_NOTICE
    if short and not allow_short_notice:
        raise ValidationFailed(
            _("Price changes must be announced at least one month ahead."),
            code="short_notice", details={"effective_from": [_("Too soon.")]})
    if has_versions and effective_from < now:
        # Usage already rated stays rated: prices never change retroactively.
        raise Conflict(_("A price change cannot take effect in the past."),
                       code="retroactive_price")
    version = PriceListVersion.objects.create(price_list=price_list, effective_from=effective_from,
                                              note=note[:200], created_by=actor.label)
    for row in rows:
        row.version = version
    Price.objects.bulk_create(rows)
    if has_versions:
        PriceChangeNotice.objects.create(price_list=price_list, version=version, announced_at=now,
                                         effective_from=effective_from, message=message,
                                         short_notice=short)
    audit_record(actor=actor, action="billing.price_list.version", target=version,
                 details={"price_list": price_list.code, "prices": len(rows),
                          "effective_from": effective_from.isoformat(),
                          "short_notice": short})
    return version


@transaction.atomic
def plan_create(*, actor: Actor, code: str, name: str, service_kind: str,
                price_list: PriceList, term_months: int | None = None) -> Plan:
    actor.require_operator()
    if service_kind not in ServiceKind.values:
        raise ValidationFailed(details={"service_kind": [_("Unknown service.")]})
    if term_months is None:
        term_months = 12 if service_kind == ServiceKind.MESSAGING else 0
    plan = Plan.objects.create(code=code, name=name, service_kind=service_kind,
                               price_list=price_list, term_months=term_months)
    audit_record(actor=actor, action="billing.plan.create", target=plan,
                 details={"code": code, "price_list": price_list.code})
    return plan


@transaction.atomic
def plan_update(*, actor: Actor, plan: Plan, changes: Mapping[str, Any]) -> Plan:
    """Rename a plan, change its notice or withdraw it from sale (`is_active`). Its code,
    service, price list and term stay: subscriptions were signed on them."""
    actor.require_operator()
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    changed = changes_apply(plan, changes, editable=("name", "notice_days", "is_active"))
    if changed:
        audit_record(actor=actor, action="billing.plan.update", target=plan,
                     details={"fields": changed})
    return plan


@transaction.atomic
def account_price_list_set(*, actor: Actor, account: Account,
                           price_list: PriceList | None) -> AccountBilling:
    """Override (or with None, stop overriding) the list that prices this account."""
    actor.require_operator()
    profile, _created = AccountBilling.objects.get_or_create(account=account)
    profile.price_list = price_list
    profile.save(update_fields=["price_list"])
    audit_record(actor=actor, account=account, action="billing.price_list.assign",
                 target=account, details={"price_list": price_list.code if price_list else None})
    return profile


@transaction.atomic
def subscription_create(
    *,
    actor: Actor,
    account: Account,
    plan: Plan,
    started_at: datetime | None = None,
    users: int = 0,
    licences: int = 0,
    numbers: list[dict[str, Any]] | None = None,
    payment_days: int | None = None,
) -> Subscription:
    """Subscribe an account to a plan (P-6): from then on its usage of that service is
    invoiced monthly in arrears instead of being debited from prepaid credits."""
    actor.require_operator()
    if Subscription.objects.filter(account=account, service_kind=plan.service_kind) \
            .exclude(status=SubscriptionStatus.ENDED).exists():
        raise Conflict(_("This account already has a subscription for this service."))
    subscription = Subscription.objects.create(
        account=account, plan=plan, service_kind=plan.service_kind,
        started_at=started_at or timezone.now(), users=users, licences=licences,
        numbers=numbers or [], payment_days=payment_days,
    )
    audit_record(actor=actor, account=account, action="billing.subscription.create",
                 target=subscription, details={"plan": plan.code,
                                               "started_at": subscription.started_at.isoformat()})
    return subscription


@transaction.atomic
def subscription_update(*, actor: Actor, subscription: Subscription,
                        changes: Mapping[str, Any]) -> Subscription:
    """Change what a subscription counts (users, licences, numbers) or its payment days;
    its plan, start and status change only through creation and cancellation."""
    actor.require_operator()
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    changed = changes_apply(subscription, changes,
                            editable=("users", "licences", "numbers", "payment_days"))
    if changed:
        audit_record(actor=actor, account=subscription.account,
                     action="billing.subscription.update", target=subscription,
                     details={"fields": changed})
    return subscription


def subscription_end_for_notice(*, subscription: Subscription, asked_at: datetime) -> datetime:
    """When a cancellation asked at `asked_at` takes effect (P-6).

    Messaging: at the end of the current yearly term if asked at least one month before
    it, else at the end of the next term (tacit renewal). Contact center (indefinite): one
    month after the request; the month it ends in is owed in full."""
    tz = zone(subscription.account.timezone)
    start_day = local_date(subscription.started_at, tz)
    asked_day = local_date(asked_at, tz)
    if subscription.plan.term_months:
        terms = 1
        while True:
            term_end = local_midnight(add_months(start_day, subscription.plan.term_months * terms),
                                      tz)
            if local_date(term_end, tz) >= add_months(asked_day, 1):
                return term_end
            terms += 1
    return local_midnight(add_months(asked_day, 1), tz)


@transaction.atomic
def subscription_cancel(*, actor: Actor, subscription: Subscription,
                        asked_at: datetime | None = None) -> Subscription:
    """Give notice; the subscription runs (and is owed) until its end date."""
    actor.require(Perm.BILLING_MANAGE)
    if subscription.status != SubscriptionStatus.ACTIVE:
        raise Conflict(_("This subscription is already ending."))
    asked_at = asked_at or timezone.now()
    subscription.cancel_requested_at = asked_at
    subscription.ends_at = subscription_end_for_notice(subscription=subscription,
                                                       asked_at=asked_at)
    subscription.status = SubscriptionStatus.ENDING
    subscription.save(update_fields=["cancel_requested_at", "ends_at", "status"])
    audit_record(actor=actor, account=subscription.account, action="billing.subscription.cancel",
                 target=subscription, details={"ends_at": subscription.ends_at.isoformat()})
    return subscription
