"""Billing jobs (thin: call a service). The daily job re-enqueues itself for the next day;
`chappe billing_daily` (manage.py) runs the same work by hand."""

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from chappe.billing.documents import invoice_pdf
from chappe.billing.models import Invoice
from chappe.billing.money import format_amount
from chappe.billing.periods import local_date, local_midnight, previous_month, zone
from chappe.billing.services import credits_expire, dunning_run, invoice_run, subscriptions_close
from chappe.queue.jobs import job_enqueue
from chappe.queue.registry import job_handler

DAILY = "billing.daily"


def daily_run(*, month: date | None = None) -> dict[str, Any]:
    now = timezone.now()
    today = local_date(now, zone(settings.CHAPPE_DEFAULT_TIMEZONE))
    return {
        "expired_lots": credits_expire(now=now),
        "ended_subscriptions": subscriptions_close(now=now),
        "invoices": len(invoice_run(month=month or previous_month(today), now=now)),
        "suspended": dunning_run(now=now),
    }


def daily_schedule() -> None:
    """Enqueue the next daily run (at 00:30 operator time); a no-op if already queued."""
    tz = zone(settings.CHAPPE_DEFAULT_TIMEZONE)
    tomorrow = local_date(timezone.now(), tz) + timedelta(days=1)
    job_enqueue(name=DAILY, run_at=local_midnight(tomorrow, tz) + timedelta(minutes=30),
                unique_key=f"{DAILY}:{tomorrow.isoformat()}")


@job_handler("billing.daily_ensure", every=timedelta(hours=1))
def daily_ensure(payload: dict) -> None:
    """Keeps the next daily run queued (a fresh install, or one the queue lost)."""
    daily_schedule()


@job_handler(DAILY)
def daily(payload: dict) -> None:
    daily_run()
    with transaction.atomic():
        daily_schedule()


@job_handler("billing.invoice_email")
def invoice_email(payload: dict) -> None:
    invoice = Invoice.objects.select_related("account").get(pk=payload["invoice"])
    if invoice.emailed_at is not None or not invoice.bill_to.get("email"):
        return
    message = EmailMessage(
        subject=f"Invoice {invoice.number}",
        body=(f"Please find attached invoice {invoice.number}: "
              f"{format_amount(invoice.total_micros, invoice.currency)}, due "
              f"{invoice.due_at:%Y-%m-%d}."),
        to=[invoice.bill_to["email"]],
    )
    message.attach(f"{invoice.number}.pdf", invoice_pdf(invoice), "application/pdf")
    message.send()
    Invoice.objects.filter(pk=invoice.pk).update(emailed_at=timezone.now())
