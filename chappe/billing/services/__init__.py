"""Billing writes. Import from here: `from chappe.billing.services import usage_charge`.

* usage — `usage_charge`: THE service products call to rate, debit and record a use;
  `usage_charge_many` for a batch (one send), `usage_reverse` to undo a canceled use.
* pricing — price lists and versions (P-14 notices), plans, overrides, subscriptions.
* platform — the platform-wide billing settings.
* fees — `fee_charge`: a monthly fee (a rented number) paid in advance from prepaid
  credit, exactly once per month (decision 0019).
* credits — prepaid credit orders (an amount or a message pack), payments (card gateway /
  operator), expiry, transfers.
* invoices — issuing, numbering, VAT; monthly — the monthly run.
* dunning — penalties, contests, suspension for non-payment.
* ledger — the locked-book primitives the others use (not for other apps).
"""

from chappe.billing.selectors import price_quote
from chappe.billing.services.credits import (
    credit_order_cancel,
    credit_order_create,
    credit_order_pay_card,
    credit_pack_price,
    credit_transfer,
    credits_expire,
    payment_record,
)
from chappe.billing.services.dunning import (
    dunning_run,
    invoice_contest_open,
    invoice_contest_resolve,
    invoice_penalties_charge,
    invoice_penalty_preview,
    service_suspend_for_non_payment,
)
from chappe.billing.services.fees import FeeCharged, FeePeriod, fee_charge, fee_period
from chappe.billing.services.monthly import invoice_monthly_issue, invoice_run, subscriptions_close
from chappe.billing.services.platform import billing_settings_update
from chappe.billing.services.pricing import (
    account_price_list_set,
    plan_create,
    plan_update,
    price_list_create,
    price_list_update,
    price_list_version_create,
    subscription_cancel,
    subscription_create,
    subscription_update,
)
from chappe.billing.services.usage import (
    UsageCharge,
    UsageItem,
    usage_charge,
    usage_charge_many,
    usage_reverse,
    usage_reverse_many,
)

__all__ = [
    "FeeCharged",
    "FeePeriod",
    "UsageCharge",
    "UsageItem",
    "account_price_list_set",
    "billing_settings_update",
    "credit_order_cancel",
    "credit_order_create",
    "credit_order_pay_card",
    "credit_pack_price",
    "credit_transfer",
    "credits_expire",
    "dunning_run",
    "fee_charge",
    "fee_period",
    "invoice_contest_open",
    "invoice_contest_resolve",
    "invoice_monthly_issue",
    "invoice_penalties_charge",
    "invoice_penalty_preview",
    "invoice_run",
    "payment_record",
    "plan_create",
    "plan_update",
    "price_list_create",
    "price_list_update",
    "price_list_version_create",
    "price_quote",
    "service_suspend_for_non_payment",
    "subscription_cancel",
    "subscription_create",
    "subscription_update",
    "subscriptions_close",
    "usage_charge",
    "usage_charge_many",
    "usage_reverse",
    "usage_reverse_many",
]
