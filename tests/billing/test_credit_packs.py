"""Message-denominated credits (P-5): a pack of N messages to a destination is sold as
money at today's price, recorded on its lot for display, and spent through the same
ledger, so a price change changes how many messages what is left of it buys."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from chappe.audit.models import AuditEntry
from chappe.billing.errors import NoPriceError
from chappe.billing.models import CreditLot, OrderStatus
from chappe.billing.reconcile import reconcile
from chappe.billing.selectors import (
    balance_summary,
    credit_estimate,
    credit_pack_summary,
    ledger_sum,
)
from chappe.billing.services import (
    account_price_list_set,
    credit_order_create,
    credit_transfer,
    credits_expire,
    payment_record,
    price_list_create,
    price_list_version_create,
    usage_charge,
)
from chappe.billing.services.usage import usage_reverse
from chappe.common.errors import ValidationFailed
from tests.billing.conftest import EPOCH, OPERATOR


def order_pack(account, units=1000, product="sms", country="FR", **kw):
    return credit_order_create(actor=OPERATOR.on(account), account=account, product=product,
                               country=country, units=units, **kw)


def pay(order, when=None):
    payment_record(actor=OPERATOR, invoice=order.invoice,
                   amount=Decimal(order.invoice.total_micros) / 1_000_000, method="transfer",
                   reference=f"VIR-{order.pk}", received_at=when)
    order.refresh_from_db()
    return order.lots.get()


def sms(account, key, segments=1, country="FR", at=None):
    return usage_charge(account=account, product="sms", quantity=segments,
                        destination_country=country, cause_type="t", cause_id=key,
                        idempotency_key=key, occurred_at=at)


def credit(account) -> int:
    return ledger_sum(account=account, book="credit", currency="EUR")


def test_a_pack_is_invoiced_at_units_times_todays_unit_price(account, price_list):
    order = order_pack(account, 1000)
    assert order.status == OrderStatus.PENDING
    assert (order.pack_product, order.pack_country, order.pack_units) == ("sms", "FR", 1000)
    assert order.pack_unit_price_micros == 45_000
    assert order.amount_micros == 45_000_000  # 1,000 x 0.045
    invoice = order.invoice
    [line] = invoice.lines.all()
    assert (line.quantity, line.unit_price_micros, line.amount_micros) == ("1000", 45_000,
                                                                           45_000_000)
    assert "pack of 1000 SMS (per segment) to FR" in line.description
    assert (invoice.subtotal_micros, invoice.vat_micros, invoice.total_micros) == (
        45_000_000, 9_000_000, 54_000_000)
    assert credit(account) == 0  # usable only once paid (P-5)
    lot = pay(order)
    assert (lot.pack_product, lot.pack_country, lot.pack_units) == ("sms", "FR", 1000)
    assert lot.original_micros == lot.remaining_micros == 45_000_000
    assert credit(account) == 45_000_000
    audit = AuditEntry.objects.get(account=account, action="billing.credit_order.create")
    assert audit.details["pack"] == {"product": "sms", "country": "FR", "units": 1000,
                                     "unit_price": "0.045000"}
    assert reconcile() == []


def test_the_pack_uses_the_accounts_own_price(account, price_list):
    special = price_list_create(actor=OPERATOR, code="vip", name="VIP")
    price_list_version_create(actor=OPERATOR, price_list=special, effective_from=EPOCH,
                              prices=[{"product": "sms", "country": "FR",
                                       "unit_price": "0.031"}])
    account_price_list_set(actor=OPERATOR, account=account, price_list=special)
    assert order_pack(account, 1000).invoice.subtotal_micros == 31_000_000


def test_a_pack_total_is_rounded_up_to_the_cent_so_it_buys_every_message(account, price_list):
    order = order_pack(account, 333)  # 333 x 0.045 = 14.985
    assert order.amount_micros == order.invoice.subtotal_micros == 14_990_000
    pay(order)
    [pack] = credit_pack_summary(account=account)
    assert pack["messages"] == 333
    assert reconcile() == []


def test_a_price_change_changes_how_many_messages_the_pack_buys(account, price_list):
    lot = pay(order_pack(account, 1000))
    for i in range(200):
        sms(account, f"m{i}")
    [pack] = credit_pack_summary(account=account)
    assert pack == {"currency": "EUR", "product": "sms", "country": "FR", "units_bought": 1000,
                    "remaining_micros": 36_000_000, "unit_price_micros": 45_000,
                    "messages": 800}
    now = timezone.now()
    price_list_version_create(actor=OPERATOR, price_list=price_list,
                              effective_from=now + timedelta(days=31),
                              prices=[{"product": "sms", "country": "FR", "unit_price": "0.09"}])
    later = now + timedelta(days=32)
    [pack] = credit_pack_summary(account=account, at=later)
    assert (pack["unit_price_micros"], pack["messages"]) == (90_000, 400)
    assert credit_estimate(account=account, country="FR", at=later) == 400
    # And it is true, not only displayed: the next message costs the new price.
    assert sms(account, "after", at=later).amount_micros == 90_000
    lot.refresh_from_db()
    assert lot.remaining_micros == 36_000_000 - 90_000
    assert credit_pack_summary(account=account, at=later)[0]["messages"] == 399
    # A decrease works the same way, the other way round.
    price_list_version_create(actor=OPERATOR, price_list=price_list,
                              effective_from=now + timedelta(days=62),
                              prices=[{"product": "sms", "country": "FR", "unit_price": "0.03"}])
    assert credit_pack_summary(account=account, at=now + timedelta(days=63))[0]["messages"] \
        == 1197  # 35.91 / 0.03
    assert reconcile() == []


def test_a_pack_is_credit_like_any_other(account, price_list, buy_credits):
    pay(order_pack(account, 1000))
    sms(account, "be", country="BE")  # another destination: paid from the same credit
    assert credit(account) == 45_000_000 - 70_000
    [summary] = balance_summary(account=account)
    assert summary["usable_micros"] == 44_930_000
    [pack] = summary["packs"]
    assert pack["messages"] == 998  # 44.93 / 0.045
    money_lot = buy_credits(account, "10")
    assert money_lot.pack_product == ""
    [summary] = balance_summary(account=account)
    assert summary["usable_micros"] == 54_930_000
    assert len(summary["packs"]) == 1  # money credits are not a pack
    assert reconcile() == []


def test_packs_to_several_destinations_are_shown_apart(account, price_list):
    pay(order_pack(account, 1000))
    pay(order_pack(account, 500))
    pay(order_pack(account, 100, country="BE"))  # 7.00
    pay(order_pack(account, 50, product="tts"))  # 6.00
    packs = {(p["product"], p["country"]): (p["units_bought"], p["messages"])
             for p in credit_pack_summary(account=account)}
    assert packs == {("sms", "FR"): (1500, 1500), ("sms", "BE"): (100, 100),
                     ("tts", "FR"): (50, 50)}


def test_reversal_gives_messages_back_to_the_pack(account, price_list):
    pay(order_pack(account, 100))  # 4.50
    sms(account, "x", segments=10)
    assert credit_pack_summary(account=account)[0]["messages"] == 90
    usage_reverse(account=account, idempotency_key="x", reason="canceled")
    assert credit_pack_summary(account=account)[0]["messages"] == 100
    assert reconcile() == []


def test_an_expired_pack_is_lost_and_no_longer_shown(account, price_list):
    ordered = timezone.now() - timedelta(days=400)
    lot = pay(order_pack(account, 1000, now=ordered), when=ordered)
    assert credit_pack_summary(account=account) == []
    credits_expire()
    lot.refresh_from_db()
    assert lot.remaining_micros == 0
    assert credit(account) == 0
    assert reconcile() == []


def test_a_transferred_part_of_a_pack_stays_a_pack(account, make_account, admin_actor,
                                                  price_list):
    sub = make_account("Sub", parent=account)
    lot = pay(order_pack(account, 1000))
    credit_transfer(actor=admin_actor, from_account=account, to_account=sub, amount="9")
    moved = CreditLot.objects.get(account=sub)
    assert (moved.pack_product, moved.pack_country, moved.pack_units) == ("sms", "FR", 200)
    assert moved.expires_at == lot.expires_at
    [pack] = credit_pack_summary(account=sub)
    assert (pack["units_bought"], pack["messages"]) == (200, 200)
    assert credit_pack_summary(account=account)[0]["messages"] == 800
    assert reconcile() == []


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"amount": "10", "product": "sms", "country": "FR", "units": 1000}, "amount"),
    ({}, "amount"),
    ({"product": "voice_minute", "country": "FR", "units": 1000}, "product"),
    ({"product": "sms", "country": "F", "units": 1000}, "country"),
    ({"product": "sms", "country": "FR", "units": 0}, "units"),
    ({"product": "sms", "country": "FR", "units": "10"}, "units"),
    ({"product": "sms", "country": "FR"}, "units"),
    ({"product": "sms", "country": "FR", "units": 10}, "units"),  # 0.45: under 1 €
    ({"product": "sms", "country": "FR", "units": 1000, "currency": "USD"}, "currency"),
])
def test_bad_orders_are_refused(account, price_list, kwargs, field):
    with pytest.raises(ValidationFailed) as caught:
        credit_order_create(actor=OPERATOR, account=account, **kwargs)
    assert field in caught.value.details
    assert not account.credit_orders.exists()


def test_an_unpriced_destination_cannot_be_sold_as_a_pack(account, price_list):
    with pytest.raises(NoPriceError):
        order_pack(account, 100, product="tts", country="JP")


def test_country_is_normalised_and_currency_may_be_omitted(account, price_list):
    order = credit_order_create(actor=OPERATOR, account=account, product="sms", country="fr",
                                units=1000, currency=None)
    assert (order.pack_country, order.currency) == ("FR", "EUR")
    # The amount form keeps working as before.
    assert credit_order_create(actor=OPERATOR, account=account, amount="10").pack_units is None


# --- API --------------------------------------------------------------------------------


def test_api_orders_a_pack_and_shows_it_in_messages(api, account, price_list):
    response = api.post("/api/v1/billing/credit-orders",
                        {"product": "sms", "country": "FR", "units": 1000})
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["amount"] == "45.00"
    assert order["invoice"]["total"] == "54.00"
    assert order["pack"] == {"product": "sms", "country": "FR", "units": 1000,
                             "unit_price": "0.045000"}
    paid = api.post(f"/api/v1/billing/credit-orders/{order['id']}/pay", {"card_token": "tok"})
    assert paid.status_code == 201
    [eur] = api.get("/api/v1/billing/balance").json()
    assert eur["usable"] == "45.000000"
    assert eur["packs"] == [{"product": "sms", "country": "FR", "units_bought": 1000,
                             "remaining": "45.000000", "unit_price": "0.045000",
                             "messages_left": 1000}]
    # The operator moves the account to dearer prices: the same credit buys fewer SMS.
    dear = price_list_create(actor=OPERATOR, code="dear", name="Dear")
    price_list_version_create(actor=OPERATOR, price_list=dear, effective_from=EPOCH,
                              prices=[{"product": "sms", "country": "FR", "unit_price": "0.06"}])
    account_price_list_set(actor=OPERATOR, account=account, price_list=dear)
    [eur] = api.get("/api/v1/billing/balance").json()
    assert eur["packs"][0]["messages_left"] == 750
    assert eur["estimate_sms"] == 750
    listed = api.get("/api/v1/billing/credit-orders").json()["items"]
    assert listed[0]["pack"]["units"] == 1000


def test_api_money_orders_have_no_pack(api, price_list):
    order = api.post("/api/v1/billing/credit-orders", {"amount": "25.00"}).json()
    assert order["pack"] is None
    assert order["currency"] == "EUR"


@pytest.mark.parametrize("body", [
    {"amount": "10", "product": "sms", "country": "FR", "units": 100},
    {"product": "sms", "country": "FR"},
    {"product": "sms", "country": "FRA", "units": 100},
    {"product": "sms", "country": "FR", "units": 0},
    {},
])
def test_api_refuses_mixed_or_incomplete_orders(api, price_list, body):
    response = api.post("/api/v1/billing/credit-orders", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
