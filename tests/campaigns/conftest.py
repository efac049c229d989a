"""Fixtures of the campaign tests: a funded account with an administrator, contacts made
in bulk, campaigns built through the service, and helpers that run the background jobs
and the gateway the way the worker and `chappe gateway` do."""

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.utils import timezone

from chappe.accounts.actor import Actor
from chappe.campaigns.models import Campaign
from chappe.campaigns.services import campaign_create
from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.selectors import routes_load
from chappe.carriers.services import simulator_ensure
from chappe.contacts.models import Contact, ContactList, ListMembership
from chappe.messaging.services.dispatch import dispatch_batch
from chappe.queue.jobs import jobs_run_due
from chappe.queue.models import Job, JobStatus
from chappe.runtime.gateway import gateway_poll
from tests.billing.conftest import buy_credits, operator, price_list  # noqa: F401
from tests.messaging.rcs.conftest import draft_agent, launched_agent  # noqa: F401

# Every day, all day: tests do not depend on the hour they run at (M-12 has its own tests).
ALWAYS_OPEN = {"FR": {"start": "00:00", "end": "23:59:59.999999",
                      "weekdays": [0, 1, 2, 3, 4, 5, 6], "public_holidays_allowed": True}}


@pytest.fixture(autouse=True)
def _campaign_settings(settings):
    settings.CHAPPE_SENDING_WINDOWS = ALWAYS_OPEN
    settings.CHAPPE_CAMPAIGN_TICK_SECONDS = 0.01
    settings.CHAPPE_CAMPAIGN_RATE = 2000  # waves of 20
    settings.CHAPPE_CAMPAIGN_SAMPLE_SECONDS = 0


@pytest.fixture
def funded_account(account, buy_credits):  # noqa: F811
    buy_credits(account, "1000")
    return account


@pytest.fixture
def actor(admin_actor) -> Actor:
    return admin_actor


@pytest.fixture
def web(admin_actor):
    """The web app, signed in as the administrator behind `actor`."""
    from tests.web.support import client_for

    return client_for(admin_actor.user)


def fr_number(i: int) -> str:
    """Distinct valid French mobile numbers spread over the 06 ranges (several operators)."""
    return f"+336{1 + i % 8}{i // 8:07d}"


@pytest.fixture
def make_contacts(funded_account) -> Callable[..., list[Contact]]:
    def make(count: int, *, first_names: Sequence[str] = ("Zoé",), start: int = 0,
             contact_list: ContactList | None = None, **fields: Any) -> list[Contact]:
        contacts = []
        for i in range(start, start + count):
            contact = Contact(account=funded_account, mobile=fr_number(i),
                              first_name=first_names[i % len(first_names)], **fields)
            contact.save()
            contacts.append(contact)
        if contact_list is not None:
            ListMembership.objects.bulk_create(
                [ListMembership(contact_list=contact_list, contact=c) for c in contacts])
        return contacts

    return make


@pytest.fixture
def make_campaign(actor) -> Callable[..., Campaign]:
    def make(**values: Any) -> Campaign:
        values.setdefault("name", "Soldes")
        values.setdefault("sender", "Boutique")
        values.setdefault("text", "Bonjour {first_name|client}, -20% ce week-end.")
        if "lists" not in values and "numbers" not in values:
            values.setdefault("all_contacts", True)
        return campaign_create(actor=actor, account=actor.account, **values)

    return make


def run_jobs(limit: int = 50) -> int:
    """Run due jobs until none is left (or `limit` rounds)."""
    ran = 0
    for _round in range(limit):
        done = jobs_run_due(worker="test", limit=20)
        if not done:
            break
        ran += done
    return ran


@pytest.fixture
def simulator(db):
    simulator_ensure(config={"latency_ms": 0})


def deliver_all(rounds: int = 200) -> None:
    """Run the jobs (pacing) and the gateway until nothing moves and no pacing step is
    left (a step waiting for its time is run at once)."""
    connectors, routes = ConnectorFleet(process="test").refresh(), routes_load()
    for _round in range(rounds):
        moved = run_jobs()
        moved += dispatch_batch(worker="test-gateway", connectors=connectors, routes=routes)
        moved += gateway_poll(connectors)
        if not moved:
            if not Job.objects.filter(status=JobStatus.PENDING).exists():
                return
            jobs_due_now()


def jobs_due_now() -> None:
    """Fast-forward: every pending job (a pacing step waiting for a window) is due."""
    Job.objects.filter(status=JobStatus.PENDING).update(run_at=timezone.now())


def refreshed(campaign: Campaign) -> Campaign:
    campaign.refresh_from_db()
    return campaign

