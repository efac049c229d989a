"""Routing (pure): which connector takes a message to this destination?

Rules match by E.164 prefix and/or country; the most specific matching rule wins (longest
prefix, then a country match, then the catch-all), ties broken by priority. When the
chosen connector is down, its fallback is used, then the next matching rule.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RouteRule:
    connector: str
    country: str = ""
    prefix: str = ""
    priority: int = 100
    fallback: str | None = None


def _matches(rule: RouteRule, digits: str, country: str) -> bool:
    return (not rule.country or rule.country == country) and digits.startswith(rule.prefix)


def _specificity(rule: RouteRule) -> tuple[int, int, int]:
    return (-len(rule.prefix), 0 if rule.country else 1, rule.priority)


def choose_connector(
    recipient: str, country: str, rules: Sequence[RouteRule], down: Collection[str] = ()
) -> str | None:
    """The connector for `recipient` (E.164), or None if no usable route exists."""
    digits = recipient.lstrip("+")
    for rule in sorted((r for r in rules if _matches(r, digits, country)), key=_specificity):
        for candidate in (rule.connector, rule.fallback):
            if candidate and candidate not in down:
                return candidate
    return None
