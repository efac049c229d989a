"""Launching, pacing, pausing, resuming and canceling campaigns, through the services
and the job queue as the worker runs them, and the gateway as `chappe gateway` runs it."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from chappe.billing.errors import InsufficientCredit
from chappe.billing.models import UsageRecord
from chappe.billing.reconcile import reconcile
from chappe.billing.selectors import ledger_sum
from chappe.campaigns.models import Campaign, CampaignRecipient, CampaignSample
from chappe.campaigns.selectors import campaign_progress
from chappe.campaigns.services import (
    campaign_cancel,
    campaign_launch,
    campaign_pause,
    campaign_resume,
    campaign_review_refuse,
    campaign_review_release,
)
from chappe.campaigns.services import launch as launch_module
from chappe.campaigns.services.pacing import HOLD
from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.selectors import routes_load
from chappe.common.errors import Conflict
from chappe.contacts.models import Contact, OptOutSource
from chappe.contacts.services import contact_list_create, opt_out_add
from chappe.messaging.models import Message
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.dispatch import dispatch_batch
from chappe.messaging.services.edit import message_edit, send_cancel, send_edit
from chappe.privacy.rights import recipient_erase
from chappe.queue.models import Job
from tests.billing.conftest import OPERATOR
from tests.campaigns.conftest import (
    deliver_all,
    fr_number,
    jobs_due_now,
    refreshed,
    run_jobs,
)
from tests.messaging.conftest import assert_billed_once

MENTION = "STOP au 36034"


def credit(account) -> int:
    return ledger_sum(account=account, book="credit", currency="EUR")


def statuses(campaign: Campaign) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in Message.objects.filter(send_id=campaign.send_id).values_list("status",
                                                                               flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def held(campaign: Campaign) -> int:
    return Message.objects.filter(send_id=campaign.send_id, status="scheduled",
                                  due_at__gte=HOLD).count()


def test_launch_sends_one_personalised_message_per_number(
        actor, funded_account, make_contacts, make_campaign, simulator):
    vip = contact_list_create(actor=actor, account=funded_account, name="VIP")
    shop = contact_list_create(actor=actor, account=funded_account, name="Shop")
    contacts = make_contacts(12, first_names=["Zoé", "", "Łukasz"], contact_list=vip)
    for contact in contacts[:4]:
        contact.lists.add(shop)  # in both lists: still one message
    opt_out_add(actor=actor, account=funded_account, number=contacts[5].mobile,
                source=OptOutSource.MANUAL)
    before = credit(funded_account)
    campaign = make_campaign(lists=[vip, shop], text="Bonjour {first_name|client} !",
                             numbers=[contacts[0].mobile, "+33699999999"])
    campaign = campaign_launch(actor=actor, campaign=campaign)
    assert campaign.status == "launching"
    run_jobs(limit=3)
    campaign = refreshed(campaign)
    assert (campaign.recipients, campaign.processed, campaign.messages) == (13, 13, 13)
    assert campaign.opted_out == 1
    assert campaign.launched_at is not None
    assert not CampaignRecipient.objects.filter(campaign=campaign).exists()  # emptied
    messages = {m.recipient: m for m in Message.objects.filter(send_id=campaign.send_id)}
    assert len(messages) == 13
    assert messages[contacts[0].mobile].text == f"Bonjour Zoé !\n{MENTION}"
    assert messages[contacts[1].mobile].text == f"Bonjour client !\n{MENTION}"
    assert messages[contacts[2].mobile].encoding == "ucs2"
    assert messages["+33699999999"].text == f"Bonjour client !\n{MENTION}"
    assert messages[contacts[5].mobile].status == "opted_out"
    assert messages[contacts[5].mobile].price_micros == 0
    billed = sum(m.price_micros for m in messages.values())
    assert billed == campaign.cost_micros == 12 * 45_000
    assert before - credit(funded_account) == billed

    deliver_all()
    campaign = refreshed(campaign)
    assert campaign.status == "completed"
    assert statuses(campaign) == {"delivered": 12, "opted_out": 1}
    progress = campaign_progress(campaign=campaign)
    assert (progress.delivered, progress.waiting, progress.percent) == (12, 0, 100)
    assert progress.series[-1].delivered == 12


def test_messages_wait_held_until_the_pacing_releases_them(
        actor, make_contacts, make_campaign, simulator, settings):
    settings.CHAPPE_CAMPAIGN_RATE = 500  # waves of 5
    make_contacts(12)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    launch_module.campaign_launch_run(campaign_id=campaign.pk, run=refreshed(campaign).run)
    campaign = refreshed(campaign)
    assert held(campaign) == 12
    connectors, routes = ConnectorFleet(process="test").refresh(), routes_load()
    assert dispatch_batch(worker="t", connectors=connectors, routes=routes) == 0
    run_jobs(limit=1)  # one pacing step: one wave
    assert held(refreshed(campaign)) == 7
    assert refreshed(campaign).released == 5
    assert dispatch_batch(worker="t", connectors=connectors, routes=routes) == 5


def test_a_campaigns_send_is_not_edited_or_canceled_as_a_plain_send(
        actor, make_contacts, make_campaign):
    """Through the SMS API a campaign's held messages would all leave at once (or vanish
    behind the campaign's back): that goes through the campaign."""
    make_contacts(3)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    launch_module.campaign_launch_run(campaign_id=campaign.pk, run=refreshed(campaign).run)
    campaign = refreshed(campaign)
    message = Message.objects.filter(send=campaign.send).first()
    for attempt in (lambda: send_edit(actor=actor, send=campaign.send,
                                      send_at=timezone.now()),
                    lambda: send_cancel(actor=actor, send=campaign.send),
                    lambda: message_edit(actor=actor, message=message,
                                         send_at=timezone.now())):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "campaign_send"
    assert held(campaign) == 3


