"""Sender (OADC) rules per destination country (M-2): accept, adapt, override or reject.

Pure: the caller passes the country's rule, the operator's protected-name lists (AF2M
"strictement interdit" SI and "interdit sauf autorisation" ISA) and the names the account
holds a brand authorisation for. An adapted or overridden sender is returned with the
reason, to be recorded on the message.
"""

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class SenderAction(StrEnum):
    ACCEPT = "accept"  # used as given
    ADAPT = "adapt"  # cleaned up to fit the rule (spaces/punctuation removed, shortened)
    OVERRIDE = "override"  # replaced by the country's fallback sender
    REJECT = "reject"  # the message cannot be sent with this sender


class Protection(StrEnum):
    FORBIDDEN = "si"  # strictly forbidden, whoever asks
    AUTHORISATION_REQUIRED = "isa"  # forbidden unless the brand's authorisation is on file


@dataclass(frozen=True)
class SenderRule:
    max_alpha_length: int = 11
    alphanumeric_allowed: bool = True
    # Numeric senders that are short codes (France: 5 digits starting with 3 to 8).
    short_code_pattern: str = r"[3-8]\d{4}"
    # Long numeric senders (international format without '+', 8 to 15 digits).
    long_number_allowed: bool = False
    # Only senders registered beforehand may be used (some countries).
    registered_only: bool = False
    # Used instead of a sender the country cannot accept; None means reject.
    fallback_sender: str | None = None
    # Try to clean up a sender (remove spaces/punctuation, shorten) before overriding.
    adapt: bool = True


FRANCE = SenderRule()
DEFAULT_RULE = SenderRule(short_code_pattern=r"\d{3,8}", long_number_allowed=True)


def rules_from_config(config: dict[str, dict]) -> dict[str, SenderRule]:
    """Rules by country from the operator's settings (`CHAPPE_SENDER_RULES`); "*" is the
    rule for countries not listed."""
    return {country.upper(): SenderRule(**spec) for country, spec in config.items()}

REASONS: dict[str, Promise] = {
    "empty": _("A sender is required."),
    "forbidden": _("This sender name is reserved (AF2M protected list) and cannot be used."),
    "authorisation_required": _(
        "This sender name needs the brand's written authorisation on file before use."
    ),
    "all_digits": _("A numeric sender must be a short code in this country."),
    "alphanumeric_not_supported": _("This country does not accept alphanumeric senders."),
    "invalid_characters": _("Only letters and digits are allowed, without spaces."),
    "too_long": _("The sender is too long for this country."),
    "not_registered": _("This country only accepts senders registered beforehand."),
}


@dataclass(frozen=True)
class SenderDecision:
    action: SenderAction
    requested: str
    # The sender to use; None when rejected.
    sender: str | None
    # Why it was adapted, overridden or rejected ("" when accepted as is).
    reason: str = ""

    @property
    def message(self) -> str:
        return str(REASONS.get(self.reason, ""))


def protection_key(name: str) -> str:
    """How protected names are compared: case- and punctuation-insensitive."""
    return re.sub(r"[^0-9A-Z]", "", name.upper())


def _violation(sender: str, rule: SenderRule, registered: Collection[str]) -> str:
    if sender.isdigit():
        if re.fullmatch(rule.short_code_pattern, sender):
            return ""
        if rule.long_number_allowed and 8 <= len(sender) <= 15:
            return ""
        return "all_digits"
    if not rule.alphanumeric_allowed:
        return "alphanumeric_not_supported"
    if not re.fullmatch(r"[A-Za-z0-9]+", sender):
        return "invalid_characters"
    if len(sender) > rule.max_alpha_length:
        return "too_long"
    if rule.registered_only and sender not in registered:
        return "not_registered"
    return ""


def _protection_problem(
    sender: str, protected: Mapping[str, Protection], authorised: Collection[str]
) -> str:
    key = protection_key(sender)
    level = protected.get(key)
    if level is Protection.FORBIDDEN:
        return "forbidden"
    if level is Protection.AUTHORISATION_REQUIRED and key not in {
        protection_key(name) for name in authorised
    }:
        return "authorisation_required"
    return ""


def check_sender(
    requested: str,
    *,
    rule: SenderRule,
    protected: Mapping[str, Protection] | None = None,
    authorised: Collection[str] = (),
    registered: Collection[str] = (),
) -> SenderDecision:
    """Decide what sender a message to a country with `rule` leaves with.

    `protected` maps `protection_key(name)` to its protection level. A protected name is
    never adapted or overridden into acceptance: it is rejected, since a send trying to
    use it is a likely impersonation."""
    protected = protected or {}
    requested = requested or ""
    if not requested.strip():
        if rule.fallback_sender:
            return SenderDecision(SenderAction.OVERRIDE, requested, rule.fallback_sender, "empty")
        return SenderDecision(SenderAction.REJECT, requested, None, "empty")
    if problem := _protection_problem(requested, protected, authorised):
        return SenderDecision(SenderAction.REJECT, requested, None, problem)
    violation = _violation(requested, rule, registered)
    if not violation:
        return SenderDecision(SenderAction.ACCEPT, requested, requested)
    if rule.adapt and violation in ("invalid_characters", "too_long"):
        ascii_only = unicodedata.normalize("NFKD", requested).encode("ascii", "ignore").decode()
        adapted = re.sub(r"[^A-Za-z0-9]", "", ascii_only)[: rule.max_alpha_length]
        if adapted and not adapted.isdigit() and not _violation(adapted, rule, registered):
            return SenderDecision(SenderAction.ADAPT, requested, adapted, violation)
    if rule.fallback_sender:
        return SenderDecision(SenderAction.OVERRIDE, requested, rule.fallback_sender, violation)
    return SenderDecision(SenderAction.REJECT, requested, None, violation)
