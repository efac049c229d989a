"""What every app uses to take a phone number out of the rows it keeps (P-9, P-12;
decisions 0018, 0020): the mark left in place of erased text, the forms a number takes in
free text, a JSON scrub and a search of a column's text.

Each app erases its own copies with these (contacts, messaging, webhooks, the audit trail,
the contact center, campaigns); `chappe.privacy.rights` calls them in one transaction.
"""

from typing import Any

from django.db.models import Model, Q, QuerySet, TextField
from django.db.models.functions import Cast

from chappe.common.numbers import number_facts

ERASED = "[erased]"


def number_variants(e164: str) -> list[str]:
    """How the number may appear in free text: E.164, and its national digits (last)."""
    facts = number_facts(e164)
    national = facts.national_digits if facts else ""
    return [e164, national] if len(national) >= 6 else [e164]


def scrub(value: Any, variants: list[str], keys: frozenset[str] = frozenset()) -> Any:
    """`value` (JSON) with every string mentioning the number — and the values of `keys` —
    replaced by ERASED."""
    if isinstance(value, dict):
        return {k: ERASED if k in keys and value[k] not in (None, "")
                else scrub(v, variants, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, variants, keys) for v in value]
    if isinstance(value, str) and any(v in value for v in variants):
        return ERASED
    return value


def mentioning[M: Model](queryset: QuerySet[M], field: str, variants: list[str]) -> QuerySet[M]:
    """The rows whose `field` (any type: JSON, text), read as text, holds a variant."""
    text = f"{field}_text"
    condition = Q()
    for variant in variants:
        condition |= Q(**{f"{text}__contains": variant})
    return queryset.annotate(**{text: Cast(field, TextField())}).filter(condition)
