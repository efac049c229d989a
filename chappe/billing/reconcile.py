"""Reconciliation: the cached balances, lots and invoices agree with the ledger entries.

Checks, for every account:
* each cached `AccountBalance` equals the sum of its ledger entries (and every book with
  entries has a cached row);
* the credit book equals the sum of the remaining amounts of its lots, and each lot's
  remaining amount equals the sum of its movements; no lot or credit book is negative;
* each invoice: subtotal = sum of its lines, total = subtotal + VAT, paid = sum of its
  payments; the receivable book = sum of the totals of issued/paid invoices - payments;
* each credit order (money or message pack) is invoiced for exactly the credit it grants
  (amount = invoice subtotal), and a paid order's lot holds exactly that amount;
* each usage debit on the credit book is the sum of the usage records it paid for (one
  entry per batch, N records); each fee debit is the amount of its prepaid fee charge.
"""

from collections import defaultdict

from django.db.models import Sum

from chappe.billing.models import (
    AccountBalance,
    Book,
    CreditLot,
    CreditOrder,
    EntryReason,
    FeeCharge,
    Invoice,
    InvoiceStatus,
    LedgerEntry,
    LotMovement,
    Payment,
    UsageRecord,
)


def reconcile() -> list[str]:
    """Every mismatch found, as a readable line; empty when the books agree."""
    problems: list[str] = []
    sums = {(row["account_id"], row["book"], row["currency"]): int(row["total"] or 0)
            for row in LedgerEntry.objects.values("account_id", "book", "currency")
            .annotate(total=Sum("amount_micros"))}
    cached = {(b.account_id, b.book, b.currency): b.balance_micros
              for b in AccountBalance.objects.all()}
    for key in sorted(set(sums) | set(cached), key=str):
        if sums.get(key, 0) != cached.get(key, 0):
            problems.append(f"balance {key}: cached {cached.get(key)} != entries {sums.get(key)}")
    lots = defaultdict(int)
    for lot in CreditLot.objects.all():
        lots[(lot.account_id, Book.CREDIT, lot.currency)] += lot.remaining_micros
        if lot.remaining_micros < 0:
            problems.append(f"lot {lot.pk} is negative")
    movements = {row["lot_id"]: int(row["total"] or 0)
                 for row in LotMovement.objects.values("lot_id")
                 .annotate(total=Sum("amount_micros"))}
    for lot in CreditLot.objects.all():
        if movements.get(lot.pk, 0) != lot.remaining_micros:
            problems.append(f"lot {lot.pk}: remaining {lot.remaining_micros} != movements "
                            f"{movements.get(lot.pk)}")
    for key in sorted({k for k in sums if k[1] == Book.CREDIT} | set(lots), key=str):
        if sums.get(key, 0) != lots.get(key, 0):
            problems.append(f"credit {key}: entries {sums.get(key)} != lots {lots.get(key)}")
        if sums.get(key, 0) < 0:
            problems.append(f"credit {key} is negative")
    receivable = defaultdict(int)
    payments = {row["invoice_id"]: int(row["total"] or 0)
                for row in Payment.objects.values("invoice_id")
                .annotate(total=Sum("amount_micros"))}
    for invoice in Invoice.objects.prefetch_related("lines"):
        lines = sum(line.amount_micros for line in invoice.lines.all())
        if lines != invoice.subtotal_micros:
            problems.append(f"invoice {invoice.number}: lines {lines} != subtotal")
        if invoice.subtotal_micros + invoice.vat_micros != invoice.total_micros:
            problems.append(f"invoice {invoice.number}: subtotal + VAT != total")
        if payments.get(invoice.pk, 0) != invoice.paid_micros:
            problems.append(f"invoice {invoice.number}: payments != paid")
        if invoice.status != InvoiceStatus.CANCELLED:
            receivable[(invoice.account_id, Book.RECEIVABLE, invoice.currency)] += (
                invoice.total_micros - invoice.paid_micros)
    for key in sorted({k for k in sums if k[1] == Book.RECEIVABLE} | set(receivable), key=str):
        if sums.get(key, 0) != receivable.get(key, 0):
            problems.append(f"receivable {key}: entries {sums.get(key)} != invoices "
                            f"{receivable.get(key)}")
    for order in CreditOrder.objects.select_related("invoice"):
        if order.invoice is not None and order.invoice.subtotal_micros != order.amount_micros:
            problems.append(f"credit order {order.pk}: amount {order.amount_micros} != "
                            f"invoice subtotal {order.invoice.subtotal_micros}")
    granted = {row["order_id"]: int(row["total"] or 0)
               for row in CreditLot.objects.filter(source_lot__isnull=True,
                                                   order__isnull=False)
               .values("order_id").annotate(total=Sum("original_micros"))}
    for order_id, amount in CreditOrder.objects.filter(status="paid").values_list(
            "pk", "amount_micros"):
        if granted.get(order_id, 0) != amount:
            problems.append(f"credit order {order_id}: paid {amount} != lot "
                            f"{granted.get(order_id)}")
    recorded = {row["ledger_entry_id"]: int(row["total"] or 0)
                for row in UsageRecord.objects.filter(ledger_entry__reason=EntryReason.USAGE)
                .values("ledger_entry_id").annotate(total=Sum("amount_micros"))}
    for entry_id, amount in LedgerEntry.objects.filter(reason=EntryReason.USAGE).values_list(
            "pk", "amount_micros"):
        if recorded.get(entry_id, 0) != -amount:
            problems.append(f"usage entry {entry_id}: {amount} != records "
                            f"{recorded.get(entry_id)}")
    fees = dict(FeeCharge.objects.filter(ledger_entry__isnull=False)
                .values_list("ledger_entry_id", "amount_micros"))
    for entry_id, amount in LedgerEntry.objects.filter(reason=EntryReason.FEE).values_list(
            "pk", "amount_micros"):
        if fees.get(entry_id) != -amount:
            problems.append(f"fee entry {entry_id}: {amount} != fee charge {fees.get(entry_id)}")
    return problems
