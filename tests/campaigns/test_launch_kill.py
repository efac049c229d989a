"""A campaign launch killed mid-way (kill -9 of a real `chappe worker` process on
PostgreSQL) and resumed by another worker: each contact gets exactly one message,
billed once."""

import os
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from chappe.billing.models import UsageRecord
from chappe.campaigns.models import Campaign
from chappe.campaigns.services import campaign_launch
from chappe.contacts.fields import mobile_facts
from chappe.contacts.models import Contact
from chappe.messaging.models import Message
from chappe.queue.models import Job
from tests.processes import role_process, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CONTACTS = 30_000
CHUNK = 500


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("a worker process beside the test needs PostgreSQL")


def _worker(tmp_path: Path, name: str) -> subprocess.Popen:
    return role_process(
        tmp_path, name, "worker", "--poll", "0.05", CHAPPE_CAMPAIGN_CHUNK=str(CHUNK),
        CHAPPE_CAMPAIGN_TICK_SECONDS="0.2",
        CHAPPE_SENDING_WINDOWS='{"FR": {"start": "00:00", "end": "23:59:59.999999", '
                               '"weekdays": [0, 1, 2, 3, 4, 5, 6], '
                               '"public_holidays_allowed": true}}')


def _processed(campaign: Campaign) -> int:
    return Campaign.objects.values_list("processed", flat=True).get(pk=campaign.pk)


def test_a_launch_killed_mid_way_resumes_with_one_message_per_contact(
        postgres_only, account, buy_credits, actor, make_campaign, tmp_path):
    buy_credits(account, "5000")
    numbers = [f"+336{1 + i % 8}{i // 8:07d}" for i in range(CONTACTS)]
    Contact.objects.bulk_create(
        [Contact(account=account, mobile=number, first_name=("Zoé", "Łukasz", "")[i % 3],
                 mobile_country=facts[0], mobile_operator=facts[1])
         for i, (number, facts) in enumerate((n, mobile_facts(n)) for n in numbers)],
        batch_size=5000)
    campaign = campaign_launch(actor=actor, campaign=make_campaign())
    worker = _worker(tmp_path, "first")
    try:
        wait_for(lambda: _processed(campaign) >= 3 * CHUNK, 120, "the launch to be under way")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    finally:
        if worker.poll() is None:
            worker.kill()
    killed_at = _processed(campaign)
    assert killed_at < CONTACTS, "the launch finished before the worker could be killed"
    assert Message.objects.filter(send__campaign=campaign).count() == killed_at
    # The dead worker's lease on the launch job runs out (fast-forwarded here).
    Job.objects.filter(name="campaigns.launch", status="running").update(
        locked_until=timezone.now() - timedelta(seconds=1))
    worker = _worker(tmp_path, "second")
    try:
        wait_for(lambda: Campaign.objects.filter(pk=campaign.pk, launched_at__isnull=False)
              .exists(), 300, "the launch to be over")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.processed, campaign.messages) == (
        "running", CONTACTS, CONTACTS)
    messages = Message.objects.filter(send_id=campaign.send_id)
    assert messages.count() == CONTACTS
    assert not messages.values("recipient").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert set(messages.values_list("recipient", flat=True)) == set(numbers)
    # Billed once each: every message counted in exactly one usage record (one per kind
    # of use and chunk, decision 0036) of the chunks committed, and what the campaign says.
    records = {r.pk: r for r in UsageRecord.objects.filter(account=account)}
    per_record = dict(messages.values("usage_id").annotate(n=Count("pk"))
                      .values_list("usage_id", "n"))
    assert {pk: r.uses for pk, r in records.items()} == per_record
    assert sum(r.uses for r in records.values()) == CONTACTS
    assert sum(r.amount_micros for r in records.values()) == campaign.cost_micros
