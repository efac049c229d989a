"""The monthly invoice run (P-6, P-7, C-9): subscription fees + postpaid usage in arrears.

One invoice per account, service and local calendar month (a unique constraint), so the
run is idempotent: running it again — or concurrently — issues nothing new. Usage that
arrives after its month was invoiced is billed on the next month's invoice (nothing is
skipped, nothing is billed twice: `InvoicedUsage` is one row per usage record). A
reversal (a use canceled before it happened) is billed with its original when neither was
invoiced yet — even if it came after the month's end — so they cancel out; a reversal of
an already invoiced use is a negative line on the next invoice.

Fines passed on (P-18, services/fines.py) recorded before the month's end and not billed
yet are lines of the invoice of their service, in full.

Fees: plan fee, licences, users and numbers priced from the plan's list (or the account's
override) at the start of the month. The first period starts on the subscription day and
is prorated by days; every later started month is owed in full (periods.billable_days).
"""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account
from chappe.accounts.selectors import account_ancestors
from chappe.audit.services import audit_record
from chappe.billing.models import (
    AccountBilling,
    BillingMode,
    BillingSettings,
    Fine,
    Invoice,
    InvoicedUsage,
    InvoiceKind,
    PriceList,
    Subscription,
    SubscriptionStatus,
    UsageRecord,
)
from chappe.billing.periods import (
    billable_days,
    days_in_month,
    local_date,
    month_bounds,
    month_end,
    month_start,
    zone,
)
from chappe.billing.rating import NoPrice, Product, UsageEvent, price_lookup, prorate
from chappe.billing.selectors import price_entries, price_version_at
from chappe.billing.services.dunning import payment_days_default
from chappe.billing.services.fines import fine_lines, fines_pending
from chappe.billing.services.invoices import LineDraft, invoice_issue
from chappe.common.errors import Conflict


def _fee_price_list(subscription: Subscription) -> PriceList:
    account = subscription.account
    for holder in [account, *account_ancestors(account=account)]:
        override = AccountBilling.objects.filter(account=holder, price_list__isnull=False).first()
        if override is not None:
            return override.price_list
    return subscription.plan.price_list


def _fee_lines(subscription: Subscription, first: date, tz) -> tuple[list[LineDraft], str]:
    start, _end = month_bounds(first, tz)
    ended_on = (local_date(subscription.ends_at - timedelta(microseconds=1), tz)
                if subscription.ends_at else None)
    days = billable_days(period_first=first, started_on=local_date(subscription.started_at, tz),
                         ended_on=ended_on)
    price_list = _fee_price_list(subscription)
    if days == 0:
        return [], price_list.currency
    version = price_version_at(price_list=price_list, at=max(start, subscription.started_at))
    month_days = days_in_month(first)
    prorated = days != month_days
    suffix = (_(" (prorated: %(days)s/%(month)s days)") % {"days": days, "month": month_days}
              if prorated else "")
    wanted: list[tuple[str, int, str, str, str]] = [
        (Product.PLAN_FEE, 1, "", "", _("Plan fee: %(plan)s") % {"plan": subscription.plan.name}),
        (Product.LICENCE, subscription.licences, "", "", _("Licences")),
        (Product.USER, subscription.users, "", "", _("Users")),
    ]
    for item in subscription.numbers or []:
        country = str(item.get("country", "")).upper()
        number_type = str(item.get("number_type", ""))
        wanted.append((Product.NUMBER_RENTAL, int(item.get("count", 0)), country, number_type,
                       _("Phone numbers %(country)s %(type)s")
                       % {"country": country, "type": number_type}))
    lines = []
    for product, quantity, country, number_type, label in wanted:
        if quantity <= 0:
            continue
        event = UsageEvent(product=product, quantity=quantity, destination_country=country,
                           number_type=number_type)
        try:
            entry = price_lookup(event, price_entries(version=version, product=product,
                                                      country=country))
        except NoPrice:
            if product == Product.PLAN_FEE:
                continue  # a plan without a fixed fee
            raise
        amount = prorate(entry.unit_price_micros * quantity, days, month_days)
        lines.append(LineDraft(f"{label}{suffix}", str(quantity), entry.unit_price_micros,
                               amount, product))
    return lines, price_list.currency


def _reversals_of(account: Account, records: list[UsageRecord]) -> list[UsageRecord]:
    """Reversals not invoiced yet of `records`, whenever they happened: a use canceled
    before its month was invoiced never appears on an invoice (it nets to nothing there)."""
    picked = {r.pk for r in records}
    originals = [r.pk for r in records if r.reverses_id is None]
    found = []
    for start in range(0, len(originals), 900):
        found += [reversal for reversal in UsageRecord.objects.filter(
            account=account, billing_mode=BillingMode.POSTPAID, invoiced__isnull=True,
            reverses_id__in=originals[start:start + 900]) if reversal.pk not in picked]
    return found


