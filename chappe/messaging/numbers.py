"""Recipient numbers: normalisation to E.164 with `phonenumbers` (pure).

National forms ("06 12 34 56 78") are read with the account's default country. The
operator is the *original* range holder from phonenumbers' carrier data, not the current
one after porting; it serves the operator-mix check (M-9) and is shown as informational.
"""

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType, carrier

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


@dataclass(frozen=True)
class Recipient:
    e164: str
    country: str
    number_type: str
    operator: str


class InvalidNumber(ValueError):
    """`code` says why: unparsable, invalid."""

    def __init__(self, code: str, raw: str) -> None:
        super().__init__(f"{code}: {raw!r}")
        self.code = code
        self.raw = raw


def normalize(raw: str, *, default_country: str) -> Recipient:
    """E.164 form, country, type and original operator of `raw`, or InvalidNumber."""
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_country.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber("unparsable", raw) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidNumber("invalid", raw)
    return Recipient(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(number) or "",
        number_type=_TYPES.get(phonenumbers.number_type(number), "unknown"),
        operator=carrier.name_for_number(number, "en"),
    )


def e164_or_as_typed(raw: str, *, default_country: str) -> str:
    """How a search box reads a number: in E.164 when it is a valid number ("06 12 34 56
    78" finds +33612345678), else as typed (stripped), so a partial number still works."""
    text = (raw or "").strip()
    try:
        return normalize(text, default_country=default_country).e164
    except InvalidNumber:
        return text
