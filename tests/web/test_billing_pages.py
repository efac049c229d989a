"""Billing pages: balance with expiring credits and the SMS estimate, buying credits by
(fake) card or bank transfer, credit orders, invoices and their PDF, usage and ledger."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from chappe.accounts.actor import SYSTEM
from chappe.accounts.roles import Role
from chappe.billing.models import CreditOrder, Invoice, OrderStatus
from chappe.billing.services import credit_order_create
from chappe.messaging.services.accept import sms_send
from tests.billing.conftest import OPERATOR
from tests.web.support import client_for, usable

PAGES = ["web:billing", "web:credit_buy", "web:invoices", "web:usage", "web:ledger"]


def order_for(account, amount="20") -> CreditOrder:
    return credit_order_create(actor=OPERATOR.on(account), account=account, amount=amount)


# --- pages and permissions ------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_billing_pages_render(web, account, price_list, name):
    response = web.get(reverse(name))
    assert response.status_code == 200
    assert account.name in response.content.decode()


@pytest.mark.parametrize("role", [Role.AGENT, Role.MESSAGING_USER, Role.SUPERVISOR])
@pytest.mark.parametrize("name", PAGES)
def test_roles_without_billing_view_get_403(account, make_user, role, name):
    assert client_for(make_user(account, role=role)).get(reverse(name)).status_code == 403


def test_billing_menu_entry_follows_the_permission(web, account, make_user):
    assert f'href="{reverse("web:billing")}"' in web.get(reverse("web:home")).content.decode()
    user = client_for(make_user(account, role=Role.MESSAGING_USER))
    assert f'href="{reverse("web:billing")}"' not in user.get(reverse("web:home")).content.decode()


# --- balance ----------------------------------------------------------------------------


def test_balance_shows_usable_credit_expiring_amounts_and_the_sms_estimate(web, account,
                                                                          buy_credits):
    lot = buy_credits(account, "100")
    response = web.get(reverse("web:billing"))
    html = response.content.decode()
    assert "100.00\u00a0EUR" in html
    [eur] = response.context["balances"]
    assert eur["usable_micros"] == 100_000_000
    assert eur["estimate"] == 2222  # 100 / 0.045, rounded down
    assert "≈ 2222 SMS to FR" in html
    [expiring] = eur["expiring"]
    assert expiring["amount_micros"] == 100_000_000
    assert 'id="expiring-EUR"' in html
    assert expiring["usable_until"].year == lot.expires_at.year

    belgium = web.get(reverse("web:billing"), {"country": "be"}).content.decode()
    assert "≈ 1428 SMS to BE" in belgium  # 100 / 0.07


def test_balance_in_french_uses_french_number_format(web, account, buy_credits):
    buy_credits(account, "1234.5")
    html = web.get(reverse("web:billing"), headers={"Accept-Language": "fr"}).content.decode()
    assert "1\u202f234,50\u00a0EUR" in html or "1\u00a0234,50\u00a0EUR" in html


def test_an_empty_account_shows_zero(web, account, price_list):
    html = web.get(reverse("web:billing")).content.decode()
    assert "0.00\u00a0EUR" in html
    assert "No usable credit." in html


# --- buying credits -----------------------------------------------------------------------


def test_buying_credits_by_card_makes_them_usable(web, account, price_list):
    assert usable(account) == 0
    response = web.post(reverse("web:credit_buy"), {"amount": "50.00", "payment": "card",
                                                     "card_token": "tok_test_visa"}, follow=True)
    order = CreditOrder.objects.get(account=account)
    assert response.redirect_chain[-1][0] == reverse("web:credit_order", args=[order.pk])
    html = response.content.decode()
    assert "Payment accepted: 50.00\u00a0EUR of credits are usable now." in html
    assert order.status == OrderStatus.PAID
    assert order.invoice.status == "paid"
    assert usable(account) == Decimal(50)
    assert "The credits are usable." in html


def test_a_declined_card_keeps_the_order_pending_and_it_can_be_paid_again(web, account,
                                                                         price_list):
    response = web.post(reverse("web:credit_buy"), {"amount": "30", "payment": "card",
                                                     "card_token": "decline_me"}, follow=True)
    html = response.content.decode()
    assert "The card payment was declined (card declined)." in html
    order = CreditOrder.objects.get(account=account)
    assert order.status == OrderStatus.PENDING
    assert usable(account) == 0
    pay_url = reverse("web:credit_order_pay", args=[order.pk])
    assert pay_url in html

    paid = web.post(pay_url, {"card_token": "tok_test_visa"}, follow=True)
    assert "Payment accepted" in paid.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert usable(account) == Decimal(30)


def test_bank_transfer_leaves_the_order_pending(web, account, price_list):
    response = web.post(reverse("web:credit_buy"), {"amount": "100", "payment": "transfer"},
                        follow=True)
    order = CreditOrder.objects.get(account=account)
    html = response.content.decode()
    assert order.status == OrderStatus.PENDING
    assert f"Order recorded: invoice {order.invoice.number}, 120.00\u00a0EUR including VAT" in html
    assert usable(account) == 0
    listing = web.get(reverse("web:credit_buy")).content.decode()
    assert order.invoice.number in listing
    assert "Awaiting payment" in listing
    overview = web.get(reverse("web:billing")).content.decode()
    assert "Orders awaiting payment" in overview
    assert "120.00\u00a0EUR" in overview  # amount due


def test_buy_form_validation(web, account):
    response = web.post(reverse("web:credit_buy"), {"amount": "10.001", "payment": "card",
                                                     "card_token": ""})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "amount" in errors
    assert "card_token" in errors
    small = web.post(reverse("web:credit_buy"), {"amount": "0.50", "payment": "transfer"})
    assert "amount" in small.context["form"].errors
    assert not CreditOrder.objects.exists()


def test_buy_form_accepts_a_french_decimal_comma(web, account):
    web.post(reverse("web:credit_buy"), {"amount": "12,50", "payment": "transfer"},
             headers={"Accept-Language": "fr"})
    assert CreditOrder.objects.get().amount_micros == 12_500_000


def test_only_billing_managers_can_buy(account, make_user):
    # No role but the administrator holds billing.manage; an agent is refused outright.
    agent = client_for(make_user(account, role=Role.AGENT))
    response = agent.post(reverse("web:credit_buy"), {"amount": "10", "payment": "transfer"})
    assert response.status_code == 403
    assert not CreditOrder.objects.exists()


# --- invoices -----------------------------------------------------------------------------


def test_invoices_list_and_pdf_download(web, account, price_list):
    order = order_for(account)
    invoice = order.invoice
    html = web.get(reverse("web:invoices")).content.decode()
    assert invoice.number in html
    assert "24.00\u00a0EUR" in html  # 20 + 20 % VAT
    assert reverse("web:invoice_pdf", args=[invoice.pk]) in html

    pdf = web.get(reverse("web:invoice_pdf", args=[invoice.pk]))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert f'filename="{invoice.number}.pdf"' in pdf["Content-Disposition"]

    csv_file = web.get(reverse("web:invoice_csv", args=[invoice.pk]))
    assert csv_file.status_code == 200
    assert invoice.number in csv_file.content.decode()


def test_invoice_status_filter(web, account, buy_credits):
    buy_credits(account, "10")
    pending = order_for(account)
    issued = web.get(reverse("web:invoices"), {"status": "issued"})
    assert [i.number for i in issued.context["page"]] == [pending.invoice.number]
    assert len(web.get(reverse("web:invoices")).context["page"]) == 2


def test_another_accounts_invoice_and_order_answer_404(web, account, other_account,
                                                       price_list):
    theirs = order_for(other_account)
    for url in (reverse("web:invoice_pdf", args=[theirs.invoice.pk]),
                reverse("web:invoice_csv", args=[theirs.invoice.pk]),
                reverse("web:credit_order", args=[theirs.pk])):
        assert web.get(url).status_code == 404, url
    assert web.post(reverse("web:credit_order_pay", args=[theirs.pk]),
                    {"card_token": "tok_test_visa"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == OrderStatus.PENDING
    assert theirs.invoice.number not in web.get(reverse("web:invoices")).content.decode()
    assert Invoice.objects.filter(account=account).count() == 0


# --- usage and ledger ---------------------------------------------------------------------


def test_usage_and_ledger_show_an_sms_charge(web, account, buy_credits):
    buy_credits(account, "10")
    outcome = sms_send(actor=SYSTEM.on(account), account=account, recipients=["+33600000001"],
                       text="Hello", sender="Chappe")
    message = outcome.recipients[0].message
    usage = web.get(reverse("web:usage"))
    html = usage.content.decode()
    [record] = usage.context["page"]
    assert (record.product, record.amount_micros) == ("sms", 45_000)
    assert "0.045\u00a0EUR" in html
    # One record for the send's uses (decision 0036): it links to the send.
    assert reverse("web:sms_send_result", args=[outcome.send.pk]) in html
    assert message.usage_id == record.pk
    assert len(web.get(reverse("web:usage"), {"product": "tts"}).context["page"]) == 0

    ledger = web.get(reverse("web:ledger"))
    reasons = {entry.reason for entry in ledger.context["page"]}
    assert {"credit_purchase", "usage", "invoice", "payment"} <= reasons
    assert "-0.045\u00a0EUR" in ledger.content.decode()
    credit_only = web.get(reverse("web:ledger"), {"book": "credit"})
    assert {entry.book for entry in credit_only.context["page"]} == {"credit"}

    export = web.get(reverse("web:ledger_export"), {"book": "credit"})
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert {row["book"] for row in rows} == {"credit"}
    assert {row["reason"] for row in rows} == {"credit_purchase", "usage"}


def test_buying_a_message_pack_shows_messages_left(web, account, price_list):
    response = web.post(reverse("web:credit_buy"), {
        "what": "pack", "pack_units": "1000", "pack_product": "sms", "pack_country": "fr",
        "payment": "card", "card_token": "tok_test_visa"}, follow=True)
    assert response.status_code == 200
    assert usable(account) == Decimal("45.00")  # 1,000 SMS to FR at 0.045
    overview = web.get(reverse("web:billing")).content.decode()
    assert 'id="packs-EUR"' in overview
    assert "≈ 1000" in overview
    missing = web.post(reverse("web:credit_buy"), {"what": "pack", "payment": "transfer"})
    assert "pack_units" in missing.context["form"].errors
