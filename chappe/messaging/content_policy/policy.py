"""The one content check every send passes before acceptance (M-11, P-17, M-10): pure
over a `Policy` (the operator's lists as plain data, `content_policy.cache`).

`Policy.verdict(text=…, sender=…, kind=…, …)` answers None for a clean send, or the
first finding, most severe first: a blocked domain or a refusing rule refuses the send
(no message made, the client told which rule); a link shortener (unless the account is
allowed them), a sender imitating a protected brand or a holding rule holds it for the
operator's review. A marketing send must name its advertiser (M-10): an alphanumeric
sender is the advertiser's name on the handset; a numeric one needs the name in the text.

Operator patterns run with the `regex` module's time limit (`PATTERN_TIMEOUT`) and a
size cap: a pattern that backtracks catastrophically costs a send at most that long and
counts as a match (held for a human), never a stuck worker.
"""

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import cached_property

import regex
from django.utils.translation import gettext as _

from chappe.messaging.content_policy.brands import Brand, imitated_brand
from chappe.messaging.content_policy.text import hosts, normalized_words, suffixes

PATTERN_TIMEOUT = 0.05  # seconds per pattern per text
MAX_PATTERN_LENGTH = 500
HOLD, BLOCK = "hold", "block"
SENDER_CACHE_SIZE = 10_000


class PatternError(ValueError):
    pass


def compile_pattern(pattern: str) -> regex.Pattern:
    """An operator's pattern, compiled (case-insensitive), or `PatternError`."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(_("At most %(n)d characters.") % {"n": MAX_PATTERN_LENGTH})
    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.V1)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise PatternError(str(exc)) from exc


@dataclass(frozen=True)
class Rule:
    name: str
    action: str
    # A word/phrase in `normalized_words` form (" free money "), or a pattern.
    phrase: str = ""
    pattern: regex.Pattern | None = None

    def matches(self, *, text: str, words: str) -> bool:
        if self.pattern is None:
            return self.phrase in words
        try:
            return self.pattern.search(text, timeout=PATTERN_TIMEOUT) is not None
        except TimeoutError:
            return True  # undecided in time: a human decides (module doc)


def rule_of(*, name: str, kind: str, value: str, action: str) -> Rule:
    if kind == "pattern":
        return Rule(name=name, action=action, pattern=compile_pattern(value))
    return Rule(name=name, action=action, phrase=normalized_words(value))


@dataclass(frozen=True)
class Finding:
    """Why a send is held or refused: `code` is stable (the client's error code is
    "content_<code>"), `matched` names the domain, brand or rule."""

    code: str
    action: str
    matched: str

    @property
    def message(self) -> str:
        texts = {
            "blocked_domain": _("The message links to %(m)s, a domain the platform blocks."),
            "shortener": _("The message links through the link shortener %(m)s: the send "
                           "is held for review (give the full address instead)."),
            "brand_lookalike": _("The sender imitates the protected brand %(m)s: the send "
                                 "is held for review."),
            "rule": (_("The message breaks the acceptable-use rule “%(m)s”.")
                     if self.action == BLOCK else
                     _("The message matches the acceptable-use rule “%(m)s”: the send is "
                       "held for review.")),
            "advertiser_missing": _("A marketing message must name the advertiser: use "
                                    "your name as the sender or in the text."),
        }
        return texts[self.code] % {"m": self.matched}

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "action": self.action, "matched": self.matched,
                "message": self.message}


@dataclass(frozen=True)
class Policy:
    version: int = 0
    blocked: frozenset[str] = frozenset()
    shorteners: frozenset[str] = frozenset()
    brands: tuple[Brand, ...] = ()
    rules: tuple[Rule, ...] = field(default=())
    # Per sender (and the brands the account owns): the brand it imitates, or None. A
    # process sees few senders and many messages; bounded, cleared when full.
    _imitated: dict[tuple[str, frozenset[str]], Brand | None] = field(
        default_factory=dict, compare=False, repr=False)

    @cached_property
    def patterns(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.pattern is not None)

    @cached_property
    def by_phrase(self) -> dict[str, Rule]:
        """The word rules by phrase (the first rule of a phrase given twice)."""
        rules: dict[str, Rule] = {}
        for rule in self.rules:
            if rule.pattern is None:
                rules.setdefault(rule.phrase, rule)
        return rules

    @cached_property
    def phrases(self) -> "re.Pattern[str] | None":
        """Every word rule in one expression over `normalized_words` (one scan of the
        text for all of them); a phrase is matched with its framing spaces, overlapping
        ones found through the look-ahead."""
        if not self.by_phrase:
            return None
        longest_first = sorted(self.by_phrase, key=len, reverse=True)
        return re.compile("(?=(" + "|".join(re.escape(p) for p in longest_first) + "))")

    def imitated(self, sender: str, own_brands: Collection[str]) -> Brand | None:
        key = (sender, frozenset(own_brands))
        if key not in self._imitated:
            if len(self._imitated) >= SENDER_CACHE_SIZE:
                self._imitated.clear()
            self._imitated[key] = imitated_brand(sender, brands=self.brands, own=own_brands)
        return self._imitated[key]

    def verdict(self, *, text: str, sender: str, marketing: bool = False,
                advertiser: str = "", shorteners_allowed: bool = False,
                own_brands: Collection[str] = ()) -> Finding | None:
        """The first finding on this send, most severe first, or None (module doc)."""
        findings = self.findings(text=text, sender=sender, marketing=marketing,
                                 advertiser=advertiser, shorteners_allowed=shorteners_allowed,
                                 own_brands=own_brands)
        return min(findings, key=lambda f: f.action != BLOCK, default=None)

    def findings(self, *, text: str, sender: str, marketing: bool, advertiser: str,
                 shorteners_allowed: bool, own_brands: Collection[str]) -> Iterable[Finding]:
        for host in hosts(text):
            for domain in suffixes(host):
                if domain in self.blocked:
                    yield Finding("blocked_domain", BLOCK, domain)
                    return
                if domain in self.shorteners and not shorteners_allowed:
                    yield Finding("shortener", HOLD, domain)
        if self.rules:
            words = normalized_words(text)
            matched = [rule for rule in self.patterns if rule.matches(text=text, words=words)]
            if self.phrases is not None:
                matched += [self.by_phrase[m] for m in self.phrases.findall(words)]
            for rule in sorted(matched, key=lambda r: r.action != BLOCK):
                yield Finding("rule", rule.action, rule.name)
                if rule.action == BLOCK:
                    return
        if self.brands and (brand := self.imitated(sender, own_brands)):
            yield Finding("brand_lookalike", HOLD, brand.name)
        if marketing and sender.isdigit() and not _names(text, advertiser):
            yield Finding("advertiser_missing", BLOCK, advertiser)


def _names(text: str, advertiser: str) -> bool:
    """Whether `text` names `advertiser` (compared as words, whatever their case)."""
    name = normalized_words(advertiser)
    return name.strip() != "" and name in normalized_words(text)
