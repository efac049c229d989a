"""The French rules enforced at dial time (C-5) through the campaign's services, with a
frozen clock: a refused dial is logged with its rule and waits until the rule allows it;
an allowed one is an attempt."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from chappe.callcenter.models import CallRecord, Direction
from chappe.common.errors import Conflict, ValidationFailed
from chappe.dialer import french_rules, services
from chappe.dialer.models import CampaignContact, ContactStatus, DialLogEntry, Outcome
from tests.dialer.conftest import MOBILE_CALLER

PARIS = ZoneInfo("Europe/Paris")
MARTINIQUE = ZoneInfo("America/Martinique")
CONSUMER = "+33612345678"
MQ_CONSUMER = "+596696201234"
MONDAY = datetime(2026, 3, 16, tzinfo=PARIS).date()  # before the opt-in regime
# Retry quickly on busy, many times: the attempts counted are the tests' business.
EAGER = {"busy": {"count": 10, "delay_minutes": 1}}

pytestmark = pytest.mark.django_db


def paris(day, hms: str, zone=PARIS) -> datetime:
    return datetime.combine(day, datetime.strptime(hms, "%H:%M:%S").time(), zone)


def dial(campaign, at: datetime):
    """One dial of the campaign's due consumers with the clock frozen at `at`."""
    with time_machine.travel(at, tick=False):
        campaign.refresh_from_db()
        return services.dials_claim(campaign=campaign, now=timezone.now(), limit=10,
                                    holder="test")


def launched(make_campaign, admin_actor, scrub, at: datetime, numbers=(CONSUMER,), **fields):
    scrub(at - timedelta(days=1))
    campaign = make_campaign(numbers, retry_rules=EAGER, **fields)
    return services.call_campaign_launch(actor=admin_actor, campaign=campaign, now=at)


def rules_logged(campaign) -> list[str]:
    return list(DialLogEntry.objects.filter(campaign=campaign).values_list("rule", flat=True))


@pytest.mark.parametrize(("local", "allowed"), [
    ("09:59:59", False), ("10:00:00", True), ("12:59:59", True), ("13:00:00", False),
    ("13:59:59", False), ("14:00:00", True), ("19:59:59", True), ("20:00:00", False)])
def test_calling_hours_to_the_second(make_campaign, admin_actor, scrub, local, allowed):
    at = paris(MONDAY, local)
    campaign = launched(make_campaign, admin_actor, scrub, at)
    dials = dial(campaign, at)
    assert bool(dials) is allowed
    if not allowed:
        entry = DialLogEntry.objects.get(campaign=campaign)
        assert (entry.rule, entry.number) == (french_rules.HOURS, CONSUMER)
        waiting = CampaignContact.objects.get(campaign=campaign)
        assert waiting.status == ContactStatus.PENDING
        assert waiting.next_attempt_at == entry.retry_at
        assert dial(campaign, entry.retry_at - timedelta(seconds=1)) == []
        assert len(dial(campaign, entry.retry_at)) == 1  # the slot opens: dialed


def test_friday_evening_to_saturday(make_campaign, admin_actor, scrub):
    friday = paris(MONDAY + timedelta(days=4), "19:59:59")
    campaign = launched(make_campaign, admin_actor, scrub, friday,
                        numbers=(CONSUMER, "+33612345679"))
    with time_machine.travel(friday, tick=False):
        assert len(services.dials_claim(campaign=campaign, now=timezone.now(), limit=1,
                                        holder="t")) == 1
    saturday = paris(MONDAY + timedelta(days=5), "11:00:00")
    assert dial(campaign, saturday) == []
    entry = DialLogEntry.objects.get(campaign=campaign)
    assert entry.rule == french_rules.HOURS
    assert entry.retry_at == paris(MONDAY + timedelta(days=7), "10:00:00")  # Monday 10:00


def test_public_holiday(make_campaign, admin_actor, scrub):
    may_day = paris(datetime(2026, 5, 1).date(), "11:00:00")  # a Friday
    campaign = launched(make_campaign, admin_actor, scrub, may_day)
    assert dial(campaign, may_day) == []
    assert rules_logged(campaign) == [french_rules.HOLIDAY]


def test_overseas_number_in_its_own_time_zone(make_campaign, admin_actor, scrub):
    # 15:00 in Paris is 10:00 in Martinique (UTC-4; Paris UTC+1 in March).
    opening = paris(MONDAY, "10:00:00", MARTINIQUE)
    campaign = launched(make_campaign, admin_actor, scrub, opening - timedelta(seconds=1),
                        numbers=(MQ_CONSUMER,))
    assert dial(campaign, opening - timedelta(seconds=1)) == []
    assert rules_logged(campaign) == [french_rules.HOURS]
    assert opening.astimezone(PARIS).hour == 15
    assert len(dial(campaign, opening)) == 1