def test_launch_without_enough_credit_is_refused_and_changes_nothing(
        account, buy_credits, actor, make_campaign):
    buy_credits(account, "1")  # 22 SMS at 0.045
    campaign = make_campaign(numbers=[fr_number(i) for i in range(30)], all_contacts=False)
    with pytest.raises(InsufficientCredit) as error:
        campaign_launch(actor=actor, campaign=campaign)
    assert error.value.details == {"currency": "EUR", "required": "1.350000",
                                   "available": "1.000000"}
    campaign = refreshed(campaign)
    assert (campaign.status, campaign.send_id) == ("draft", None)
    assert not Job.objects.filter(name__startswith="campaigns.").exists()


def test_credit_running_out_mid_launch_pauses_and_resume_finishes(
        account, buy_credits, actor, make_campaign, settings):
    settings.CHAPPE_CAMPAIGN_CHUNK = 5
    buy_credits(account, "1")  # 22 SMS
    numbers = [fr_number(i) for i in range(20)]
    campaign = campaign_launch(actor=actor, campaign=make_campaign(
        kind="transactional", stop_mention=False, text="Hello", numbers=numbers,
        all_contacts=False))
    sms_send(actor=actor, account=account, recipients=[fr_number(i) for i in range(100, 110)],
             text="Other", sender="Shop")  # 10 SMS: 12 left, the third chunk cannot pay
    run_jobs()
    campaign = refreshed(campaign)
    assert (campaign.status, campaign.stop_reason) == ("paused", "insufficient_credit")
    assert campaign.processed == campaign.messages == 10
    buy_credits(account, "5")
    campaign_resume(actor=actor, campaign=campaign)
    run_jobs()
    campaign = refreshed(campaign)
    assert campaign.status == "running"
    assert campaign.processed == campaign.messages == 20
    recipients = list(Message.objects.filter(send_id=campaign.send_id)
                      .values_list("recipient", flat=True))
    assert sorted(recipients) == sorted(numbers)


