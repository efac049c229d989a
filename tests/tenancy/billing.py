"""Tenant data and path parameters of chappe.billing: paid and pending credit orders (with
their invoices), a transfer to the sub-account, a usage record, a subscription, a
contested invoice, and a price list of the tenant's own with an announced change."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import ServiceKind
from chappe.billing.models import PriceList
from chappe.billing.services import (
    account_price_list_set,
    credit_order_create,
    credit_transfer,
    invoice_contest_open,
    payment_record,
    plan_create,
    price_list_create,
    price_list_version_create,
    subscription_create,
    usage_charge,
)
from tests.tenancy import IdFactory, NotTenantScoped, Tenant

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
PRICES = [
    {"product": "sms", "unit_price": "0.10"},
    {"product": "sms", "country": "FR", "unit_price": "0.045"},
    {"product": "tts", "unit_price": "0.12"},
    {"product": "voice_minute", "unit_price": "0.012"},
    {"product": "plan_fee", "unit_price": "49.00"},
]


def _default_price_list() -> PriceList:
    existing = PriceList.objects.filter(is_default=True).first()
    if existing is not None:
        return existing
    price_list = price_list_create(actor=SYSTEM, code="tenancy-default", name="Default",
                                   is_default=True)
    price_list_version_create(actor=SYSTEM, price_list=price_list, effective_from=EPOCH,
                              prices=PRICES)
    return price_list


def seed(t: Tenant) -> None:
    o = t.objects
    default = _default_price_list()
    own = price_list_create(actor=SYSTEM, code=f"list-{t.tag}", name=f"List {t.tag}")
    price_list_version_create(actor=SYSTEM, price_list=own, effective_from=EPOCH, prices=PRICES)
    price_list_version_create(actor=SYSTEM, price_list=own, prices=PRICES,
                              effective_from=timezone.now() + timedelta(days=40),
                              message=f"New prices {t.tag}")
    account_price_list_set(actor=SYSTEM, account=t.account, price_list=own)

    paid = credit_order_create(actor=SYSTEM, account=t.account, amount="100")
    payment_record(actor=SYSTEM, invoice=paid.invoice,
                   amount=str(Decimal(paid.invoice.total_micros) / 1_000_000),
                   method="transfer", reference=f"VIR-{t.tag}")
    o["paid_order"] = paid
    o["pending_order"] = credit_order_create(actor=SYSTEM, account=t.account, amount="50")
    o["transfer"] = credit_transfer(actor=SYSTEM, from_account=t.account, to_account=t.sub,
                                    amount="10", memo=f"to sub {t.tag}")
    o["usage"] = usage_charge(account=t.account, product="sms", quantity=1,
                              cause_type="tenancy", cause_id=t.tag, idempotency_key=t.tag,
                              destination_country="FR").record
    plan = plan_create(actor=SYSTEM, code=f"plan-{t.tag}", name=f"Plan {t.tag}",
                       service_kind=ServiceKind.CONTACT_CENTER, price_list=default)
    o["subscription"] = subscription_create(actor=SYSTEM, account=t.account, plan=plan)
    o["contest"] = invoice_contest_open(actor=SYSTEM, invoice=paid.invoice,
                                        reason=f"wrong {t.tag}")


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "order_id": lambda t: [t.objects["pending_order"].pk, t.objects["paid_order"].pk],
    "invoice_id": lambda t: [t.objects["pending_order"].invoice_id,
                             t.objects["paid_order"].invoice_id],
    "transfer_id": lambda t: [t.objects["transfer"].pk],
    "usage_id": lambda t: [t.objects["usage"].pk],
    "subscription_id": lambda t: [t.objects["subscription"].pk],
}

LISTS_WITHOUT_TENANT_DATA = {
    "GET /api/v1/billing/quote": "a price computed for the caller, not a list of its objects",
    "GET /api/v1/billing/balance": "per-currency amounts of the caller's own ledger, no ids",
}
