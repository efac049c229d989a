"""The billing API: balance, ledger (+ CSV), usage, quotes, orders, card payment,
transfers, invoices (+ PDF/CSV), contests, subscriptions; permissions and error shape."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chappe.accounts.roles import Role
from chappe.billing.services import usage_charge


@pytest.fixture
def funded(account, buy_credits):
    buy_credits(account, "9")
    usage_charge(account=account, product="sms", quantity=2, destination_country="FR",
                 cause_type="messaging.message", cause_id="m-1", idempotency_key="m-1")
    return account


def test_balance_with_expiry_and_sms_estimate(api, funded):
    response = api.get("/api/v1/billing/balance")
    assert response.status_code == 200
    [eur] = response.json()
    assert eur["currency"] == "EUR"
    assert eur["credit"] == eur["usable"] == "8.910000"
    assert eur["due"] == "0.000000"
    assert eur["estimate_country"] == "FR"
    assert eur["estimate_sms"] == 198  # 8.91 / 0.045
    [expiring] = eur["expiring"]
    assert expiring["amount"] == "8.910000"
    assert api.get("/api/v1/billing/balance", {"country": "BE"}).json()[0]["estimate_sms"] == 127


def test_empty_balance(api, price_list):
    [eur] = api.get("/api/v1/billing/balance").json()
    assert eur["credit"] == "0.000000"
    assert eur["estimate_sms"] == 0


def test_ledger_pagination_filter_and_csv(api, funded):
    page = api.get("/api/v1/billing/ledger", {"limit": 1}).json()
    assert page["count"] == 4  # invoice, payment, credit purchase, usage
    assert len(page["items"]) == 1
    usage = api.get("/api/v1/billing/ledger", {"reason": "usage"}).json()["items"]
    assert [(e["amount"], e["cause_type"], e["cause_id"]) for e in usage] == [
        ("-0.090000", "messaging.message", "m-1")]
    credit = api.get("/api/v1/billing/ledger", {"book": "credit"}).json()
    assert sorted(e["amount"] for e in credit["items"]) == ["-0.090000", "9.000000"]
    response = api.get("/api/v1/billing/ledger.csv", {"book": "credit"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = response.content.decode().splitlines()
    assert rows[0].startswith("id,occurred_at,book")
    assert len(rows) == 3


def test_usage_list_and_read(api, funded):
    items = api.get("/api/v1/billing/usage").json()["items"]
    assert [(u["product"], u["uses"], u["billed_quantity"], u["amount"]) for u in items] == [
        ("sms", 1, 2, "0.090000")]
    one = api.get(f"/api/v1/billing/usage/{items[0]['id']}")
    assert one.json()["cause_id"] == "m-1"
    assert api.get("/api/v1/billing/usage/not-a-uuid").status_code == 404


def test_quote(api, price_list):
    response = api.get("/api/v1/billing/quote", {"product": "voice_minute", "quantity": "61.5",
                                                  "country": "FR"})
    assert response.json()["billed_quantity"] == 62
    assert response.json()["amount"] == "0.012400"
    missing = api.get("/api/v1/billing/quote", {"product": "voice_minute", "country": "JP"})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "no_price"


def test_buy_credits_by_card(api, account, price_list):
    response = api.post("/api/v1/billing/credit-orders", {"amount": "25.00"})
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["status"] == "pending"
    assert order["invoice"]["total"] == "30.00"
    declined = api.post(f"/api/v1/billing/credit-orders/{order['id']}/pay",
                        {"card_token": "decline_insufficient_funds"})
    assert declined.status_code == 402
    assert declined.json()["error"]["code"] == "payment_declined"
    paid = api.post(f"/api/v1/billing/credit-orders/{order['id']}/pay", {"card_token": "tok"})
    assert paid.status_code == 201
    assert paid.json()["amount"] == "30.00"
    again = api.post(f"/api/v1/billing/credit-orders/{order['id']}/pay", {"card_token": "tok"})
    assert again.status_code == 409
    assert api.get(f"/api/v1/billing/credit-orders/{order['id']}").json()["status"] == "paid"
    assert api.get("/api/v1/billing/balance").json()[0]["credit"] == "25.000000"
    invoices = api.get("/api/v1/billing/invoices").json()["items"]
    assert [(i["status"], i["total"], i["paid"]) for i in invoices] == [
        ("paid", "30.00", "30.00")]


def test_bad_order_amount_is_a_validation_error(api, price_list):
    response = api.post("/api/v1/billing/credit-orders", {"amount": "10.001"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_transfers_to_and_from_a_subaccount(api, account, make_account, buy_credits):
    sub = make_account("Sub", parent=account)
    buy_credits(account, "10")
    out = api.post("/api/v1/billing/transfers", {"subaccount_id": str(sub.pk),
                                                  "direction": "to_subaccount", "amount": "4"})
    assert out.status_code == 201, out.content
    back = api.post("/api/v1/billing/transfers", {"subaccount_id": str(sub.pk),
                                                   "direction": "from_subaccount",
                                                   "amount": "1.5"})
    assert back.status_code == 201
    too_much = api.post("/api/v1/billing/transfers", {"subaccount_id": str(sub.pk),
                                                       "direction": "from_subaccount",
                                                       "amount": "3"})
    assert too_much.status_code == 402
    assert too_much.json()["error"]["code"] == "insufficient_credit"
    listed = api.get("/api/v1/billing/transfers").json()
    assert listed["count"] == 2
    assert api.get(f"/api/v1/billing/transfers/{out.json()['id']}").json()["amount"] == "4.000000"
    sub_balance = api.get("/api/v1/billing/balance", headers={"X-Account-Id": str(sub.pk)})
    assert sub_balance.json()[0]["credit"] == "2.500000"


def test_invoice_read_pdf_csv_and_contest(api, account, buy_credits):
    lot = buy_credits(account, "10")
    invoice_id = lot.order.invoice_id
    detail = api.get(f"/api/v1/billing/invoices/{invoice_id}").json()
    assert detail["lines"][0]["amount"] == "10.00"
    assert detail["vat"] == "2.00"
    assert detail["penalties_due"] == "0.000000"
    pdf = api.get(f"/api/v1/billing/invoices/{invoice_id}/pdf")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert api.get(f"/api/v1/billing/invoices/{invoice_id}/csv").content.decode() \
        .splitlines()[-1].endswith(",12.00")
    contest = api.post(f"/api/v1/billing/invoices/{invoice_id}/contest", {"reason": "Twice?"})
    assert contest.status_code == 201
    assert api.post(f"/api/v1/billing/invoices/{invoice_id}/contest",
                    {"reason": "again"}).status_code == 409
    assert api.get("/api/v1/billing/contests").json()["items"][0]["status"] == "open"


def test_subscription_list_and_cancel(api, account, price_list):
    from chappe.billing.services import plan_create, subscription_create
    from tests.billing.conftest import OPERATOR

    plan = plan_create(actor=OPERATOR, code="cc", name="CC", service_kind="contact_center",
                       price_list=price_list)
    subscription = subscription_create(actor=OPERATOR, account=account, plan=plan,
                                       started_at=timezone.now() - timedelta(days=40))
    assert api.get("/api/v1/billing/subscriptions").json()[0]["plan"] == "CC"
    response = api.post(f"/api/v1/billing/subscriptions/{subscription.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "ending"


@pytest.mark.parametrize(("role", "path", "method"), [
    (Role.MESSAGING_USER, "/api/v1/billing/balance", "get"),
    (Role.AGENT, "/api/v1/billing/ledger", "get"),
    (Role.SUPERVISOR, "/api/v1/billing/invoices", "get"),
    (Role.MESSAGING_USER, "/api/v1/billing/credit-orders", "post"),
])
def test_roles_without_billing_permissions_are_refused(api_for, account, price_list, role,
                                                        path, method):
    client = api_for(account, role)
    response = getattr(client, method)(path, {"amount": "10"} if method == "post" else None)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
