"""Prepaid number rental (decision 0019): the first month charged at purchase or the
purchase refused, monthly renewal exactly once, suspension with a notice, release after
the grace period, and the move onto (and off) a contact-center subscription."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.audit.models import AuditEntry
from chappe.billing.models import BillingSettings, EntryReason, FeeCharge, LedgerEntry
from chappe.billing.periods import add_months, local_date, local_midnight, month_start, zone
from chappe.billing.reconcile import reconcile
from chappe.billing.services import fee_period, plan_create, subscription_create
from chappe.callcenter.models import NumberRental, NumberStatus, PhoneNumber, RentalStatus
from chappe.callcenter.rentals import rental_fees_run
from chappe.callcenter.selectors import number_route
from chappe.callcenter.services import catalogue_number_add, number_buy
from chappe.queue.jobs import jobs_run_due
from chappe.queue.models import Job
from tests.billing.conftest import OPERATOR

PARIS = zone("Europe/Paris")
PRICE = 3_100_000  # 3.10 EUR a month: 0.10 a day in a 31-day month


@pytest.fixture
def number(db):
    return catalogue_number_add(e164="+33189000020", number_type="geographic",
                                monthly_price_micros=PRICE)


def buy(account, number) -> NumberRental:
    return number_buy(actor=SYSTEM.on(account), account=account, number_id=number.pk)


def next_month(rental: NumberRental, months: int = 1) -> datetime:
    first = month_start(local_date(rental.started_at, PARIS))
    return local_midnight(add_months(first, months), PARIS)


def fees(account) -> list[tuple]:
    return list(FeeCharge.objects.filter(account=account).order_by("period_start")
                .values_list("period_start", "amount_micros"))


def test_buying_charges_the_first_month_prorated(account, number, buy_credits):
    # Bought on 17 March (Paris): 15 of March's 31 days, whatever today's date is.
    with time_machine.travel(datetime(2026, 3, 17, 9, 30, tzinfo=PARIS), tick=False):
        buy_credits(account, "10")
        rental = buy(account, number)
        assert reconcile() == []
    assert rental.billing == "prepaid"
    assert local_date(rental.started_at, PARIS) == date(2026, 3, 17)
    [charge] = FeeCharge.objects.filter(account=account)
    assert charge.cause_id == str(rental.pk)
    assert charge.period_start == date(2026, 3, 17)
    assert charge.amount_micros == 1_500_000  # 15 days at 0.10
    assert fee_period(month=date(2026, 3, 17), started_on=date(2026, 3, 17)).days == 15
    assert charge.description == "+33189000020 (FR, Geographic)"
    assert rental.paid_until == datetime(2026, 4, 1, tzinfo=PARIS)


def test_the_api_shows_how_a_number_is_paid(api, account, number, buy_credits):
    buy_credits(account, "10")
    rental = buy(account, number)
    shown = api.get(f"/api/v1/numbers/{rental.pk}").json()
    assert shown["billing"] == "prepaid"
    assert datetime.fromisoformat(shown["paid_until"]) == next_month(rental)
    assert shown["suspended_at"] is None


def test_buying_without_enough_credit_is_refused(api, account, buy_credits):
    # Even one day of 100 EUR a month is more than the 1 EUR of credit.
    number = catalogue_number_add(e164="+33189000021", number_type="geographic",
                                  monthly_price_micros=100_000_000)
    buy_credits(account, "1")
    response = api.post("/api/v1/numbers", {"number_id": number.pk})
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credit"
    assert not NumberRental.objects.exists()
    assert PhoneNumber.objects.get(pk=number.pk).status == NumberStatus.AVAILABLE
    assert not FeeCharge.objects.exists()


def test_renewal_charges_each_month_once_however_often_the_job_runs(account, number,
                                                                     buy_credits):
    buy_credits(account, "20")
    rental = buy(account, number)
    before = rental.paid_until - timedelta(seconds=1)
    assert rental_fees_run(now=before) == {}  # nothing due yet
    second = next_month(rental) + timedelta(hours=1)
    assert rental_fees_run(now=second) == {"paid": 1}
    assert rental_fees_run(now=second) == {}
    assert rental_fees_run(now=second + timedelta(minutes=5)) == {}
    rental.refresh_from_db()
    assert rental.paid_until == next_month(rental, 2)
    assert [start for start, _amount in fees(account)] == [
        local_date(rental.started_at, PARIS), local_date(next_month(rental), PARIS)]
    assert fees(account)[1][1] == PRICE  # a whole month
    # A worker down for two months catches up, one charge per month.
    later = next_month(rental, 3) + timedelta(days=2)
    assert rental_fees_run(now=later) == {"paid": 1}
    assert len(fees(account)) == 4
    assert LedgerEntry.objects.filter(account=account, reason=EntryReason.FEE).count() == 4
    assert reconcile() == []


def test_unpaid_month_suspends_with_a_notice_then_releases_after_grace(
        account, number, buy_credits, make_user, settings):
    settings.PUBLIC_URL = "https://chappe.example"
    admin = make_user(account, email="boss@acme.example")
    account.billing_email = "billing@acme.example"
    account.save()
    buy_credits(account, "3.10")
    rental = buy(account, number)
    due = next_month(rental) + timedelta(hours=1)
    assert rental_fees_run(now=due) == {"suspended": 1}
    rental.refresh_from_db()
    assert rental.status == RentalStatus.SUSPENDED
    assert rental.suspended_at == due
    assert number_route(e164=number.e164) is None  # takes no calls
    assert AuditEntry.objects.filter(account=account,
                                     action="callcenter.number.suspend").count() == 1
    # The notice goes by e-mail, once, to the billing address and the administrators.
    assert jobs_run_due(worker="test") >= 1
    notices = [m for m in mail.outbox if number.e164 in m.subject]
    assert sorted(to for m in notices for to in m.to) == sorted([admin.email,
                                                                "billing@acme.example"])
    assert "suspended" in notices[0].subject
    assert "https://chappe.example/billing/credits/buy/" in notices[0].body
    # Still unpaid inside the grace period: unchanged, no second notice.
    assert rental_fees_run(now=due + timedelta(days=29)) == {"unchanged": 1}
    assert jobs_run_due(worker="test") == 0
    # Past the grace period (30 days by default): released, with a notice.
    released_at = due + timedelta(days=30)
    assert rental_fees_run(now=released_at) == {"released": 1}
    rental.refresh_from_db()
    assert (rental.status, rental.ended_at) == (RentalStatus.RELEASED, released_at)
    assert PhoneNumber.objects.get(pk=number.pk).status == NumberStatus.AVAILABLE
    jobs_run_due(worker="test")
    assert any("released" in m.subject and number.e164 in m.subject for m in mail.outbox)
    assert AuditEntry.objects.get(account=account, action="callcenter.number.released") \
        .details["reason"] == "unpaid"
    assert len(fees(account)) == 1  # never charged for the unpaid month
    assert rental_fees_run(now=released_at + timedelta(days=40)) == {}


def test_buying_credit_reactivates_a_suspended_number(account, number, buy_credits):
    BillingSettings.objects.update_or_create(pk=1, defaults={"prepaid_fee_grace_days": 10})
    buy_credits(account, "3.10")
    rental = buy(account, number)
    due = next_month(rental) + timedelta(hours=1)
    rental_fees_run(now=due)
    buy_credits(account, "5")
    assert rental_fees_run(now=due + timedelta(days=3)) == {"paid": 1}
    rental.refresh_from_db()
    assert (rental.status, rental.suspended_at) == (RentalStatus.ACTIVE, None)
    assert number_route(e164=number.e164) == rental
    assert rental.paid_until == next_month(rental, 2)
    assert AuditEntry.objects.filter(account=account,
                                     action="callcenter.number.reactivate").count() == 1
    assert reconcile() == []


def test_rentals_move_onto_a_subscription_and_back(account, number, buy_credits, price_list):
    buy_credits(account, "10")
    rental = buy(account, number)
    plan = plan_create(actor=OPERATOR, code="cc", name="Contact center",
                       service_kind="contact_center", price_list=price_list)
    subscription = subscription_create(actor=OPERATOR, account=account, plan=plan,
                                       started_at=timezone.now() - timedelta(minutes=1))
    # The month paid in advance runs out; from then on the subscription bills it.
    renewal = next_month(rental) + timedelta(hours=1)
    assert rental_fees_run(now=renewal) == {"subscription": 1}
    rental.refresh_from_db()
    assert (rental.billing, rental.paid_until) == ("subscription", None)
    subscription.refresh_from_db()
    assert subscription.numbers == [{"country": "FR", "number_type": "geographic",
                                     "count": 1}]
    # The subscription ends: the number is paid in advance again from the next month.
    ended = renewal + timedelta(days=1)
    subscription.ends_at = ended
    subscription.save()
    after = ended + timedelta(hours=1)
    assert rental_fees_run(now=after) == {"unchanged": 1}
    rental.refresh_from_db()
    assert rental.billing == "prepaid"
    assert rental.paid_until == local_midnight(
        add_months(month_start(local_date(after, PARIS)), 1), PARIS)
    assert len(fees(account)) == 1
    assert Job.objects.filter(name="callcenter.rental_notice").count() == 0


def test_a_terminated_account_stops_paying_and_its_numbers_stop_answering(
        account, number, buy_credits):
    from chappe.accounts.services import account_terminate

    buy_credits(account, "10")
    rental = buy(account, number)
    account_terminate(actor=OPERATOR, account=account)
    due = next_month(rental) + timedelta(hours=1)
    assert rental_fees_run(now=due) == {"suspended": 1}
    rental.refresh_from_db()
    assert rental.status == RentalStatus.SUSPENDED
    assert number_route(e164=number.e164) is None
    # Kept for a port-out (P-9), never charged, never released for lack of credit.
    assert rental_fees_run(now=due + timedelta(days=60)) == {"unchanged": 1}
    assert len(fees(account)) == 1
    assert PhoneNumber.objects.get(pk=number.pk).status == NumberStatus.RENTED
    assert not Job.objects.filter(name="callcenter.rental_notice").exists()
    assert AuditEntry.objects.get(account=account, action="callcenter.number.suspend") \
        .details == {"reason": "terminated"}