def test_daylight_saving_change(make_campaign, admin_actor, scrub):
    # Clocks went forward on Sunday 29 March 2026: 10:00 in Paris is now 08:00 UTC.
    monday = paris(datetime(2026, 3, 30).date(), "10:00:00")
    assert monday.utcoffset() == timedelta(hours=2)
    campaign = launched(make_campaign, admin_actor, scrub, monday - timedelta(seconds=1))
    assert dial(campaign, monday - timedelta(seconds=1)) == []
    assert len(dial(campaign, monday)) == 1


def busy(dials, at):
    for d in dials:
        services.dial_finish(attempt_id=d.attempt_id, outcome=Outcome.BUSY, now=at)


def test_fifth_attempt_in_30_days_refused_counting_manual_calls(make_campaign, admin_actor,
                                                                scrub, account):
    first = paris(datetime(2026, 3, 2).date(), "10:00:00")  # a Monday
    campaign = launched(make_campaign, admin_actor, scrub, first)
    for day in (0, 1, 3):  # Monday, Tuesday, Thursday: busy each time
        at = first + timedelta(days=day)
        dials = dial(campaign, at)
        assert len(dials) == 1
        busy(dials, at)
    # An agent's manual call on Wednesday counts as well (a call record, no campaign).
    CallRecord.objects.create(account=account, sip_call_id="manual-1",
                              direction=Direction.OUTBOUND, from_number=MOBILE_CALLER,
                              to_number=CONSUMER, started_at=first + timedelta(days=2))
    friday = first + timedelta(days=4)
    assert dial(campaign, friday) == []
    entry = DialLogEntry.objects.get(campaign=campaign, rule=french_rules.FOUR_IN_30_DAYS)
    assert entry.details == {"attempts": "4"}
    # The oldest of the four leaves the 30 days 30 times 24 h later (on day 31; 11:00 in
    # Paris, summer time having begun meanwhile).
    assert entry.retry_at == first.astimezone(UTC) + timedelta(days=30)
    assert dial(campaign, entry.retry_at - timedelta(seconds=1)) == []
    assert len(dial(campaign, entry.retry_at)) == 1


def test_refusal_blocks_every_campaign_for_60_days(make_campaign, admin_actor, scrub):
    at = paris(MONDAY, "11:00:00")
    first = launched(make_campaign, admin_actor, scrub, at)
    (answered,) = dial(first, at)
    attempt = services.dial_finish(attempt_id=answered.attempt_id, outcome=Outcome.ANSWERED,
                                   now=at + timedelta(minutes=2), answered_at=at)
    services.disposition_set(actor=admin_actor, attempt=attempt, code="refused",
                             now=at + timedelta(minutes=3))
    assert CampaignContact.objects.get(campaign=first).excluded_reason == \
        french_rules.REFUSAL_60_DAYS
    later = at + timedelta(days=58)  # a Wednesday (the next day is Ascension)
    scrub(later - timedelta(days=1))
    second = services.call_campaign_launch(
        actor=admin_actor, campaign=make_campaign([CONSUMER], name="Again"), now=later)
    assert dial(second, later) == []
    entry = DialLogEntry.objects.get(campaign=second)
    lifted = at.astimezone(UTC) + timedelta(days=60)
    assert (entry.rule, entry.retry_at) == (french_rules.REFUSAL_60_DAYS, lifted)
    assert len(dial(second, lifted)) == 1


def test_bloctel_numbers_excluded_at_launch_but_contracts_kept(make_campaign, admin_actor,
                                                               scrub, account):
    at = paris(MONDAY, "11:00:00")
    services.contract_exempt(actor=admin_actor, account=account, number="0612345679",
                             reference="Contract 42")
    scrub(at - timedelta(days=2), numbers=["0612345678", "+33612345679"])
    campaign = services.call_campaign_launch(
        actor=admin_actor, campaign=make_campaign([CONSUMER, "+33612345679", "+33612345670"]),
        now=at)
    excluded = CampaignContact.objects.get(campaign=campaign, number=CONSUMER)
    assert (excluded.status, excluded.excluded_reason) == (ContactStatus.EXCLUDED,
                                                           french_rules.BLOCTEL)
    assert rules_logged(campaign) == [french_rules.BLOCTEL]
    assert sorted(d.number for d in dial(campaign, at)) == ["+33612345670", "+33612345679"]


def test_launch_needs_a_fresh_scrub(make_campaign, admin_actor, scrub):
    at = paris(MONDAY, "11:00:00")
    scrub(at - timedelta(days=31))
    with pytest.raises(Conflict) as refused:
        services.call_campaign_launch(actor=admin_actor, campaign=make_campaign([CONSUMER]),
                                      now=at)
    assert refused.value.code == "bloctel_scrub_required"