def test_a_launch_that_crashes_resumes_from_its_cursor(
        actor, make_contacts, make_campaign, settings, monkeypatch):
    settings.CHAPPE_CAMPAIGN_CHUNK = 4
    contacts = make_contacts(14)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    real, calls = launch_module.messages_accept, []

    def crash_on_the_third_chunk(**kwargs):
        calls.append(len(kwargs["drafts"]))
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        return real(**kwargs)

    monkeypatch.setattr(launch_module, "messages_accept", crash_on_the_third_chunk)
    run_jobs(limit=1)  # the launch job fails on its third chunk, to be retried
    campaign = refreshed(campaign)
    assert (campaign.status, campaign.processed) == ("launching", 8)
    assert Message.objects.filter(send_id=campaign.send_id).count() == 8
    monkeypatch.setattr(launch_module, "messages_accept", real)
    jobs_due_now()  # the retry's back-off
    run_jobs()
    campaign = refreshed(campaign)
    assert (campaign.status, campaign.processed, campaign.messages) == ("running", 14, 14)
    made = list(Message.objects.filter(send_id=campaign.send_id)
                .values_list("recipient", flat=True))
    assert sorted(made) == sorted(c.mobile for c in contacts)


# --- operator skew (M-9) ------------------------------------------------------------------


@pytest.fixture
def skew_settings(settings):
    settings.CHAPPE_OPERATOR_SKEW = {
        "action": "hold", "threshold": 0.30, "min_recipients": 5,
        "mix": {"FR": {"Orange France": {"share": 0.40, "code": "20801"},
                       "SFR": {"share": 0.30, "code": "20810"}}}}
    return settings


def _orange_contacts(account, count: int) -> None:
    for i in range(count):
        Contact(account=account, mobile=f"+3363{i:07d}", first_name="Zoé").save()


def test_a_skewed_campaign_waits_for_review_then_goes_at_the_operator_price(
        actor, funded_account, make_campaign, skew_settings):
    _orange_contacts(funded_account, 8)
    campaign = campaign_launch(actor=actor, campaign=make_campaign(
        kind="transactional", stop_mention=False, text="Hello"))
    assert campaign.status == "review"
    [finding] = campaign.review
    assert (finding["operator"], finding["code"], finding["on_operator"]) == (
        "Orange France", "20801", 8)
    assert campaign.send_id is None
    assert not Job.objects.exists()
    campaign = campaign_review_release(actor=OPERATOR.on(funded_account), campaign=campaign,
                                       operator_price=True)
    assert campaign.status == "launching"
    run_jobs(limit=3)
    prices = set(Message.objects.filter(send_id=refreshed(campaign).send_id)
                 .values_list("price_micros", flat=True))
    assert prices == {50_000}  # the FR operator 20801 price, not 0.045


def test_the_operator_may_refuse_a_held_campaign(actor, funded_account, make_campaign,
                                                  skew_settings):
    _orange_contacts(funded_account, 8)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    campaign = campaign_review_refuse(actor=OPERATOR.on(funded_account), campaign=campaign,
                                      reason="Traffic pumping suspected")
    assert (campaign.status, campaign.send_id) == ("refused", None)
    with pytest.raises(Conflict):
        campaign_review_release(actor=OPERATOR.on(funded_account), campaign=campaign,
                                operator_price=False)


def test_price_policy_launches_at_the_operator_price_without_review(
        actor, funded_account, make_campaign, skew_settings):
    skew_settings.CHAPPE_OPERATOR_SKEW = {**skew_settings.CHAPPE_OPERATOR_SKEW,
                                          "action": "price"}
    _orange_contacts(funded_account, 8)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    assert campaign.status == "launching"
    assert campaign.operator_pricing == {"FR": {"Orange France": "20801"}}
    run_jobs(limit=3)
    assert refreshed(campaign).cost_micros == 8 * 50_000


# --- marketing hours (M-12), schedule, fairness --------------------------------------------------


