"""Checks on account details (company identifiers, time zone, countries)."""

import re
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from chappe.common.errors import ValidationFailed
from chappe.common.numbers import REGIONS

_VAT = re.compile(r"^[A-Z]{2}[0-9A-Z]{2,13}$")
_COUNTRIES = REGIONS


def siret_is_valid(siret: str) -> bool:
    """A SIRET is 14 digits passing the Luhn check (La Poste's establishments, SIREN
    356000000, use a digit-sum rule instead; its head office, 35600000000048, is Luhn)."""
    if not re.fullmatch(r"\d{14}", siret):
        return False
    if siret.startswith("356000000") and sum(int(d) for d in siret) % 5 == 0:
        return True
    total = 0
    for index, char in enumerate(reversed(siret)):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def validate_account_fields(fields: dict[str, Any]) -> None:
    """Raise ValidationFailed listing every bad field among those given."""
    errors: dict[str, list[str]] = {}
    siret = fields.get("siret")
    if siret:
        fields["siret"] = siret = re.sub(r"\s", "", siret)
        if not siret_is_valid(siret):
            errors["siret"] = [_("A SIRET is 14 digits with a valid check digit.")]
    vat = fields.get("vat_number")
    if vat:
        fields["vat_number"] = vat = re.sub(r"\s", "", vat).upper()
        if not _VAT.match(vat):
            errors["vat_number"] = [_("Enter an intra-community VAT number, e.g. FR12345678901.")]
    for key in ("country", "default_country"):
        if key in fields:
            fields[key] = value = (fields[key] or "").upper()
            if value not in _COUNTRIES:
                errors[key] = [_("Enter a two-letter ISO country code, e.g. FR.")]
    if "timezone" in fields:
        try:
            zoneinfo.ZoneInfo(fields["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            errors["timezone"] = [_("Enter an IANA time zone, e.g. Europe/Paris.")]
    for key in ("billing_email", "dpo_email"):
        if fields.get(key):
            try:
                validate_email(fields[key])
            except DjangoValidationError:
                errors[key] = [_("Enter a valid e-mail address.")]
    if errors:
        raise ValidationFailed(details=errors)
