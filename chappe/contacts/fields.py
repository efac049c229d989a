"""Contact values: validation and normalisation of the built-in and custom fields (pure).

One function, `clean_contact`, checks the values of one contact the same way for the API,
the web forms and every row of an import: the mobile number in E.164 (with the account's
default country), the e-mail syntax, lengths, and each custom field by its type.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from chappe.common.numbers import InvalidNumber, ParsedNumber, normalize, number_facts

# The built-in fields, in display order, with their maximum length.
BUILTIN_FIELDS: dict[str, int] = {
    "mobile": 20,
    "first_name": 100,
    "last_name": 100,
    "company": 200,
    "phone": 32,
    "email": 254,
    "address": 300,
    "city": 100,
    "country": 60,
}
TEXT_FIELDS = tuple(name for name in BUILTIN_FIELDS if name != "mobile")
CUSTOM_PREFIX = "custom:"
CUSTOM_TEXT_MAX = 500
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
# Keys a custom field may not take: the built-in fields, and names campaigns use.
RESERVED_KEYS = frozenset(BUILTIN_FIELDS) | {"id", "lists", "custom", "created_at",
                                             "updated_at", "number", "full_name"}

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d/%m/%y")
_SPACES = re.compile(r"[\s\u00a0\u202f']")


@dataclass(frozen=True)
class FieldSpec:
    """What validation needs of a custom field."""

    key: str
    type: str
    choices: tuple[str, ...] = ()
    label: str = ""


class FieldValueError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Cleaned:
    """The values of one contact as they will be stored, or the errors found (by field).

    Only the fields given are in `values` (an empty string clears a field); `custom`
    holds the custom values given (None clears one)."""

    values: dict[str, str] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    # (country, original operator) of the mobile number when one was given and valid.
    mobile_facts: tuple[str, str] = ("", "")

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, name: str, code: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)
        self.codes.setdefault(name, code)


def text_of(value: Any) -> str:
    """A cell or a JSON value as text: numbers without a spurious ".0" (a spreadsheet
    stores 0612345678 as the number 612345678.0), dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def validate_key(key: str) -> str | None:
    """Why `key` cannot name a custom field, or None."""
    if not KEY_PATTERN.fullmatch(key or ""):
        return _("Lower-case letters, digits and underscores, starting with a letter "
                 "(at most 40).")
    if key in RESERVED_KEYS:
        return _("“%(key)s” is a built-in field name.") % {"key": key}
    return None


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise FieldValueError("invalid_number", _("Not a number."))
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        number = Decimal(str(value))
    else:
        text = _SPACES.sub("", str(value))
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")  # 12,5 (French decimal comma)
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise FieldValueError("invalid_number", _("Not a number.")) from None
    if not number.is_finite():
        raise FieldValueError("invalid_number", _("Not a number."))
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if "T" in text or " " in text:  # 2024-03-01T00:00:00, 2024-03-01 00:00:00
        text = re.split(r"[T ]", text, maxsplit=1)[0]
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    raise FieldValueError("invalid_date", _("Not a date (use YYYY-MM-DD or DD/MM/YYYY)."))


def coerce_custom(spec: FieldSpec, value: Any) -> Any:
    """The stored form of a custom field value, or FieldValueError. Empty gives None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    match spec.type:
        case "number":
            return _number(value)
        case "date":
            return _date(value)
        case "choice":
            text = text_of(value)
            for choice in spec.choices:
                if choice.casefold() == text.casefold():
                    return choice
            raise FieldValueError("invalid_choice", _("Not one of: %(choices)s.") % {
                "choices": ", ".join(spec.choices)})
        case _:
            text = text_of(value)
            if len(text) > CUSTOM_TEXT_MAX:
                raise FieldValueError("too_long", _("At most %(n)d characters.") % {
                    "n": CUSTOM_TEXT_MAX})
            return text


def _mobile(raw: str, *, default_country: str) -> ParsedNumber:
    if not raw:
        raise FieldValueError("required", _("The mobile number is required."))
    try:
        return normalize(raw, default_country=default_country)
    except InvalidNumber as exc:
        raise FieldValueError(
            "invalid_number",
            _("Not a valid phone number.") if exc.code == "invalid"
            else _("Not a phone number."),
        ) from None


def normalize_mobile(raw: str, *, default_country: str) -> str:
    """E.164 of a mobile number typed in any usual form, or FieldValueError."""
    return _mobile(raw, default_country=default_country).e164


def _facts(number: ParsedNumber) -> tuple[str, str]:
    # Non-geographic numbers (+800…) have no ISO country ("001"): not SMS destinations.
    return (number.country if len(number.country) == 2 else "", number.operator)


def mobile_facts(mobile: str) -> tuple[str, str]:
    """(ISO country, original operator) of a stored mobile number in E.164, or ("", "")
    when it is not one (a number stored raw before normalisation)."""
    facts = number_facts(mobile)
    return _facts(facts) if facts else ("", "")


def normalize_phone(raw: str, *, default_country: str) -> str:
    """The other phone number: E.164 when it is one, else kept as typed (an extension)."""
    try:
        return normalize(raw, default_country=default_country).e164
    except InvalidNumber:
        return raw


def clean_contact(
    values: Mapping[str, Any],
    *,
    custom: Mapping[str, Any] | None = None,
    specs: Mapping[str, FieldSpec],
    default_country: str,
    require_mobile: bool = True,
) -> Cleaned:
    """Check and normalise one contact's values (built-in by name, custom by key)."""
    out = Cleaned()
    for name, raw in values.items():
        if name not in BUILTIN_FIELDS:
            out.fail(name, "unknown_field", _("Unknown field."))
            continue
        text = text_of(raw)
        if name == "mobile":
            continue
        if len(text) > BUILTIN_FIELDS[name]:
            out.fail(name, "too_long", _("At most %(n)d characters.") % {
                "n": BUILTIN_FIELDS[name]})
            continue
        if text and name == "email":
            try:
                validate_email(text)
            except DjangoValidationError:
                out.fail(name, "invalid_email", _("Not a valid e-mail address."))
                continue
        if text and name == "phone":
            text = normalize_phone(text, default_country=default_country)
        out.values[name] = text
    if "mobile" in values or require_mobile:
        try:
            number = _mobile(text_of(values.get("mobile")), default_country=default_country)
        except FieldValueError as exc:
            out.fail("mobile", exc.code, exc.message)
        else:
            out.values["mobile"] = number.e164
            out.mobile_facts = _facts(number)
    for key, raw in (custom or {}).items():
        spec = specs.get(key)
        if spec is None:
            out.fail(f"custom.{key}", "unknown_field", _("No custom field “%(key)s”.") % {
                "key": key})
            continue
        try:
            out.custom[key] = coerce_custom(spec, raw)
        except FieldValueError as exc:
            out.fail(f"custom.{key}", exc.code, exc.message)
    return out


def merged_custom(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`current` custom values with `changes` applied (None removes a value)."""
    result = dict(current)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result
