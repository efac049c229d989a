"""Progressive and predictive call campaigns end to end (C-5; decision 0048): created and launched
through the services, in the database, dialed by the voice engine with the database
desk as `chappe voice` wires it (`OnThread(CampaignDesk())`), through a trunk to the
voice carrier simulator's test numbers, with an agent whose phone is a SIPp UAS that
registered to the engine with the agents app's credentials. The answered consumer is
bridged to the agent (RTP flows both ways), the busy and unanswered ones are retried by
the campaign's rules, attempts, call records and the disposition land in the database.

The whole process runs on a clock travelling from a Monday 11:00 in Paris (inside the
legal calling hours), ticking; the retries' delay is passed by shifting it, never by
sleeping."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import OperationalError
from django.utils import timezone

from chappe.callcenter.models import CallRecord, Trunk
from chappe.dialer import services
from chappe.dialer.desk import CampaignDesk, OnThread
from chappe.dialer.models import CampaignContact, ContactStatus, DialAttempt
from chappe.voice.simulator import VoiceCarrierSimulator
from tests.ports import free_port
from tests.voice.sipp_tools import SIPP_TESTS, EngineThread, Phone, RtpSink, scenario
from tests.voice.test_queues_sipp import log_in, register

pytestmark = SIPP_TESTS
MONDAY_11 = datetime(2026, 3, 16, 10, tzinfo=UTC)  # 11:00 in Paris
ANSWERS, BUSY, NO_ANSWER = "+33600000106", "+33600000102", "+33600000103"


def wait_for(check, timeout=30.0):
    """`check()`'s value once true (the database read again until then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if value := check():
                return value
        except OperationalError:  # SQLite's shared in-memory test database, mid-write
            pass
        time.sleep(0.05)
    raise AssertionError(f"not true after {timeout} s: {check.__doc__ or check}")


def outcomes(campaign) -> list[tuple[str, str]]:
    """(number, outcome) of the campaign's attempts that ended, by number."""
    return sorted(DialAttempt.objects.filter(campaign=campaign, ended_at__isnull=False)
                  .values_list("number", "outcome"))


@pytest.mark.parametrize("mode", ["progressive", "predictive"])
def test_campaign_with_a_sipp_agent(mode, transactional_db, data_dir, admin_actor, agents,
                                    licences, make_campaign, scrub, tmp_path):
    """Progressive: three lines for the one agent, all dialed at once. Predictive, with no
    history yet (answer rate taken as 1): one line for the one agent at a time."""
    licences(len(agents))
    agent = agents[0]  # the other member of the queue stays logged out
    carrier = VoiceCarrierSimulator("127.0.0.1", 0, rtp_ports=(38600, 38698),
                                    ring_seconds=0.2, no_answer_after=0.5)
    agent_rtp = RtpSink(echo=True)
    with time_machine.travel(MONDAY_11, tick=True) as clock, \
            EngineThread(campaigns=OnThread(CampaignDesk())) as engine:
        engine.run(carrier.start())  # port 0: a free port of its own, read back
        Trunk.objects.create(name="simulator", host="127.0.0.1", port=carrier.endpoint.port,
                             number_prefixes=["+336"])
        phone_port = free_port()
        register(engine, agent, tmp_path, phone_port)
        phone = Phone(*scenario("agent_phone.xml"), "-key", "callee_rtp", str(agent_rtp.port),
                      cwd=tmp_path, port=phone_port)
        try:
            log_in(agent)
            scrub(timezone.now() - timedelta(days=1))
            # The one who answers last: the agent, then in wrap-up, takes no other call.
            campaign = make_campaign(
                [BUSY, NO_ANSWER, ANSWERS], mode=mode, lines_per_agent=3,
                retry_rules={"busy": {"count": 1, "delay_minutes": 1},
                             "no_answer": {"count": 1, "delay_minutes": 1}})
            services.call_campaign_launch(actor=admin_actor, campaign=campaign,
                                          now=timezone.now())
            # First round: each number dialed once.
            wait_for(lambda: len(outcomes(campaign)) == 3)
            assert outcomes(campaign) == [(BUSY, "busy"), (NO_ANSWER, "no_answer"),
                                          (ANSWERS, "answered")]
            status, output = phone.finish()
            assert status == 0, output[-3000:]  # the agent's phone answered, then got BYE
        finally:
            phone.stop()
            agent_rtp.close()
        answered = DialAttempt.objects.get(campaign=campaign, number=ANSWERS)
        assert answered.agent_id == agent.pk
        # RTP flowed both ways through the bridge: the agent's speech reached the consumer.
        assert agent_rtp.payloads(8)  # the engine sent the agent's phone media
        heard = next(c for c in carrier.calls if c.status == 200)
        assert heard.audio_bytes > 0
        # The agent saves the call's disposition from the workspace.
        services.disposition_set(actor=admin_actor, attempt=answered, code="interested",
                                 now=timezone.now())
        assert CampaignContact.objects.get(campaign=campaign, number=ANSWERS).disposition \
            == "interested"
        retried = CampaignContact.objects.filter(campaign=campaign,
                                                 number__in=[BUSY, NO_ANSWER])
        assert {c.status for c in retried} == {ContactStatus.PENDING}
        # A minute later (the rules' delay) both are dialed once more, then used up.
        clock.shift(timedelta(minutes=1, seconds=5))
        log_in(agent)  # back from wrap-up: progressive dials need a ready agent
        wait_for(lambda: len(outcomes(campaign)) == 5)
        assert outcomes(campaign) == [(BUSY, "busy"), (BUSY, "busy"),
                                      (NO_ANSWER, "no_answer"), (NO_ANSWER, "no_answer"),
                                      (ANSWERS, "answered")]
        wait_for(lambda: {c.status for c in retried.all()} == {ContactStatus.EXHAUSTED})
        # Every call placed is recorded like any outbound call, with its outcome.
        records = wait_for(lambda: list(CallRecord.objects.filter(
            account=admin_actor.account).values_list("direction", "to_number", "disposition"))
            if CallRecord.objects.filter(account=admin_actor.account).count() == 5 else None)
        engine.run(carrier.stop())
    assert sorted(records) == sorted([
        ("outbound", BUSY, "busy"), ("outbound", BUSY, "busy"),
        ("outbound", NO_ANSWER, "no_answer"), ("outbound", NO_ANSWER, "no_answer"),
        ("outbound", ANSWERS, "answered")])
    assert sum(c.callee.endswith(BUSY[1:]) for c in carrier.calls) == 2  # dialed twice