def test_marketing_waits_for_its_window_deferred_not_dropped(
        actor, make_contacts, make_campaign, settings):
    tomorrow = (timezone.localtime(timezone.now(), timezone.get_fixed_timezone(60)).weekday()
                + 1) % 7
    settings.CHAPPE_SENDING_WINDOWS = {"FR": {"start": "00:00", "end": "23:59:59",
                                              "weekdays": [tomorrow],
                                              "public_holidays_allowed": True}}
    make_contacts(6)
    marketing = campaign_launch(actor=actor, campaign=make_campaign(kind="marketing"))
    transactional = campaign_launch(actor=actor, campaign=make_campaign(
        name="Codes", kind="transactional", stop_mention=False, text="Votre code"))
    run_jobs()
    assert held(refreshed(marketing)) == 6  # nothing released at night
    assert refreshed(marketing).status == "running"
    assert held(refreshed(transactional)) == 0  # transactional is exempt
    run_jobs()
    assert held(refreshed(marketing)) == 6  # still waiting, not dropped
    settings.CHAPPE_SENDING_WINDOWS = {"FR": {"start": "00:00", "end": "23:59:59.999999",
                                              "weekdays": list(range(7)),
                                              "public_holidays_allowed": True}}
    jobs_due_now()
    run_jobs()
    assert held(refreshed(marketing)) == 0


def test_a_scheduled_campaign_is_billed_now_and_leaves_at_its_time(
        actor, make_contacts, make_campaign):
    make_contacts(5)
    campaign = campaign_launch(actor=actor, campaign=make_campaign(
        send_at=timezone.now() + timedelta(days=1)))
    run_jobs()
    campaign = refreshed(campaign)
    assert (campaign.status, campaign.messages, held(campaign)) == ("running", 5, 5)
    assert campaign.cost_micros == 5 * 45_000
    Campaign.objects.filter(pk=campaign.pk).update(send_at=timezone.now())
    jobs_due_now()
    run_jobs()
    assert held(refreshed(campaign)) == 0


def test_a_transactional_message_does_not_wait_behind_a_big_campaign(
        actor, funded_account, make_contacts, make_campaign, simulator, settings):
    """Messages of a campaign are released in waves: a message sent after the campaign
    started is claimed right after the current wave, not after the whole campaign."""
    settings.CHAPPE_CAMPAIGN_RATE = 1000  # waves of 10
    make_contacts(200)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    run_jobs(limit=2)  # launched, first wave released
    otp = sms_send(actor=actor, account=funded_account, recipients=["+33612999999"],
                   text="Code 123456", sender="Shop").recipients[0].message
    connectors, routes = ConnectorFleet(process="test").refresh(), routes_load()
    claimed = dispatch_batch(worker="t", connectors=connectors, routes=routes, limit=50)
    otp.refresh_from_db()
    assert otp.status == "sent"
    assert claimed <= 11
    assert held(refreshed(campaign)) >= 189


# --- pause, resume, cancel ---------------------------------------------------------------------


def test_pause_stops_what_waits_and_resume_goes_on(actor, make_contacts, make_campaign,
                                                   simulator):
    make_contacts(60)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    run_jobs(limit=3)  # launched, one wave of 20 released
    campaign = refreshed(campaign)
    assert campaign.released == 20
    campaign = campaign_pause(actor=actor, campaign=campaign)
    assert campaign.status == "paused"
    assert held(campaign) == 60  # the wave released but not claimed is held again
    connectors, routes = ConnectorFleet(process="test").refresh(), routes_load()
    assert dispatch_batch(worker="t", connectors=connectors, routes=routes) == 0
    run_jobs()  # the old pacing step stops by itself
    assert held(refreshed(campaign)) == 60
    with pytest.raises(Conflict):
        campaign_pause(actor=actor, campaign=campaign)
    campaign_resume(actor=actor, campaign=campaign)
    deliver_all()
    campaign = refreshed(campaign)
    assert campaign.status == "completed"
    assert statuses(campaign) == {"delivered": 60}