def _usage_lines(records: list[UsageRecord]) -> list[LineDraft]:
    groups: dict[tuple, list[UsageRecord]] = defaultdict(list)
    for record in records:
        groups[(record.product, record.destination_country, record.origin_country,
                record.number_type, record.operator, record.unit_price_micros)].append(record)
    lines = []
    for (product, country, origin, number_type, operator, unit), items in sorted(groups.items()):
        label = Product(product).label
        where = " ".join(part for part in (
            f"{origin}→" if origin else "", country, number_type, operator) if part)
        billed = sum(r.billed_quantity for r in items)
        if billed == 0 and sum(r.amount_micros for r in items) == 0:
            continue  # uses and their reversals cancel out
        quantity = f"{billed} s" if product == Product.VOICE_MINUTE else str(billed)
        lines.append(LineDraft(f"{label} {where}".strip(), quantity, unit,
                               sum(r.amount_micros for r in items), product))
    return lines


def invoice_monthly_issue(*, account: Account, service_kind: str, month: date,
                          now: datetime | None = None) -> Invoice | None:
    """Issue the invoice of one account, service and month; None if there is nothing to
    bill or it was already issued (idempotent)."""
    now = now or timezone.now()
    first = month_start(month)
    tz = zone(account.timezone)
    start, end = month_bounds(first, tz)
    if now < end:
        raise Conflict(_("This month is not over yet."), code="period_open")
    existing = Invoice.objects.filter(account=account, service_kind=service_kind,
                                      kind=InvoiceKind.MONTHLY, period_start=first)
    if existing.exists():
        return None
    try:
        with transaction.atomic():
            subscriptions = list(
                Subscription.objects.filter(account=account, service_kind=service_kind,
                                            started_at__lt=end)
                .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=start))
                .select_related("plan", "account").order_by("started_at"))
            lines: list[LineDraft] = []
            currency = None
            for subscription in subscriptions:
                fee_lines, currency = _fee_lines(subscription, first, tz)
                lines += fee_lines
            records = list(UsageRecord.objects.filter(
                account=account, service_kind=service_kind, billing_mode=BillingMode.POSTPAID,
                occurred_at__lt=end, invoiced__isnull=True,
            ).order_by("occurred_at"))
            records += _reversals_of(account, records)
            currency = currency or (records[0].currency if records else "EUR")
            records = [r for r in records if r.currency == currency]
            lines += _usage_lines(records)
            fines = fines_pending(account=account, service_kind=service_kind,
                                  currency=currency, before=end)
            lines += fine_lines(fines)
            if not lines:
                return None
            billing = BillingSettings.load()
            days = next((s.payment_days for s in subscriptions if s.payment_days is not None),
                        payment_days_default(service_kind=service_kind, billing=billing))
            invoice = invoice_issue(account=account, kind=InvoiceKind.MONTHLY,
                                    service_kind=service_kind, currency=currency, lines=lines,
                                    issued_at=now, due_at=now + timedelta(days=days),
                                    period=(first, month_end(first)))
            InvoicedUsage.objects.bulk_create(
                [InvoicedUsage(usage=record, invoice=invoice) for record in records])
            Fine.objects.filter(pk__in=[fine.pk for fine in fines]).update(invoice=invoice)
            audit_record(actor=SYSTEM, account=account, action="billing.invoice.issue",
                         target=invoice, details={"period": first.isoformat(),
                                                  "total": invoice.total_micros})
            return invoice
    except IntegrityError:
        # Another run issued it concurrently.
        if existing.exists():
            return None
        raise


def invoice_run(*, month: date, now: datetime | None = None) -> list[Invoice]:
    """Issue every due monthly invoice for `month` (first day, or any day in it)."""
    now = now or timezone.now()
    first = month_start(month)
    # Broad UTC bounds around the month; each account's own zone decides exactly.
    broad_start = datetime(first.year, first.month, 1, tzinfo=UTC) - timedelta(days=2)
    broad_end = broad_start + timedelta(days=35)
    pairs = set(
        Subscription.objects.filter(started_at__lt=broad_end)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=broad_start))
        .values_list("account_id", "service_kind"))
    pairs |= set(UsageRecord.objects.filter(billing_mode=BillingMode.POSTPAID,
                                            invoiced__isnull=True, occurred_at__lt=broad_end)
                 .values_list("account_id", "service_kind"))
    pairs |= set(Fine.objects.filter(invoice__isnull=True, recorded_at__lt=broad_end)
                 .values_list("account_id", "service_kind"))
    issued = []
    for account_id, service_kind in sorted(pairs, key=lambda p: (str(p[0]), p[1])):
        account = Account.objects.get(pk=account_id)
        try:
            invoice = invoice_monthly_issue(account=account, service_kind=service_kind,
                                            month=first, now=now)
        except Conflict:
            continue  # this account's month is not over in its own time zone yet
        if invoice is not None:
            issued.append(invoice)
    return issued


def subscriptions_close(*, now: datetime | None = None) -> int:
    """Mark subscriptions whose notice ran out as ended."""
    now = now or timezone.now()
    ended = 0
    for subscription in Subscription.objects.filter(status=SubscriptionStatus.ENDING,
                                                    ends_at__lte=now):
        with transaction.atomic():
            subscription.status = SubscriptionStatus.ENDED
            subscription.save(update_fields=["status"])
            audit_record(actor=SYSTEM, account=subscription.account,
                         action="billing.subscription.end", target=subscription)
            ended += 1
    return ended
