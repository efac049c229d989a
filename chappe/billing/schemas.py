"""API shapes. Amounts are exact decimal strings ("0.045000", "120.00"), never floats."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from ninja import Schema
from pydantic import Field

from chappe.billing.money import from_micros
from chappe.billing.services.dunning import invoice_penalty_preview


def _money(micros: int) -> str:
    return str(from_micros(micros))


def _cents(micros: int) -> str:
    return str(from_micros(micros).quantize(Decimal("0.01")))


class ExpiringOut(Schema):
    usable_until: date
    amount: str


class PackBalanceOut(Schema):
    product: str
    country: str
    units_bought: int = Field(description="Messages these packs stood for when bought")
    remaining: str = Field(description="Credit left in these packs")
    unit_price: str | None = Field(description="Today's price of one message (None: unpriced)")
    messages_left: int | None = Field(
        description="How many messages the credit left buys at today's price (P-5)")


class BalanceOut(Schema):
    currency: str
    credit: str = Field(description="Prepaid credit: the sum of the credit ledger entries")
    usable: str = Field(description="Credit usable now (lots not past their expiry)")
    due: str = Field(description="Amount owed on invoices (receivable book)")
    expiring: list[ExpiringOut]
    estimate_country: str
    estimate_sms: int | None = Field(
        description="≈ how many SMS segments to estimate_country the usable credit buys today")
    packs: list[PackBalanceOut] = Field(
        default_factory=list,
        description="Message packs still held (part of `usable`), in messages at today's price")


class LedgerEntryOut(Schema):
    id: int
    occurred_at: datetime
    book: str
    currency: str
    amount: str
    reason: str
    cause_type: str
    cause_id: str
    memo: str

    @staticmethod
    def resolve_amount(obj) -> str:
        return _money(obj.amount_micros)


class UsageRecordOut(Schema):
    id: UUID
    occurred_at: datetime
    service_kind: str
    product: str
    # How many identical uses the record stands for: the messages of one kind accepted
    # together share one record (decision 0036); a reversal undoes one use.
    uses: int
    quantity: str
    billed_quantity: int
    destination_country: str
    operator: str
    number_type: str
    origin_country: str
    currency: str
    unit_price: str
    amount: str
    billing_mode: str
    cause_type: str
    cause_id: str

    @staticmethod
    def resolve_unit_price(obj) -> str:
        return _money(obj.unit_price_micros)

    @staticmethod
    def resolve_amount(obj) -> str:
        return _money(obj.amount_micros)


class QuoteOut(Schema):
    product: str
    billed_quantity: int
    currency: str
    unit_price: str
    amount: str
    price_list: str
    effective_from: datetime


class InvoiceLineOut(Schema):
    position: int
    product: str
    description: str
    quantity: str
    unit_price: str
    amount: str

    @staticmethod
    def resolve_unit_price(obj) -> str:
        return _money(obj.unit_price_micros)

    @staticmethod
    def resolve_amount(obj) -> str:
        return _cents(obj.amount_micros)


class InvoiceOut(Schema):
    id: UUID
    number: str
    kind: str
    service_kind: str
    status: str
    currency: str
    period_start: date | None
    period_end: date | None
    issued_at: datetime
    due_at: datetime
    subtotal: str
    vat_rate: str
    vat: str
    total: str
    paid: str
    outstanding: str
    paid_at: datetime | None

    @staticmethod
    def resolve_subtotal(obj) -> str:
        return _cents(obj.subtotal_micros)

    @staticmethod
    def resolve_vat_rate(obj) -> str:
        return str(obj.vat_rate)

    @staticmethod
    def resolve_vat(obj) -> str:
        return _cents(obj.vat_micros)

    @staticmethod
    def resolve_total(obj) -> str:
        return _cents(obj.total_micros)

    @staticmethod
    def resolve_paid(obj) -> str:
        return _cents(obj.paid_micros)

    @staticmethod
    def resolve_outstanding(obj) -> str:
        return _cents(obj.outstanding_micros)


class InvoiceDetailOut(InvoiceOut):
    lines: list[InvoiceLineOut]
    penalties_due: str = Field(description="Late penalties accrued and not yet charged")

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.all())

    @staticmethod
    def resolve_penalties_due(obj) -> str:
        return _money(invoice_penalty_preview(invoice=obj).total_micros)


class CreditOrderIn(Schema):
    """Either `amount` (money credits), or `product` + `country` + `units` (a pack of
    messages, e.g. 1,000 SMS to FR, invoiced at today's unit price)."""

    amount: Decimal | None = Field(None, gt=0, max_digits=12, decimal_places=2,
                                   description="Credit value, excluding VAT")
    product: str | None = Field(None, description="Pack: sms, tts, rcs_message, rcs_session, "
                                                  "t2c_mt or t2c_session")
    country: str | None = Field(None, min_length=2, max_length=2,
                                description="Pack: destination country (ISO 3166 alpha-2)")
    units: int | None = Field(None, gt=0, description="Pack: number of messages")
    currency: str | None = Field(None, description="Default EUR; a pack is priced in the "
                                                   "currency of the account's price list")


class PackOrderOut(Schema):
    product: str
    country: str
    units: int
    unit_price: str


class CreditOrderOut(Schema):
    id: UUID
    currency: str
    amount: str
    status: str
    ordered_at: datetime
    paid_at: datetime | None
    invoice: InvoiceOut | None
    pack: PackOrderOut | None = Field(None, description="The pack of messages ordered, if any")

    @staticmethod
    def resolve_amount(obj) -> str:
        return _cents(obj.amount_micros)

    @staticmethod
    def resolve_pack(obj) -> dict | None:
        if not obj.pack_product:
            return None
        return {"product": obj.pack_product, "country": obj.pack_country,
                "units": obj.pack_units, "unit_price": _money(obj.pack_unit_price_micros)}


class CardPaymentIn(Schema):
    card_token: str = Field(min_length=1, max_length=200,
                            description="Token from the payment processor's card form")


class PaymentOut(Schema):
    id: UUID
    method: str
    reference: str
    currency: str
    amount: str
    received_at: datetime

    @staticmethod
    def resolve_amount(obj) -> str:
        return _cents(obj.amount_micros)


class TransferIn(Schema):
    subaccount_id: UUID
    direction: Literal["to_subaccount", "from_subaccount"]
    amount: Decimal = Field(gt=0, max_digits=16, decimal_places=6)
    currency: str = "EUR"
    memo: str = Field("", max_length=200)


class TransferOut(Schema):
    id: UUID
    account_id: UUID
    from_account_id: UUID
    to_account_id: UUID
    currency: str
    amount: str
    memo: str
    created_at: datetime

    @staticmethod
    def resolve_amount(obj) -> str:
        return _money(obj.amount_micros)


class ContestIn(Schema):
    reason: str = Field(min_length=1, max_length=4000)


class ContestOut(Schema):
    id: UUID
    invoice_id: UUID
    status: str
    reason: str
    opened_at: datetime
    resolved_at: datetime | None
    resolution_note: str


class SubscriptionOut(Schema):
    id: UUID
    plan: str
    service_kind: str
    status: str
    started_at: datetime
    cancel_requested_at: datetime | None
    ends_at: datetime | None
    users: int
    licences: int

    @staticmethod
    def resolve_plan(obj) -> str:
        return obj.plan.name


class PriceNoticeOut(Schema):
    announced_at: datetime
    effective_from: datetime
    message: str
    price_list: str

    @staticmethod
    def resolve_price_list(obj) -> str:
        return obj.price_list.name
