"""French telemarketing rules (SPEC C-5), enforced at dial time: a pure function of the
consumer's record, the moment and the campaign, naming every rule that refuses the dial.

Sources (``reference/contact-center.md`` §4.3):

* Code de la consommation art. D.223-9 (décret 2022-1313, in force 1 March 2023):
  commercial calls only Monday to Friday, 10:00-13:00 and 14:00-20:00 in the consumer's
  time zone, never on a public holiday — outside these, only with the consumer's prior,
  express and provable consent; at most **4 calls or attempts in 30 calendar days** to the
  same consumer; after a refusal in the conversation, **no contact or attempt for 60
  days**.
* Bloctel (art. L.223-1): no commercial call to a registered consumer except under an
  ongoing contract; the files are scrubbed before each campaign and at least monthly.
* The opt-in regime from **11 August 2026**: a commercial call needs the consumer's
  consent unless it concerns an ongoing contract.
* ARCEP's numbering plan (1 January 2023): automated calling systems present numbers
  from ranges reserved for them, never a mobile number.

The consumer's time zone and public holidays come from the number: mainland France and
each overseas department or community have their own (phonenumbers' time-zone data and
the ``holidays`` package's French subdivisions). Numbers outside France are not under
these rules (their own country's law applies; out of scope here).

Intervals are half-open, as a clock reads them: 12:59:59 is inside the morning slot,
13:00:00 is not; an attempt counts for 30 times 24 hours, so the 5th attempt is allowed again
exactly 30 days after the oldest of the four.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from chappe.common.holidays_fr import is_french_holiday
from chappe.common.numbers import number_place

HOURS = "C-5 hours"
HOLIDAY = "C-5 public-holiday"
FOUR_IN_30_DAYS = "C-5 4-in-30-days"
REFUSAL_60_DAYS = "C-5 60-day-refusal"
BLOCTEL = "C-5 bloctel"
BLOCTEL_STALE = "C-5 bloctel-scrub-stale"
OPT_IN = "C-5 opt-in"
CALLER_ID = "C-5 caller-id"

SLOTS = ((time(10), time(13)), (time(14), time(20)))
ATTEMPTS_WINDOW = timedelta(days=30)
MAX_ATTEMPTS = 4
REFUSAL_LOCKOUT = timedelta(days=60)
SCRUB_VALIDITY = timedelta(days=30)
OPT_IN_FROM = datetime(2026, 8, 11, tzinfo=ZoneInfo("Europe/Paris"))

# Region (phonenumbers) → (time zone, subdivision of `holidays.France`, or "" for the
# national list). Mainland numbers cannot tell Alsace-Moselle: the national list applies.
FRENCH_REGIONS: dict[str, tuple[str, str]] = {
    "FR": ("Europe/Paris", ""),
    "GP": ("America/Guadeloupe", "971"),
    "MQ": ("America/Martinique", "972"),
    "GF": ("America/Cayenne", "973"),
    "RE": ("Indian/Reunion", "974"),
    "YT": ("Indian/Mayotte", "976"),
    "BL": ("America/St_Barthelemy", "BL"),
    "MF": ("America/Marigot", "MF"),
    "PM": ("America/Miquelon", "PM"),
    "NC": ("Pacific/Noumea", "NC"),
    "PF": ("Pacific/Tahiti", "PF"),
    "WF": ("Pacific/Wallis", "WF"),
}

# ARCEP: national significant numbers (after +33) reserved for automated calling systems.
AUTOMATED_CALLER_PREFIXES = ("162", "163", "270", "271", "377", "378", "424", "425", "568",
                             "569", "948", "949", "9475", "9476", "9477", "9478", "9479")


@dataclass(frozen=True)
class Consumer:
    """What the account knows of the person called, at the moment of the dial."""

    number: str  # E.164
    # Calls and attempts by the account to this number (every campaign and manual call).
    attempts: Sequence[datetime] = ()
    consent_at: datetime | None = None  # prior, explicit consent on file
    refused_at: datetime | None = None  # the last refusal disposition
    ongoing_contract: bool = False
    on_bloctel: bool = False


@dataclass(frozen=True)
class Campaign:
    """What of the campaign (or manual call) decides which rules apply."""

    caller_id: str  # E.164 presented
    commercial: bool = True
    automated: bool = False  # progressive or predictive: a machine places the call
    opt_in: bool = True  # the account's setting, on by default for France
    bloctel_scrubbed_at: datetime | None = None


@dataclass(frozen=True)
class Refusal:
    rule: str
    # The first moment this rule would allow the dial (None: not by waiting).
    retry_at: datetime | None = None
    details: dict[str, str] = field(default_factory=dict)


@cache
def _region(number: str) -> str | None:
    region, _zones = number_place(number)
    return region if region in FRENCH_REGIONS else None


def is_french(number: str) -> bool:
    return _region(number) is not None


def consumer_zone(number: str) -> ZoneInfo:
    """The consumer's time zone, from the number (Europe/Paris for what cannot tell)."""
    region = _region(number)
    if region is None:
        return ZoneInfo("Europe/Paris")
    _region_again, zones = number_place(number)
    if len(zones) == 1 and zones[0] in {zone for zone, _subdivision in FRENCH_REGIONS.values()}:
        return ZoneInfo(zones[0])
    return ZoneInfo(FRENCH_REGIONS[region][0])


