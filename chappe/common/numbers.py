"""Phone numbers: the one module that parses, normalises and classifies them, with
`phonenumbers` (nothing else imports it).

National forms ("06 12 34 56 78") are read with a default country that the caller always
passes (the account's country; "ZZ" when only international forms are acceptable). The
type is one vocabulary for every product (SMS rating, voice rating, number catalogue):
`fixed_or_mobile` is what phonenumbers says of ranges that do not tell (North America),
never guessed as one or the other. The operator is the *original* range holder from
phonenumbers' carrier data, not the current one after porting; it serves the operator-mix
check (M-9) and is shown as informational.
"""

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, carrier
from phonenumbers import timezone as number_zones

# Countries (ISO 3166 alpha-2) whose numbering plans are known.
REGIONS: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)
# "No default country": only international forms (+…, 00…) parse.
INTERNATIONAL_ONLY = "ZZ"

_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
# The types whose carrier phonenumbers knows (its `carrier._is_mobile`).
_CARRIER_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE,
                            PhoneNumberType.PAGER})


@dataclass(frozen=True)
class ParsedNumber:
    e164: str
    # ISO country of the number ("" for non-geographic ranges).
    country: str
    # One of the values of `_TYPES`, or "unknown".
    number_type: str
    # The original range holder ("" when phonenumbers does not know it).
    operator: str
    # The national significant number, digits only ("612345678" for +33612345678).
    national_digits: str
    # The national form as dialled in its country, digits only ("0612345678").
    national_dialled: str


class InvalidNumber(ValueError):
    """`code` says why: unparsable, invalid."""

    def __init__(self, code: str, raw: str) -> None:
        super().__init__(f"{code}: {raw!r}")
        self.code = code
        self.raw = raw


def normalize(raw: str, *, default_country: str) -> ParsedNumber:
    """E.164 form, country, type and original operator of `raw`, or InvalidNumber."""
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_country.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber("unparsable", raw) from exc
    # The type is matched once: phonenumbers' own is_valid_number and carrier lookup each
    # match it again (a valid number is one whose type is known), and that matching was
    # most of the cost of accepting a message.
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        raise InvalidNumber("invalid", raw)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return ParsedNumber(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(number) or "",
        number_type=_TYPES.get(kind, "unknown"),
        operator=(carrier.name_for_valid_number(number, "en") if kind in _CARRIER_TYPES
                  else ""),
        national_digits=str(number.national_number),
        national_dialled="".join(ch for ch in national if ch.isdigit()),
    )


def number_facts(e164: str) -> ParsedNumber | None:
    """What is known of a stored E.164 number, or None when it is not a valid one (a
    number kept as typed, an erased placeholder)."""
    if not (e164 or "").startswith("+"):
        return None
    try:
        return normalize(e164, default_country=INTERNATIONAL_ONLY)
    except InvalidNumber:
        return None


def number_place(e164: str) -> tuple[str, tuple[str, ...]]:
    """(ISO region, IANA time zones) of a number: the region phonenumbers places it in,
    else its calling code's main one ("" when unparsable); the zones it knows for the
    number's range (none when it does not)."""
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return "", ()
    region = (phonenumbers.region_code_for_number(number)
              or phonenumbers.region_code_for_country_code(number.country_code))
    zones = tuple(z for z in number_zones.time_zones_for_number(number) if z != "Etc/Unknown")
    return (region if region != "ZZ" else ""), zones


def e164_or_as_typed(raw: str, *, default_country: str) -> str:
    """How a search box reads a number: in E.164 when it is a valid number ("06 12 34 56
    78" finds +33612345678), else as typed (stripped), so a partial number still works."""
    text = (raw or "").strip()
    try:
        return normalize(text, default_country=default_country).e164
    except InvalidNumber:
        return text


def written_forms(e164: str) -> list[str]:
    """The ways a stored number may be written by people and carriers: E.164, without the
    plus, with 00, and its national form ("0612345678") — what an erasure must find."""
    digits = e164.lstrip("+")
    forms = [e164, digits, "00" + digits]
    facts = number_facts(e164)
    if facts is not None and facts.national_dialled not in forms:
        forms.append(facts.national_dialled)
    return forms


def dialled_e164(dialled: str, *, default_country: str) -> str:
    """The E.164 form of what a caller or a trunk dialled (a SIP Request-URI user part:
    "+33…", "0033…", "33…", "0…"), or "" when it is no valid number. Digits without a
    prefix are read as international first (trunks send "33…"), then as national."""
    text = "".join(ch for ch in (dialled or "") if ch.isdigit() or ch == "+")
    if not text.strip("+"):
        return ""
    candidates = [text] if text.startswith(("+", "00")) else ["+" + text, text]
    for candidate in candidates:
        try:
            return normalize(candidate, default_country=default_country).e164
        except InvalidNumber:
            continue
    return ""
