"""French telemarketing rules at dial time (C-5), at their exact boundaries, with the
moment always given (no clock read)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chappe.dialer.french_rules import (
    BLOCTEL,
    BLOCTEL_STALE,
    CALLER_ID,
    FOUR_IN_30_DAYS,
    HOLIDAY,
    HOURS,
    OPT_IN,
    REFUSAL_60_DAYS,
    Campaign,
    Consumer,
    automated_caller_id,
    consumer_zone,
    dial_refusals,
    next_window,
)

PARIS = ZoneInfo("Europe/Paris")
MAINLAND = "+33123456789"
MARTINIQUE = "+596696201234"
REUNION = "+262692123456"
# Before the opt-in regime, so that the hours and counts are seen alone.
SPRING = datetime(2026, 3, 10, tzinfo=PARIS).date()  # a Tuesday
CONSENTED = datetime(2025, 1, 1, tzinfo=PARIS)
SCRUBBED = datetime(2026, 3, 1, tzinfo=PARIS)
PROSPECTING = Campaign(caller_id="+33162000001", bloctel_scrubbed_at=SCRUBBED)


def at(hms: str, day=SPRING, zone=PARIS) -> datetime:
    return datetime.combine(day, datetime.strptime(hms, "%H:%M:%S").time(), zone)


def rules(consumer: Consumer, when: datetime, campaign: Campaign = PROSPECTING,
          **kw) -> list[str]:
    return [r.rule for r in dial_refusals(consumer, at=when, campaign=campaign, **kw)]


@pytest.mark.parametrize(("hms", "allowed"), [
    ("09:59:59", False), ("10:00:00", True), ("12:59:59", True), ("13:00:00", False),
    ("13:59:59", False), ("14:00:00", True), ("19:59:59", True), ("20:00:00", False),
])
def test_the_slots_at_their_boundaries(hms, allowed):
    assert rules(Consumer(MAINLAND), at(hms)) == ([] if allowed else [HOURS])


def test_friday_evening_is_allowed_and_saturday_is_not_and_the_retry_is_monday():
    friday = SPRING + timedelta(days=3)
    assert rules(Consumer(MAINLAND), at("19:30:00", friday)) == []
    [refusal] = dial_refusals(Consumer(MAINLAND), at=at("11:00:00", friday + timedelta(days=1)),
                              campaign=PROSPECTING)
    assert refusal.rule == HOURS
    assert refusal.retry_at == at("10:00:00", friday + timedelta(days=3))


def test_a_public_holiday_is_refused_and_consent_lifts_hours_and_holidays():
    may_day = datetime(2026, 5, 1, 11, tzinfo=PARIS)  # a Friday
    assert rules(Consumer(MAINLAND), may_day, Campaign(caller_id="+33162000001",
                                                       opt_in=False,
                                                       bloctel_scrubbed_at=may_day)) == [HOLIDAY]
    consenting = Consumer(MAINLAND, consent_at=CONSENTED)
    assert rules(consenting, may_day) == []
    assert rules(consenting, at("21:30:00")) == []


def test_an_overseas_number_is_judged_in_its_own_zone_and_holidays():
    assert consumer_zone(MARTINIQUE) == ZoneInfo("America/Martinique")
    # On 10 March Paris is UTC+1 and Martinique UTC-4: 15:30 in Paris is 10:30 there.
    assert rules(Consumer(MARTINIQUE), at("15:30:00")) == []
    assert rules(Consumer(MARTINIQUE), at("12:00:00")) == [HOURS]  # 07:00 there
    schoelcher = datetime(2026, 7, 21, 11, tzinfo=ZoneInfo("America/Martinique"))
    assert rules(Consumer(MARTINIQUE), schoelcher, Campaign(
        caller_id="+33162000001", opt_in=False, bloctel_scrubbed_at=schoelcher)) == [HOLIDAY]
    # The same day is a working day in mainland France.
    assert rules(Consumer(MAINLAND), schoelcher.replace(tzinfo=PARIS), Campaign(
        caller_id="+33162000001", opt_in=False, bloctel_scrubbed_at=schoelcher)) == []
    assert consumer_zone(REUNION) == ZoneInfo("Indian/Reunion")


def test_daylight_saving_changes_move_the_slots_with_the_wall_clock():
    # Paris moved to summer time on Sunday 29 March 2026: 10:00 is 08:00 UTC after, 09:00
    # UTC before.
    utc = ZoneInfo("UTC")
    friday_before = datetime(2026, 3, 27, 8, 59, 59, tzinfo=utc)  # 09:59:59 in Paris
    monday_after = datetime(2026, 3, 30, 8, 0, tzinfo=utc)  # 10:00 in Paris
    assert rules(Consumer(MAINLAND), friday_before) == [HOURS]
    assert rules(Consumer(MAINLAND), monday_after) == []
    assert next_window(MAINLAND, friday_before) == datetime(2026, 3, 27, 9, tzinfo=utc)


def test_the_fifth_attempt_within_30_days_is_refused_and_allowed_on_day_31():
    first = at("10:00:00")
    attempts = [first + timedelta(days=d) for d in (0, 1, 2, 3)]
    # Consent on file lifts the hours, not the count: only the count is seen here.
    consumer = Consumer(MAINLAND, attempts=attempts, consent_at=CONSENTED)
    day_29 = first + timedelta(days=29)
    [refusal] = dial_refusals(consumer, at=day_29, campaign=PROSPECTING)
    assert refusal.rule == FOUR_IN_30_DAYS
    assert refusal.retry_at == first + timedelta(days=30)
    assert rules(consumer, first + timedelta(days=30)) == []
    assert rules(consumer, first + timedelta(days=30) - timedelta(seconds=1)) == [FOUR_IN_30_DAYS]
    assert rules(Consumer(MAINLAND, attempts=attempts[:3], consent_at=CONSENTED), day_29) == []


def test_a_refusal_locks_the_consumer_out_for_60_days():
    refused = at("11:00:00")
    consumer = Consumer(MAINLAND, refused_at=refused, consent_at=CONSENTED)
    just_before = refused + timedelta(days=60) - timedelta(seconds=1)
    assert REFUSAL_60_DAYS in rules(consumer, just_before)
    assert rules(consumer, refused + timedelta(days=60)) == []


def test_bloctel_registration_and_a_stale_scrub_and_the_contract_exemption():
    now = at("11:00:00")
    assert rules(Consumer(MAINLAND, on_bloctel=True), now) == [BLOCTEL]
    assert rules(Consumer(MAINLAND, on_bloctel=True, ongoing_contract=True), now) == []
    stale = Campaign(caller_id="+33162000001", bloctel_scrubbed_at=now - timedelta(days=31))
    assert rules(Consumer(MAINLAND), now, stale, first_contact=True) == [BLOCTEL_STALE]
    assert rules(Consumer(MAINLAND), now, stale) == []  # numbers already called go on
    never = Campaign(caller_id="+33162000001")
    assert rules(Consumer(MAINLAND), now, never, first_contact=True) == [BLOCTEL_STALE]


def test_opt_in_from_11_august_2026_unless_consent_or_a_contract():
    before = datetime(2026, 8, 10, 11, tzinfo=PARIS)  # a Monday
    after = datetime(2026, 8, 11, 11, tzinfo=PARIS)
    campaign = Campaign(caller_id="+33162000001", bloctel_scrubbed_at=after)
    assert rules(Consumer(MAINLAND), before, campaign) == []
    assert rules(Consumer(MAINLAND), after, campaign) == [OPT_IN]
    assert rules(Consumer(MAINLAND, consent_at=CONSENTED), after, campaign) == []
    assert rules(Consumer(MAINLAND, ongoing_contract=True), after, campaign) == []
    assert rules(Consumer(MAINLAND), after, Campaign(caller_id="+33162000001", opt_in=False,
                                                     bloctel_scrubbed_at=after)) == []


def test_automated_campaigns_present_a_reserved_number_never_a_mobile():
    assert automated_caller_id("+33162000001")
    assert automated_caller_id("+33947512345")
    assert not automated_caller_id("+33612345678")
    assert not automated_caller_id("+33123456789")
    robot = Campaign(caller_id="+33612345678", automated=True, bloctel_scrubbed_at=SCRUBBED)
    assert rules(Consumer(MAINLAND), at("11:00:00"), robot) == [CALLER_ID]
    by_hand = Campaign(caller_id="+33612345678", bloctel_scrubbed_at=SCRUBBED)
    assert rules(Consumer(MAINLAND), at("11:00:00"), by_hand) == []


def test_several_rules_are_named_together_and_foreign_numbers_are_out_of_scope():
    night = at("22:00:00")
    consumer = Consumer(MAINLAND, on_bloctel=True, refused_at=night - timedelta(days=1))
    assert rules(consumer, night) == [HOURS, REFUSAL_60_DAYS, BLOCTEL]
    assert rules(Consumer("+4930123456"), night) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        dial_refusals(consumer, at=night.replace(tzinfo=None), campaign=PROSPECTING)