def test_stale_scrub_stops_new_numbers_until_a_fresh_one(make_campaign, admin_actor, scrub):
    at = paris(MONDAY, "11:00:00")
    campaign = launched(make_campaign, admin_actor, scrub, at,
                        numbers=(CONSUMER, "+33612345679"))
    with time_machine.travel(at, tick=False):
        (called,) = services.dials_claim(campaign=campaign, now=at, limit=1, holder="t")
    busy([called], at)  # retried a minute later… 30 days later, the scrub is 31 days old
    stale = at + timedelta(days=30)  # a Wednesday, 11:00
    dials = dial(campaign, stale)
    assert [d.number for d in dials] == [called.number]  # only the one already called
    campaign.refresh_from_db()
    assert campaign.hold_reason == french_rules.BLOCTEL_STALE
    assert rules_logged(campaign) == [french_rules.BLOCTEL_STALE]
    scrub(stale + timedelta(minutes=1))
    assert len(dial(campaign, stale + timedelta(minutes=2))) == 1
    campaign.refresh_from_db()
    assert campaign.hold_reason == ""


def test_consent_lifts_the_hours_not_the_counts(make_campaign, admin_actor, scrub, account):
    evening = paris(MONDAY, "21:00:00")
    services.consent_record(actor=admin_actor, account=account, number=CONSUMER,
                            given_at=evening - timedelta(days=10), source="web form",
                            proof="form #123, IP 192.0.2.7")
    campaign = launched(make_campaign, admin_actor, scrub, evening,
                        numbers=(CONSUMER, "+33612345679"))
    assert [d.number for d in dial(campaign, evening)] == [CONSUMER]
    assert rules_logged(campaign) == [french_rules.HOURS]


OPT_IN_DAY = datetime(2026, 8, 11).date()  # a Tuesday


@pytest.mark.parametrize(("moment", "refused"), [
    (paris(OPT_IN_DAY - timedelta(days=1), "11:00:00"), False),
    (paris(OPT_IN_DAY, "11:00:00"), True)])
def test_opt_in_from_11_august_2026(make_campaign, admin_actor, scrub, moment, refused):
    campaign = launched(make_campaign, admin_actor, scrub, moment)
    assert (dial(campaign, moment) == []) is refused
    assert rules_logged(campaign) == ([french_rules.OPT_IN] if refused else [])


def test_opt_in_exemptions(make_campaign, admin_actor, scrub, account):
    at = paris(OPT_IN_DAY + timedelta(days=1), "11:00:00")
    services.consent_record(actor=admin_actor, account=account, number="+33612345671",
                            given_at=at - timedelta(days=100), source="shop",
                            proof="signed form")
    services.contract_exempt(actor=admin_actor, account=account, number="+33612345672",
                             reference="subscriber 9")
    campaign = launched(make_campaign, admin_actor, scrub, at,
                        numbers=(CONSUMER, "+33612345671", "+33612345672"))
    assert sorted(d.number for d in dial(campaign, at)) == ["+33612345671", "+33612345672"]
    refused = CampaignContact.objects.get(campaign=campaign, number=CONSUMER)
    assert (refused.status, refused.excluded_reason) == (ContactStatus.EXCLUDED,
                                                         french_rules.OPT_IN)


def test_opt_in_off_for_the_account(make_campaign, admin_actor, scrub, account):
    services.dialer_policy_set(actor=admin_actor, account=account, opt_in=False)
    at = paris(OPT_IN_DAY, "11:00:00")
    campaign = launched(make_campaign, admin_actor, scrub, at)
    assert len(dial(campaign, at)) == 1


def test_automated_campaign_presents_an_arcep_number(make_campaign, admin_actor, scrub):
    at = paris(MONDAY, "11:00:00")
    scrub(at)
    with pytest.raises(ValidationFailed) as refused:
        services.call_campaign_launch(
            actor=admin_actor, campaign=make_campaign([CONSUMER], caller_id=MOBILE_CALLER),
            now=at)
    assert "caller_id" in refused.value.details
    preview = make_campaign([CONSUMER], caller_id=MOBILE_CALLER, mode="preview")
    assert services.call_campaign_launch(actor=admin_actor, campaign=preview, now=at).state \
        == "running"


def test_dial_time_caller_id_check_is_logged(make_campaign, admin_actor, scrub):
    at = paris(MONDAY, "11:00:00")
    campaign = launched(make_campaign, admin_actor, scrub, at)
    type(campaign).objects.filter(pk=campaign.pk).update(caller_id=MOBILE_CALLER)
    assert dial(campaign, at) == []
    assert rules_logged(campaign) == [french_rules.CALLER_ID]