def test_cancel_cancels_what_has_not_left_and_credits_it_back(
        actor, funded_account, make_contacts, make_campaign, simulator, settings):
    settings.CHAPPE_CAMPAIGN_CHUNK = 15  # four chunks: four usage records
    make_contacts(50)
    before = credit(funded_account)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    run_jobs(limit=3)
    connectors, routes = ConnectorFleet(process="test").refresh(), routes_load()
    assert dispatch_batch(worker="t", connectors=connectors, routes=routes) == 20
    campaign = campaign_cancel(actor=actor, campaign=refreshed(campaign))
    assert campaign.status == "canceling"
    run_jobs()
    campaign = refreshed(campaign)
    assert campaign.status == "canceled"
    assert statuses(campaign) == {"sent": 20, "canceled": 30}
    # Only the 20 messages handed to the carrier stay billed (M-8).
    assert before - credit(funded_account) == 20 * 45_000
    # Each canceled message's share reversed once, against its own chunk's record.
    canceled = Message.objects.filter(send_id=campaign.send_id, status="canceled")
    assert sorted(UsageRecord.objects.filter(account=funded_account, billed_quantity__lt=0)
                  .values_list("cause_id", "reverses_id")) == sorted(
        (str(pk), usage_id) for pk, usage_id in canceled.values_list("pk", "usage_id"))
    assert UsageRecord.objects.filter(account=funded_account,
                                      idempotency_key__startswith="aggregate:").count() == 4
    assert_billed_once(funded_account)
    assert reconcile() == []
    progress = campaign_progress(campaign=campaign)
    assert (progress.canceled, progress.sent, progress.waiting) == (30, 20, 0)


def test_cancel_during_the_launch_stops_it(actor, make_contacts, make_campaign, settings):
    settings.CHAPPE_CAMPAIGN_CHUNK = 5
    make_contacts(20)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    assert launch_module._snapshot_step(campaign.pk, campaign.run)
    assert launch_module._accept_chunk(campaign.pk, campaign.run, 0)  # five accepted
    campaign_cancel(actor=actor, campaign=campaign)
    run_jobs()
    campaign = refreshed(campaign)
    assert (campaign.status, campaign.processed) == ("canceled", 5)
    assert statuses(campaign) == {"canceled": 5}
    assert not CampaignRecipient.objects.filter(campaign=campaign).exists()


def test_progress_is_read_from_samples_not_counted_per_poll(
        actor, make_contacts, make_campaign, django_assert_max_num_queries):
    make_contacts(30)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    run_jobs(limit=3)
    assert CampaignSample.objects.filter(campaign=campaign).exists()
    campaign = refreshed(campaign)
    with django_assert_max_num_queries(1):
        progress = campaign_progress(campaign=campaign)
    assert progress.waiting == 30


# --- recipients' rights (P-12) ------------------------------------------------------------------


def test_erasure_removes_the_number_from_campaigns(actor, funded_account, make_campaign,
                                                   settings):
    number = "+33612345678"
    draft = make_campaign(numbers=[number, "+33612345679"], all_contacts=False)
    recipient_erase(actor=actor, account=funded_account, number=number)
    assert refreshed(draft).numbers == ["+33612345679"]

    settings.CHAPPE_CAMPAIGN_CHUNK = 1
    launching = campaign_launch(actor=actor, campaign=make_campaign(
        numbers=["+33612345670", "+33612345671"], all_contacts=False))
    assert launch_module._snapshot_step(launching.pk, launching.run)
    with pytest.raises(Conflict) as error:
        recipient_erase(actor=actor, account=funded_account, number="+33612345671")
    assert error.value.code == "campaign_launching"
    assert CampaignRecipient.objects.filter(number="+33612345671").exists()
    with transaction.atomic():
        Campaign.objects.filter(pk=launching.pk).update(status="paused")
    recipient_erase(actor=actor, account=funded_account, number="+33612345671")
    assert not CampaignRecipient.objects.filter(number="+33612345671").exists()
