"""Paying for rented numbers without a subscription (C-1, C-9, P-5; decision 0019).

Why: a contact-center subscriber finds its numbers on the monthly invoice (the
subscription's `numbers`, kept in step by `numbers.numbers_sync`). An account without a
subscription has no invoice, so it pays each month of each number in advance from its
prepaid credit, through `billing.services.fee_charge` (exactly once per rental and month):

* **buying** a number charges its first month at once — from the purchase day to the end
  of the local month, prorated by days — or is refused (`insufficient_credit`);
* **renewal** (the periodic job `callcenter.rental_fees`) charges each following calendar
  month on its 1st, in the account's time zone (the contact-center periods of P-6 and
  decision 0008);
* a month that cannot be paid **suspends** the number (it takes no calls, stays the
  account's) and e-mails a notice; paying again (credit bought, next run) reactivates it;
  still unpaid `BillingSettings.prepaid_fee_grace_days` after the suspension, the number
  is **released** with a second notice. Nothing happens silently: each step is audited.
* An account that takes a subscription moves its numbers onto it; one whose subscription
  ended pays its numbers in advance again from the next month (the month the subscription
  ended is on its last invoice: every started month is owed, P-6).
* When the account or its contact-center service is **terminated** (P-9), its numbers are
  suspended without charge: they take no calls but stay reserved for a port-out until
  the termination purge gives them back to the catalogue (callcenter/retention.py).
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account, AccountStatus, Service, ServiceKind, ServiceStatus
from chappe.audit.services import audit_record
from chappe.billing.errors import InsufficientCredit
from chappe.billing.models import BillingSettings
from chappe.billing.money import format_amount
from chappe.billing.periods import add_months, local_date, local_midnight, month_start, zone
from chappe.billing.rating import Product, prorate
from chappe.billing.selectors import subscription_live
from chappe.billing.services import FeeCharged, fee_charge, fee_period
from chappe.callcenter.models import RENTAL_HELD, NumberRental, NumberType, RentalStatus
from chappe.callcenter.notices import billing_recipients, mail_send
from chappe.callcenter.numbers import number_release, numbers_sync
from chappe.queue.jobs import job_enqueue

logger = logging.getLogger(__name__)

PREPAID = "prepaid"
SUBSCRIPTION = "subscription"
# A run catches up at most this many unpaid months of one rental (a worker down for long).
MAX_CATCH_UP = 24


def rental_description(rental: NumberRental) -> str:
    number = rental.number
    return f"{number.e164} ({number.country}, {NumberType(number.number_type).label})"


def rental_charge(*, rental: NumberRental, actor: Actor = SYSTEM,
                  now: datetime | None = None) -> FeeCharged:
    """Pay the next unpaid month of a prepaid rental from credit (the first one prorated
    from the rental's start) and move `paid_until` past it. Call it in a transaction
    holding the rental's row lock. Raises InsufficientCredit, writing nothing."""
    now = now or timezone.now()
    tz = zone(rental.account.timezone)
    month = month_start(local_date(rental.paid_until or rental.started_at, tz))
    charged = fee_charge(
        account=rental.account, product=Product.NUMBER_RENTAL,
        cause_type="callcenter.numberrental", cause_id=str(rental.pk),
        description=rental_description(rental), month=month,
        started_on=local_date(rental.started_at, tz),
        monthly_price_micros=rental.monthly_price_micros, currency=rental.currency,
        actor=actor, now=now)
    rental.paid_until = local_midnight(add_months(month, 1), tz)
    rental.save(update_fields=["paid_until"])
    return charged


def rental_grace() -> timedelta:
    return timedelta(days=BillingSettings.load().prepaid_fee_grace_days)


def _notice(rental: NumberRental, kind: str) -> None:
    """Queue the e-mail telling the account what happened to its number (outbox)."""
    job_enqueue(name="callcenter.rental_notice",
                payload={"rental": str(rental.pk), "kind": kind},
                unique_key=f"rental-notice:{rental.pk}:{kind}:{rental.suspended_at or ''}")


def _suspend(rental: NumberRental, now: datetime, details: dict[str, Any]) -> None:
    rental.status, rental.suspended_at = RentalStatus.SUSPENDED, now
    rental.save(update_fields=["status", "suspended_at"])
    audit_record(actor=SYSTEM, account=rental.account, action="callcenter.number.suspend",
                 target=rental, details=details)


def _service_ended(account: Account) -> bool:
    """The account, or its contact-center service, is terminated (P-9)."""
    return account.status == AccountStatus.TERMINATED or Service.objects.filter(
        account=account, kind=ServiceKind.CONTACT_CENTER,
        status=ServiceStatus.TERMINATED).exists()


def _reactivate(rental: NumberRental) -> None:
    rental.status, rental.suspended_at = RentalStatus.ACTIVE, None
    rental.save(update_fields=["status", "suspended_at"])
    audit_record(actor=SYSTEM, account=rental.account, action="callcenter.number.reactivate",
                 target=rental)


def _release_unpaid(rental: NumberRental, now: datetime) -> None:
    number_release(actor=SYSTEM.on(rental.account), account=rental.account,
                   rental_id=rental.pk, now=now, reason="unpaid")
    rental.refresh_from_db()
    _notice(rental, "released")


def _move_to_subscription(rental: NumberRental) -> None:
    rental.billing, rental.paid_until = SUBSCRIPTION, None
    rental.save(update_fields=["billing", "paid_until"])
    if rental.status == RentalStatus.SUSPENDED:
        _reactivate(rental)
    numbers_sync(account=rental.account)


def _move_to_prepaid(rental: NumberRental, now: datetime) -> None:
    tz = zone(rental.account.timezone)
    rental.billing = PREPAID
    rental.paid_until = local_midnight(add_months(month_start(local_date(now, tz)), 1), tz)
    rental.save(update_fields=["billing", "paid_until"])


def rental_bill(*, rental_id: Any, now: datetime | None = None) -> str:
    """Bring one held rental's billing up to date (see the module doc); returns what
    happened: subscription, paid, suspended, released or unchanged."""
    now = now or timezone.now()
    with transaction.atomic():
        rental = (NumberRental.objects.select_for_update().select_related("account", "number")
                  .filter(pk=rental_id, status__in=RENTAL_HELD).first())
        if rental is None:
            return "unchanged"
        if _service_ended(rental.account):
            if rental.status != RentalStatus.ACTIVE:
                return "unchanged"
            _suspend(rental, now, {"reason": "terminated"})
            return "suspended"
        subscribed = subscription_live(account=rental.account,
                                       service_kind=ServiceKind.CONTACT_CENTER,
                                       at=now) is not None
        if subscribed:
            if rental.billing == SUBSCRIPTION:
                return "unchanged"
            _move_to_subscription(rental)
            return "subscription"
        if rental.billing == SUBSCRIPTION:
            _move_to_prepaid(rental, now)
            return "unchanged"
        paid = False
        for _month in range(MAX_CATCH_UP):
            if rental.paid_until is not None and rental.paid_until > now:
                break
            try:
                with transaction.atomic():
                    rental_charge(rental=rental, now=now)
            except InsufficientCredit as exc:
                if rental.status == RentalStatus.ACTIVE:
                    _suspend(rental, now, {"reason": "insufficient_credit", **exc.details})
                    _notice(rental, "suspended")
                    return "suspended"
                if now >= rental.suspended_at + rental_grace():
                    _release_unpaid(rental, now)
                    return "released"
                return "unchanged"
            paid = True
        if paid and rental.status == RentalStatus.SUSPENDED:
            _reactivate(rental)
        return "paid" if paid else "unchanged"


def rental_fees_run(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic job: every held rental that is due, suspended, or billed by a
    subscription (which may have ended) is brought up to date, each in its own
    transaction. Safe to run again at any time: each month is charged once."""
    now = now or timezone.now()
    due = NumberRental.objects.filter(status__in=RENTAL_HELD).filter(
        Q(billing=SUBSCRIPTION) | Q(status=RentalStatus.SUSPENDED)
        | Q(paid_until__isnull=True) | Q(paid_until__lte=now))
    counts: dict[str, int] = {}
    for rental_id in list(due.values_list("pk", flat=True)):
        try:
            outcome = rental_bill(rental_id=rental_id, now=now)
        except Exception:
            # One broken rental (no price, a bad time zone) must not stop the others.
            logger.exception("rental %s could not be billed", rental_id)
            outcome = "failed"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def rental_first_charge(*, rental: NumberRental, actor: Actor) -> str:
    """At purchase: a subscriber's number goes on the subscription; anyone else pays the
    first (prorated) month now, or the purchase is refused (InsufficientCredit)."""
    if subscription_live(account=rental.account,
                         service_kind=ServiceKind.CONTACT_CENTER) is not None:
        return SUBSCRIPTION
    rental_charge(rental=rental, actor=actor)
    return PREPAID


def suspension_ends_at(rental: NumberRental) -> datetime | None:
    """When a suspended number will be released if still unpaid."""
    if rental.status != RentalStatus.SUSPENDED or rental.suspended_at is None:
        return None
    return rental.suspended_at + rental_grace()


def rental_notice_send(*, rental_id: Any, kind: str) -> int:
    """The job: e-mail the account that a number was suspended or released for lack of
    credit (its billing e-mail and administrators); returns how many e-mails left."""
    rental = (NumberRental.objects.select_related("account", "number")
              .filter(pk=rental_id).first())
    if rental is None or kind not in ("suspended", "released"):
        return 0
    context = {
        "rental": rental, "account": rental.account, "number": rental.number.e164,
        "monthly_price": format_amount(rental.monthly_price_micros, rental.currency),
        "release_at": suspension_ends_at(rental),
        "numbers_url": settings.PUBLIC_URL + reverse("web:numbers"),
        "credit_url": settings.PUBLIC_URL + reverse("web:credit_buy"),
    }
    return mail_send(account=rental.account,
                     recipients=billing_recipients(account=rental.account),
                     template=f"rental_{kind}", context=context)


def rental_quote(*, account: Account, monthly_price_micros: int,
                 now: datetime | None = None) -> int | None:
    """What buying a number costs now from prepaid credit: the rest of this local month,
    prorated; None for a subscriber (the number goes on the monthly invoice)."""
    now = now or timezone.now()
    if subscription_live(account=account, service_kind=ServiceKind.CONTACT_CENTER,
                         at=now) is not None:
        return None
    today = local_date(now, zone(account.timezone))
    period = fee_period(month=today, started_on=today)
    return prorate(monthly_price_micros, period.days, period.month_days)
