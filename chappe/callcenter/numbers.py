"""A held number's writes that both the number services (services.py: buying, assigning)
and the prepaid billing of numbers (rentals.py: releasing an unpaid one, moving numbers
onto a subscription) need: releasing a number, and keeping the contact-center
subscription's count of numbers in step. Both import this module; neither imports the
other's internals, so the two do not import each other."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.billing.models import Subscription
from chappe.billing.selectors import subscription_live
from chappe.callcenter.models import (
    RENTAL_HELD,
    NumberRental,
    NumberStatus,
    PhoneNumber,
    RentalStatus,
)
from chappe.common.errors import Conflict
from chappe.common.lookup import get_or_404


def numbers_sync(*, account: Account) -> Subscription | None:
    """Write the account's active rentals, counted by (country, type), into its live
    contact-center subscription: the monthly run bills them (billing.services.monthly)."""
    subscription = subscription_live(account=account, service_kind=ServiceKind.CONTACT_CENTER)
    if subscription is None:
        return None
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    counts: dict[tuple[str, str], int] = {}
    for country, number_type in NumberRental.objects.filter(
            account=account, status__in=RENTAL_HELD).values_list(
            "number__country", "number__number_type"):
        counts[(country, number_type)] = counts.get((country, number_type), 0) + 1
    subscription.numbers = [{"country": c, "number_type": t, "count": n}
                            for (c, t), n in sorted(counts.items())]
    subscription.save(update_fields=["numbers"])
    return subscription


def rental_held_lock(*, account: Account, rental_id: Any) -> NumberRental:
    """The account's rental `rental_id`, row-locked for the caller's transaction; NotFound
    if it is not the account's, Conflict if the number was already given back."""
    rental = get_or_404(NumberRental.objects.select_for_update().filter(account=account),
                        rental_id)
    if rental.status not in RENTAL_HELD:
        raise Conflict(_("This number was released."))
    return rental


@transaction.atomic
def number_release(*, actor: Actor, account: Account, rental_id: Any,
                   status: str = RentalStatus.RELEASED, now: datetime | None = None,
                   reason: str = "") -> NumberRental:
    """Give the number back (released) or mark it ported out; billing stops (a prepaid
    month already paid is not refunded: P-5)."""
    actor.require(Perm.NUMBERS_MANAGE)
    rental = rental_held_lock(account=account, rental_id=rental_id)
    rental.status = status
    rental.ended_at = now or timezone.now()
    rental.flow = None
    rental.save(update_fields=["status", "ended_at", "flow"])
    number = PhoneNumber.objects.select_for_update().get(pk=rental.number_id)
    number.status = (NumberStatus.AVAILABLE if status == RentalStatus.RELEASED
                     else NumberStatus.WITHDRAWN)
    number.save(update_fields=["status"])
    numbers_sync(account=account)
    audit_record(actor=actor, account=account, action=f"callcenter.number.{status}",
                 target=rental, details={"number": number.e164,
                                         **({"reason": reason} if reason else {})})
    return rental
