"""Operator-skew check (M-9), pure: are a send's recipients in one country far more
concentrated on one operator than that country's usual mix?

A bulk send aimed mostly at one operator's subscribers costs the platform that
operator's termination rate, which can be well above the country's blended price. The
operator of each recipient is the *original* range holder from phonenumbers' carrier data
(ported numbers are not known), the same figure the usual mix is expressed in.

The operator configures, per country, the usual share of each operator and its MCC+MNC
code (the `operator` of an operator-specific price row), how many points above its usual
share an operator must be to count as skewed, the smallest audience worth checking, and
what happens then: the campaign is held for review, priced at the operator-specific
price, or both (held, and priced so if the operator releases it at that price).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class SkewAction(StrEnum):
    # Hold the campaign until the operator releases (standard or operator price) or refuses.
    HOLD = "hold"
    # Launch at once, skewed operators' recipients rated at their operator-specific price.
    PRICE = "price"


@dataclass(frozen=True)
class UsualOperator:
    share: float
    # MCC+MNC, the `operator` of its specific price rows ("" when it has none).
    code: str = ""


@dataclass(frozen=True)
class SkewPolicy:
    action: SkewAction = SkewAction.HOLD
    # An operator is skewed when its share exceeds its usual share by more than this.
    threshold: float = 0.30
    # Countries with fewer recipients in the send are not checked.
    min_recipients: int = 500
    # Per ISO country: operator name (phonenumbers' carrier name) -> usual share.
    mix: Mapping[str, Mapping[str, UsualOperator]] = field(default_factory=dict)


@dataclass(frozen=True)
class Skew:
    country: str
    operator: str
    # Recipients of the send in the country, and on this operator.
    recipients: int
    on_operator: int
    share: float
    usual: float
    code: str


def policy_from_config(config: Mapping) -> SkewPolicy:
    """The policy from the operator's settings (`CHAPPE_OPERATOR_SKEW`)."""
    return SkewPolicy(
        action=SkewAction(config.get("action", SkewAction.HOLD)),
        threshold=float(config.get("threshold", 0.30)),
        min_recipients=int(config.get("min_recipients", 500)),
        mix={country.upper(): {name: UsualOperator(share=float(spec["share"]),
                                                   code=str(spec.get("code", "")))
                               for name, spec in operators.items()}
             for country, operators in config.get("mix", {}).items()},
    )


def skew_check(counts: Mapping[tuple[str, str], int], policy: SkewPolicy) -> list[Skew]:
    """The skewed (country, operator) pairs of a send, given its recipients counted by
    (ISO country, operator name). Recipients whose operator is unknown ("") count in the
    country's total but are never an operator of their own. Countries without a usual mix
    are not checked (there is nothing to compare with)."""
    totals: dict[str, int] = {}
    for (country, _operator), count in counts.items():
        totals[country] = totals.get(country, 0) + count
    found = []
    for (country, operator), count in sorted(counts.items()):
        mix = policy.mix.get(country)
        total = totals[country]
        if not operator or mix is None or total < policy.min_recipients or not count:
            continue
        usual = mix.get(operator, UsualOperator(share=0.0))
        share = count / total
        if share - usual.share > policy.threshold:
            found.append(Skew(country=country, operator=operator, recipients=total,
                              on_operator=count, share=share, usual=usual.share,
                              code=usual.code))
    return found
