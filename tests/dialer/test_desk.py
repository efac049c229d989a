"""The campaigns' desk the engine's dialer is handed (chappe.dialer.desk), on the
database with a frozen clock: paced dials for the agents ready, a free agent per answered
call and their states, outcomes driving the retry rules, dispositions saved."""

from datetime import UTC, datetime, timedelta

import pytest

from chappe.agents.acd import State
from chappe.agents.services.states import agent_state_set
from chappe.dialer import services
from chappe.dialer.desk import CampaignDesk
from chappe.dialer.models import CampaignContact, ContactStatus, DialAttempt
from chappe.voice.dialer import CampaignCallEnd

pytestmark = pytest.mark.django_db
MONDAY_11 = datetime(2026, 3, 16, 10, tzinfo=UTC)  # 11:00 in Paris
NUMBERS = [f"+3361234{n:04d}" for n in range(10)]


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def floor(admin_actor, agents, licences):
    licences(len(agents))
    for agent in agents:
        agent_state_set(actor=admin_actor, account=admin_actor.account, agent=agent,
                        state=State.AVAILABLE, now=MONDAY_11 - timedelta(minutes=5))
    return agents


def running(make_campaign, admin_actor, scrub, **fields):
    scrub(MONDAY_11 - timedelta(days=1))
    campaign = make_campaign(NUMBERS, **fields)
    return services.call_campaign_launch(actor=admin_actor, campaign=campaign, now=MONDAY_11)


def end(outcome: str, at: datetime, **fields) -> CampaignCallEnd:
    return CampaignCallEnd(outcome=outcome, ended_at=at, **fields)


def test_progressive_campaign_through_the_desk(make_campaign, admin_actor, scrub, floor):
    campaign = running(make_campaign, admin_actor, scrub, mode="progressive",
                       retry_rules={"busy": {"count": 1, "delay_minutes": 30}})
    clock = Clock(MONDAY_11)
    desk = CampaignDesk(holder="engine-1", clock=clock)
    calls = desk.calls_due()
    assert len(calls) == 2  # one line per ready agent
    assert desk.calls_due() == []  # both lines are ringing: nothing more
    answered, busy = calls
    # The first answers: a free agent rings, connects, talks, wraps up.
    offer = desk.agent_for(answered)
    assert offer is not None
    desk.agent_answered(answered, offer)
    clock.at += timedelta(seconds=40)
    desk.agent_released(answered, offer, connected=True, talk_seconds=40)
    desk.finish(answered, end("answered", clock.at, answered_at=MONDAY_11,
                              agent_id=offer.agent_id, sip_call_id="sip-1"))
    desk.finish(busy, end("busy", clock.at))
    attempt = DialAttempt.objects.get(pk=answered.attempt_id)
    assert (attempt.outcome, str(attempt.agent_id), attempt.sip_call_id) == (
        "answered", offer.agent_id, "sip-1")
    assert floor[0].__class__.objects.get(pk=offer.agent_id).state == State.WRAP_UP
    services.disposition_set(actor=admin_actor, attempt=attempt, code="interested",
                             now=clock.at)
    assert CampaignContact.objects.get(pk=attempt.campaign_contact_id).disposition == \
        "interested"
    # The busy one is retried after 30 minutes, once; then its retries are used up.
    retried = CampaignContact.objects.get(campaign=campaign, number=busy.number)
    assert (retried.status, retried.next_attempt_at) == (
        ContactStatus.PENDING, clock.at + timedelta(minutes=30))
    clock.at += timedelta(minutes=31)
    again = [c for c in desk.calls_due() if c.number == busy.number]
    assert len(again) == 1
    desk.finish(again[0], end("busy", clock.at))
    retried.refresh_from_db()
    assert retried.status == ContactStatus.EXHAUSTED


def test_abandoned_consumer_waits_the_redial_delay(make_campaign, admin_actor, scrub, floor):
    running(make_campaign, admin_actor, scrub, mode="progressive", abandon_redial_minutes=60)
    clock = Clock(MONDAY_11)
    desk = CampaignDesk(clock=clock)
    call = desk.calls_due()[0]
    desk.finish(call, end("abandoned", MONDAY_11, answered_at=MONDAY_11))
    contact = CampaignContact.objects.get(pk=DialAttempt.objects.get(
        pk=call.attempt_id).campaign_contact_id)
    assert contact.next_attempt_at == MONDAY_11 + timedelta(hours=1)


def test_predictive_campaign_over_dials_once_it_knows_its_hit_rate(make_campaign, admin_actor,
                                                                   scrub, floor):
    campaign = running(make_campaign, admin_actor, scrub, mode="predictive", lines_per_agent=3)
    clock = Clock(MONDAY_11)
    desk = CampaignDesk(clock=clock)
    assert len(desk.calls_due()) == 2  # no history yet: one line per ready agent
    # 20 calls placed, a quarter answered by a person: over-dial up to 3 lines per agent.
    DialAttempt.objects.filter(campaign=campaign).delete()  # forget those two
    contact = CampaignContact.objects.filter(campaign=campaign).first()
    for n in range(20):
        DialAttempt.objects.create(account=campaign.account, campaign=campaign,
                                   campaign_contact=contact, number=f"+3369999{n:04d}",
                                   at=MONDAY_11 - timedelta(hours=1),
                                   outcome="answered" if n % 4 == 0 else "no_answer")
    CampaignContact.objects.filter(campaign=campaign).update(status=ContactStatus.PENDING,
                                                             locked_until=None)
    floor_now = services.pacing_floor(campaign=campaign, now=MONDAY_11)
    assert (floor_now.placed, floor_now.answered, floor_now.agents_ready) == (20, 5, 2)
    assert len(desk.calls_due()) == 6  # 2 ready agents / hit rate 1/4 = 8, capped at 3 x 2
