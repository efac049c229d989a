"""Paying for licences without a subscription (C-8, P-5; as prepaid numbers, decision 0019).

Why: the contact center's terms put the licences in the subscription's monthly fixed price
(the monthly invoice bills `Subscription.licences`: billing.services.monthly). An account
without a contact-center subscription has no invoice, so each of its licences is a monthly
fee paid in advance from prepaid credit, through `billing.services.fee_charge` — exactly
once per licence and month (the key names the account, the licence's rank and the month):

* **raising** the count pays the added licences' current month at once, prorated from
  today, or is refused (`insufficient_credit`) with nothing changed;
* **lowering** it refunds nothing (P-5: credit is never refunded); the month of a licence
  given up stays paid, so taking it back within the month costs nothing more;
* **renewal** (the periodic job `agents.licence_fees`) pays every licence's month on the
  1st, in the account's time zone. When the credit cannot pay them all, the count goes
  down to the licences paid (audited): agents logged in stay until they log out, and no
  login goes beyond the new count.

The price is the `licence` product of the account's price list (its own, a parent's, else
the operator's default).
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account, ServiceKind
from chappe.agents.models import LicencePool
from chappe.audit.services import audit_record
from chappe.billing.errors import InsufficientCredit, NoPriceError
from chappe.billing.periods import local_date, month_start, zone
from chappe.billing.rating import NoPrice, Product, UsageEvent, price_lookup
from chappe.billing.selectors import (
    price_entries,
    price_list_for,
    price_version_at,
    subscription_live,
)
from chappe.billing.services import fee_charge


def licence_price(*, account: Account, at: datetime) -> tuple[int, str]:
    """(monthly price of one licence in micros, currency) for a non-subscriber."""
    price_list = price_list_for(account=account, service_kind=ServiceKind.CONTACT_CENTER,
                                at=at, subscription=None)
    version = price_version_at(price_list=price_list, at=at)
    try:
        entry = price_lookup(UsageEvent(product=Product.LICENCE, quantity=1),
                             price_entries(version=version, product=Product.LICENCE))
    except NoPrice:
        raise NoPriceError() from None
    return entry.unit_price_micros, price_list.currency


def prepaid(*, account: Account, at: datetime) -> bool:
    """Whether the account pays its licences from credit (no contact-center subscription)."""
    return subscription_live(account=account, service_kind=ServiceKind.CONTACT_CENTER,
                             at=at) is None


def licences_pay(*, account: Account, ranks: range, now: datetime,
                 whole_month: bool = False) -> None:
    """Pay this local month of the licences `ranks` (1 is the first licence) from credit:
    from today, prorated, or the `whole_month` (a renewal). Already paid: nothing more.
    Raises InsufficientCredit at the first licence the credit cannot pay (the caller's
    transaction undoes what it wants undone)."""
    if not ranks:
        return
    price, currency = licence_price(account=account, at=now)
    today = local_date(now, zone(account.timezone))
    month = month_start(today)
    for rank in ranks:
        fee_charge(account=account, product=Product.LICENCE, cause_type="agents.licence",
                   cause_id=f"{account.pk}:{rank}", description=f"Licence {rank}",
                   month=month, started_on=month if whole_month else today,
                   monthly_price_micros=price, currency=currency, now=now)


def licence_fees_run(*, now: datetime | None = None) -> dict[str, int]:
    """Renew the licences of every non-subscriber for this month (module doc)."""
    now = now or timezone.now()
    renewed = reduced = 0
    for account_id in LicencePool.objects.filter(licences__gt=0).values_list("account_id",
                                                                             flat=True):
        with transaction.atomic():
            pool = LicencePool.objects.select_for_update().select_related("account") \
                .get(account_id=account_id)
            account = pool.account
            if not pool.licences or not prepaid(account=account, at=now):
                continue
            paid = 0
            for rank in range(1, pool.licences + 1):
                try:
                    with transaction.atomic():
                        licences_pay(account=account, ranks=range(rank, rank + 1), now=now,
                                     whole_month=True)
                except (InsufficientCredit, NoPriceError):
                    break
                paid = rank
            if paid < pool.licences:
                audit_record(actor=SYSTEM, account=account, action="agents.licences.unpaid",
                             target=pool, details={"from": pool.licences, "to": paid})
                pool.licences = paid
                pool.save(update_fields=["licences", "updated_at"])
                reduced += 1
            else:
                renewed += 1
    return {"renewed": renewed, "reduced": reduced}