def public_holiday(number: str, day: date) -> bool:
    region = _region(number) or "FR"
    return is_french_holiday(day, FRENCH_REGIONS[region][1])


def in_window(number: str, at: datetime) -> bool:
    """Inside D.223-9's slots, in the consumer's zone, on a working day."""
    local = at.astimezone(consumer_zone(number))
    if local.weekday() >= 5 or public_holiday(number, local.date()):
        return False
    return any(start <= local.time() < end for start, end in SLOTS)


def next_window(number: str, after: datetime) -> datetime:
    """The first moment at or after `after` inside the slots (in UTC-aware form)."""
    zone = consumer_zone(number)
    local = after.astimezone(zone)
    for offset in range(0, 30):
        day = local.date() + timedelta(days=offset)
        if day.weekday() >= 5 or public_holiday(number, day):
            continue
        for start, end in SLOTS:
            opens = datetime.combine(day, start, zone)
            closes = datetime.combine(day, end, zone)
            if closes <= local:
                continue
            return max(opens, local)
    raise ValueError(f"no calling slot within 30 days of {after}")  # pragma: no cover


def _has_consent(consumer: Consumer, at: datetime) -> bool:
    return consumer.consent_at is not None and consumer.consent_at <= at


def dial_refusals(consumer: Consumer, *, at: datetime, campaign: Campaign,
                  first_contact: bool = False) -> list[Refusal]:
    """Every rule that refuses dialing `consumer` at `at` for `campaign` (empty: allowed).
    `first_contact`: the campaign has not called this consumer yet (a stale Bloctel scrub
    stops new numbers only)."""
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    if not is_french(consumer.number):
        return []
    refusals: list[Refusal] = []
    consent = _has_consent(consumer, at)
    if campaign.commercial and not consent:
        local = at.astimezone(consumer_zone(consumer.number))
        if public_holiday(consumer.number, local.date()):
            refusals.append(Refusal(HOLIDAY, next_window(consumer.number, at),
                                    {"date": local.date().isoformat()}))
        elif not in_window(consumer.number, at):
            refusals.append(Refusal(HOURS, next_window(consumer.number, at),
                                    {"local_time": local.strftime("%a %H:%M:%S")}))
    recent = sorted(t for t in consumer.attempts if at - ATTEMPTS_WINDOW < t <= at)
    if campaign.commercial and len(recent) >= MAX_ATTEMPTS:
        refusals.append(Refusal(FOUR_IN_30_DAYS,
                                recent[len(recent) - MAX_ATTEMPTS] + ATTEMPTS_WINDOW,
                                {"attempts": str(len(recent))}))
    if (campaign.commercial and consumer.refused_at is not None
            and consumer.refused_at <= at < consumer.refused_at + REFUSAL_LOCKOUT):
        refusals.append(Refusal(REFUSAL_60_DAYS, consumer.refused_at + REFUSAL_LOCKOUT))
    if campaign.commercial and not consumer.ongoing_contract:
        if consumer.on_bloctel:
            refusals.append(Refusal(BLOCTEL))
        elif first_contact and (campaign.bloctel_scrubbed_at is None
                                or at - campaign.bloctel_scrubbed_at > SCRUB_VALIDITY):
            refusals.append(Refusal(BLOCTEL_STALE))
        if campaign.opt_in and at >= OPT_IN_FROM and not consent:
            refusals.append(Refusal(OPT_IN))
    if campaign.commercial and campaign.automated and not automated_caller_id(
            campaign.caller_id):
        refusals.append(Refusal(CALLER_ID, details={"caller_id": campaign.caller_id}))
    return refusals


def automated_caller_id(number: str) -> bool:
    """A number ARCEP reserves for automated calling systems (+33 and one of the ranges;
    a mobile 06/07 never is)."""
    return number.startswith("+33") and number[3:].startswith(AUTOMATED_CALLER_PREFIXES)
