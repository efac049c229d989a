"""Issuing invoices: gap-free numbers, cent rounding, VAT, the receivable entry, e-mail.

Numbering (P-7): one series per operator and calendar year, `<prefix>-<year>-<000001>`.
The counter row is locked and incremented in the same transaction that writes the invoice,
so a rollback gives the number back and two issuers queue on the lock: numbers are
sequential and gap-free. An invoice is never deleted (a cancelled credit order keeps its
number, status "cancelled").
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from chappe.accounts.models import Account
from chappe.billing.models import (
    BillingSettings,
    Book,
    EntryReason,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    InvoiceStatus,
)
from chappe.billing.money import round_to_cents
from chappe.billing.periods import zone
from chappe.billing.rating import scale
from chappe.billing.services.ledger import balance_lock, entry_post
from chappe.queue.jobs import job_enqueue

EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
SELLER_COUNTRY = "FR"


@dataclass(frozen=True)
class LineDraft:
    description: str
    quantity: str
    unit_price_micros: int
    amount_micros: int
    product: str = ""


def vat_rate_for(*, account: Account, billing: BillingSettings) -> Decimal:
    """French VAT for French clients and for EU clients without a VAT number; none for EU
    businesses with a VAT number (reverse charge) or clients outside the EU."""
    country = (account.country or SELLER_COUNTRY).upper()
    if country == SELLER_COUNTRY:
        return billing.vat_rate
    if country in EU_COUNTRIES:
        return Decimal(0) if account.vat_number else billing.vat_rate
    return Decimal(0)


def invoice_number_next(*, billing: BillingSettings, issued_at: datetime) -> str:
    year = issued_at.astimezone(zone(settings.CHAPPE_DEFAULT_TIMEZONE)).year
    series = f"{billing.invoice_prefix}-{year}"
    InvoiceCounter.objects.get_or_create(series=series)
    counter = InvoiceCounter.objects.select_for_update().get(series=series)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{series}-{counter.last_number:06d}"


def bill_to_snapshot(account: Account) -> dict[str, str]:
    return {
        "name": account.name, "siret": account.siret, "vat_number": account.vat_number,
        "address_line1": account.address_line1, "address_line2": account.address_line2,
        "postal_code": account.postal_code, "city": account.city, "country": account.country,
        "email": account.billing_email,
    }


def seller_snapshot(billing: BillingSettings) -> dict[str, str]:
    return {"name": billing.seller_name, "address": billing.seller_address,
            "vat_number": billing.seller_vat_number, "siret": billing.seller_siret}


def invoice_issue(
    *,
    account: Account,
    kind: str,
    service_kind: str,
    currency: str,
    lines: list[LineDraft],
    due_at: datetime,
    issued_at: datetime | None = None,
    period: tuple[date, date] | None = None,
    vat_rate: Decimal | None = None,
    penalised_invoice: Invoice | None = None,
) -> Invoice:
    """Write an invoice (inside the caller's transaction): lines rounded to cents half up,
    VAT on the rounded subtotal, the total posted to the account's receivable book, and
    an e-mail job to the billing address queued for after commit. An invoice with nothing
    to pay (total <= 0) is issued already paid."""
    billing = BillingSettings.load()
    issued_at = issued_at or timezone.now()
    rate = vat_rate_for(account=account, billing=billing) if vat_rate is None else vat_rate
    rounded = [
        LineDraft(line.description, line.quantity, line.unit_price_micros,
                  round_to_cents(line.amount_micros), line.product)
        for line in lines
    ]
    subtotal = sum(line.amount_micros for line in rounded)
    vat = round_to_cents(scale(subtotal, rate))
    invoice = Invoice.objects.create(
        account=account, number=invoice_number_next(billing=billing, issued_at=issued_at),
        kind=kind, service_kind=service_kind, currency=currency,
        period_start=period[0] if period else None, period_end=period[1] if period else None,
        issued_at=issued_at, due_at=due_at, subtotal_micros=subtotal, vat_rate=rate,
        vat_micros=vat, total_micros=subtotal + vat, bill_to=bill_to_snapshot(account),
        seller=seller_snapshot(billing), penalised_invoice=penalised_invoice,
    )
    if invoice.total_micros <= 0:
        # Nothing to collect (usage netted out by reversals, amounts rounded to zero): the
        # invoice is settled at issue, so it is never dunned, penalised or suspended for.
        # A negative total stays on the receivable book as a credit in the client's
        # favour (a proper credit note is future work, see decision 0009).
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = issued_at
        invoice.save(update_fields=["status", "paid_at"])
    InvoiceLine.objects.bulk_create([
        InvoiceLine(invoice=invoice, position=index, product=line.product,
                    description=line.description[:300], quantity=line.quantity,
                    unit_price_micros=line.unit_price_micros, amount_micros=line.amount_micros)
        for index, line in enumerate(rounded, start=1)
    ])
    if invoice.total_micros:
        balance = balance_lock(account=account, book=Book.RECEIVABLE, currency=currency)
        entry_post(balance=balance, amount_micros=invoice.total_micros, reason=EntryReason.INVOICE,
                   cause_type="billing.invoice", cause_id=str(invoice.pk),
                   idempotency_key=f"invoice:{invoice.pk}", occurred_at=issued_at,
                   memo=invoice.number)
    if account.billing_email:
        job_enqueue(name="billing.invoice_email", payload={"invoice": str(invoice.pk)},
                    unique_key=f"invoice-email:{invoice.pk}")
    return invoice
