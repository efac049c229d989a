"""Sender IDs that imitate a protected brand (M-11): pure, no Django.

The exact protected names (AF2M SI / ISA) are already refused or held to an authorisation
by the sender rules (`messaging.senders.check_sender`). What is left is the look-alike:
"PAYPA1", "PAYPAI", "PaypaI", "AMAZ0N", Amazon with a Cyrillic a, "LAPOSTE-FR", "AMELI1".
A sender is compared in its *skeleton* form — look-alike characters made Latin
(`text.unmasked`), then the digits and letters that read alike folded together (0/o,
1/l/i, 5/s, …) — and is a look-alike when its skeleton equals a brand's, or contains it,
or is within a small edit distance of it (`rapidfuzz`'s Levenshtein, at most 1 for names
up to 6 letters, 2 above). A name the account holds an authorisation for is its own.
"""

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from chappe.messaging.content_policy.text import unmasked

# Characters a reader takes for one another in a sender ID (after `unmasked`).
_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "!": "l", "3": "e",
                       "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"})
# What impersonators put around a brand ("AMAZONFR", "SECUPAYPAL"): a sender holding a
# brand plus one of these is its look-alike; plus anything else ("AMAZONIE") it is not.
AFFIXES = frozenset({"", "fr", "france", "info", "infos", "secu", "securite", "service",
                     "services", "client", "clients", "support", "pay", "app", "online",
                     "colis", "livraison", "compte", "alert", "alerte", "help", "aide",
                     "officiel", "official", "net", "web", "sms", "mobile"})
# Brands shorter than this are compared exactly only: "BNP" within distance 1 of "BMP"
# would hold every three-letter sender.
MIN_FUZZY_LENGTH = 5


def skeleton(name: str) -> str:
    """The comparison form of a sender or brand name (module doc)."""
    folded = unmasked(name).translate(_FOLD).replace("rn", "m").replace("vv", "w")
    return re.sub(r"[^a-z]", "", folded)


@dataclass(frozen=True)
class Brand:
    name: str
    skeleton: str


def brands_of(names: Iterable[str]) -> tuple[Brand, ...]:
    return tuple(Brand(name, s) for name in dict.fromkeys(names) if (s := skeleton(name)))


_AFFIX_SKELETONS = frozenset(skeleton(affix) for affix in AFFIXES) | {""}


def _affixed(candidate: str, brand: Brand) -> bool:
    """Whether `candidate` is `brand` with an impersonator's affix before or after it."""
    head, found, tail = candidate.partition(brand.skeleton)
    return bool(found) and head in _AFFIX_SKELETONS and tail in _AFFIX_SKELETONS


def imitated_brand(sender: str, *, brands: Collection[Brand],
                   own: Collection[str] = ()) -> Brand | None:
    """The brand `sender` imitates, or None. A numeric sender imitates nothing; a brand
    the account holds an authorisation for (`own`, compared by skeleton) is its own. The
    exact AF2M names never get here: the sender rules refuse them first."""
    if not sender or sender.isdigit():
        return None
    candidate = skeleton(sender)
    if not candidate:
        return None
    owned = {skeleton(name) for name in own}
    for brand in brands:
        if brand.skeleton in owned:
            continue
        if candidate == brand.skeleton or (
                len(brand.skeleton) >= MIN_FUZZY_LENGTH and _affixed(candidate, brand)):
            return brand
        if len(brand.skeleton) >= MIN_FUZZY_LENGTH:
            allowed = 1 if len(brand.skeleton) <= 6 else 2
            if Levenshtein.distance(candidate, brand.skeleton, score_cutoff=allowed) <= allowed:
                return brand
    return None
