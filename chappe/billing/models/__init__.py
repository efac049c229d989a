"""Billing records: price lists, plans, subscriptions, the ledger, credits, usage, prepaid
fees, invoices.

Money columns are integer micro-units (`*_micros`, see money.py), never floats or
SQLite "decimals". Everything here is billing data kept **10 years** (P-13, C-10): rows
point to their account with `on_delete=PROTECT`, so an account that has billing history
cannot be hard-deleted (the privacy purge must anonymise it instead), and the ledger and
usage records refuse updates of their money fields and deletes through the ORM.
"""

from chappe.billing.models._base import RETENTION
from chappe.billing.models.credits import (
    CreditLot,
    CreditOrder,
    CreditTransfer,
    LotMovement,
    OrderStatus,
    Payment,
    PaymentMethod,
)
from chappe.billing.models.fees import FeeCharge
from chappe.billing.models.fines import Fine
from chappe.billing.models.invoices import (
    ContestStatus,
    Invoice,
    InvoiceContest,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
)
from chappe.billing.models.ledger import (
    AccountBalance,
    Book,
    EntryReason,
    LedgerEntry,
)
from chappe.billing.models.prices import (
    AccountBilling,
    Plan,
    Price,
    PriceChangeNotice,
    PriceList,
    PriceListVersion,
    Subscription,
    SubscriptionStatus,
)
from chappe.billing.models.settings import (
    BillingSettings,
)
from chappe.billing.models.usage import (
    BillingMode,
    InvoicedUsage,
    UsageRecord,
)

__all__ = [
    "RETENTION",
    "AccountBalance",
    "AccountBilling",
    "BillingMode",
    "BillingSettings",
    "Book",
    "ContestStatus",
    "CreditLot",
    "CreditOrder",
    "CreditTransfer",
    "EntryReason",
    "FeeCharge",
    "Fine",
    "Invoice",
    "InvoiceContest",
    "InvoiceCounter",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceStatus",
    "InvoicedUsage",
    "LedgerEntry",
    "LotMovement",
    "OrderStatus",
    "Payment",
    "PaymentMethod",
    "Plan",
    "Price",
    "PriceChangeNotice",
    "PriceList",
    "PriceListVersion",
    "Subscription",
    "SubscriptionStatus",
    "UsageRecord",
]
