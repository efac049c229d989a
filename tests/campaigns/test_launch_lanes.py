"""A launch in lanes side by side (decision 0044), each lane in a thread and transaction of
its own on PostgreSQL: every recipient exactly once whatever the interleaving, counters
exact, a pause between or during chunks honoured, credit running out in one lane stopping
them all."""

import threading

import pytest
from django.db import connection

from chappe.billing.reconcile import reconcile
from chappe.campaigns.models import Campaign, LaunchLane
from chappe.campaigns.services import campaign_launch, campaign_resume
from chappe.campaigns.services import launch as launch_module
from chappe.messaging.models import Message
from chappe.messaging.services.accept import sms_send
from tests.campaigns.conftest import fr_number, refreshed, run_jobs
from tests.messaging.conftest import assert_billed_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _lanes(settings):
    if connection.vendor != "postgresql":
        pytest.skip("lanes in threads need PostgreSQL's row locks (SQLite has one writer)")
    settings.CHAPPE_LAUNCH_LANES = 3
    settings.CHAPPE_CAMPAIGN_CHUNK = 7


def messages_of(campaign: Campaign) -> list[str]:
    return sorted(Message.objects.filter(send_id=campaign.send_id)
                  .values_list("recipient", flat=True))


def assert_counted(campaign: Campaign) -> None:
    """The campaign's counters and message range agree with the messages written."""
    made = Message.objects.filter(send_id=campaign.send_id)
    assert campaign.processed == campaign.messages == made.count()
    ids = sorted(made.values_list("id", flat=True))
    if ids:
        assert (campaign.first_message_id, campaign.last_message_id) == (ids[0], ids[-1])
    assert campaign.cost_micros == sum(made.values_list("price_micros", flat=True))


def test_three_lanes_accept_each_recipient_exactly_once(actor, make_contacts, make_campaign,
                                                        funded_account):
    contacts = make_contacts(100)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    run_jobs()
    campaign = refreshed(campaign)
    assert campaign.status == "running"
    lanes = list(LaunchLane.objects.filter(campaign=campaign).order_by("lane"))
    assert [lane.done for lane in lanes] == [True] * 3
    # The lanes share the numbers without overlap: each upper is the next one's start.
    assert [lane.upper for lane in lanes[:-1]] == [lane.cursor for lane in lanes[:-1]]
    assert lanes[-1].upper == ""
    assert messages_of(campaign) == sorted(c.mobile for c in contacts)
    assert_counted(campaign)
    assert_billed_once(funded_account)
    assert reconcile() == []


def test_a_chunk_overtaken_by_a_pause_is_rolled_back_and_resumed_once(
        actor, make_contacts, make_campaign, funded_account, monkeypatch):
    contacts = make_contacts(60)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    assert launch_module._snapshot_step(campaign.pk, campaign.run)
    assert launch_module._accept_chunk(campaign.pk, campaign.run, 0)
    real_count = launch_module._count

    def paused_meanwhile(*args, **kwargs):
        # Another connection pauses the campaign (and commits) while lane 1 writes: the
        # chunk holds no lock on the campaign row, so it does not wait for the chunk.
        def pause() -> None:
            Campaign.objects.filter(pk=campaign.pk).update(status="paused",
                                                           stop_reason="by hand")
            connection.close()

        pausing = threading.Thread(target=pause)
        pausing.start()
        pausing.join()
        return real_count(*args, **kwargs)

    monkeypatch.setattr(launch_module, "_count", paused_meanwhile)
    assert not launch_module._accept_chunk(campaign.pk, campaign.run, 1)
    monkeypatch.setattr(launch_module, "_count", real_count)
    campaign = refreshed(campaign)
    assert campaign.status == "paused"
    assert campaign.processed == len(messages_of(campaign)) == 7  # lane 1 wrote nothing
    assert LaunchLane.objects.get(campaign=campaign, lane=1).cursor == \
        LaunchLane.objects.get(campaign=campaign, lane=0).upper
    campaign_resume(actor=actor, campaign=campaign)
    run_jobs()
    campaign = refreshed(campaign)
    assert campaign.status == "running"
    assert messages_of(campaign) == sorted(c.mobile for c in contacts)
    assert_counted(campaign)
    assert_billed_once(funded_account)


def test_credit_running_out_in_one_lane_pauses_them_all(account, buy_credits, actor,
                                                        make_campaign):
    buy_credits(account, "1")  # 22 SMS
    numbers = [fr_number(i) for i in range(21)]  # three lanes of one chunk each
    campaign = campaign_launch(actor=actor, campaign=make_campaign(
        kind="transactional", stop_mention=False, text="Hello", numbers=numbers,
        all_contacts=False))
    sms_send(actor=actor, account=account, recipients=[fr_number(i) for i in range(100, 110)],
             text="Other", sender="Shop")  # 12 SMS left: one chunk of 7 can pay, not two
    run_jobs()
    campaign = refreshed(campaign)
    assert (campaign.status, campaign.stop_reason) == ("paused", "insufficient_credit")
    assert len(messages_of(campaign)) == 7
    assert_counted(campaign)
    buy_credits(account, "5")
    campaign_resume(actor=actor, campaign=campaign)
    run_jobs()
    campaign = refreshed(campaign)
    assert campaign.status == "running"
    assert messages_of(campaign) == sorted(numbers)
    assert_counted(campaign)
    assert_billed_once(account)
    assert reconcile() == []
