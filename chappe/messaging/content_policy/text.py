"""What a text really says, for the content checks (M-11): the hosts of the links in it,
even when the sender hid them, and its words in one comparable form. Pure, no Django.

A smisher hides a link from a filter and not from a reader: zero-width characters inside
it, letters that look Latin and are not (a Cyrillic a, a fullwidth b), spaces around or
between its letters ("b i t . l y"), the dot written out ("bit[.]ly", "bit(dot)ly",
"bit dot ly", "。"), or an internationalised name in punycode ("xn--…"). `unmasked`
undoes these (Unicode NFKC, then each remaining look-alike character replaced by the
Latin one it imitates, from the Unicode confusables data of `confusable_homoglyphs`);
`hosts` finds the dotted names in the result and decodes punycode (`idna`).

Clean texts cost next to nothing: a text with no dot, no "dot" and only ASCII has no link
a reader could follow, and `hosts` answers at once (`might_hold_link`).
"""

import re
import unicodedata
from functools import lru_cache

import idna
from confusable_homoglyphs import confusables

# Characters that print as nothing (or as a space) and split a name for a filter only.
INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
                              "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d"
                              "\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
                              "\u2069\u3164\ufeff\uffa0"))
# The dot, written out or as another script's full stop.
_DOT_WORDS = re.compile(r"\s*(?:\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\}"
                        r"|<\s*(?:\.|dot)\s*>|\s(?:dot|point)\s)\s*", re.IGNORECASE)
# Spaces around a dot between two letters or digits: "bit . ly", "bit. ly".
_SPACED_DOT = re.compile(r"(?<=[a-z0-9])\s*\.\s*(?=[a-z0-9])")
# Letters spaced out one by one: "b i t", "l y" (single spaces).
_SPACED_LETTERS = re.compile(r"(?<![a-z0-9])(?:[a-z0-9] ){1,}[a-z0-9](?![a-z0-9])")
# A dotted name: labels of letters, digits and hyphens, a last label of letters (or
# punycode) — what a browser would take as a host.
_HOST = re.compile(r"(?<![a-z0-9\-@])((?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+"
                   r"(?:[a-z]{2,24}|xn--[a-z0-9\-]{1,59}))(?![a-z0-9\-])")


_WORD = re.compile(r"[^\W_]+")


def might_hold_link(text: str) -> bool:
    """False only when `text` cannot hold a link (ASCII, no dot, no written-out dot)."""
    if not text.isascii():
        return True
    if "." in text:
        return True
    lowered = text.lower()
    return "dot" in lowered or "point" in lowered


@lru_cache(maxsize=4096)
def _latin(char: str) -> str:
    """The ASCII character `char` imitates, or `char` itself."""
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"])
    for entry in found or ():
        for glyph in entry["homoglyphs"]:
            if glyph["c"].isascii() and glyph["c"].isalnum():
                return glyph["c"].lower()
    return char


def unmasked(text: str) -> str:
    """`text` lower-cased, without invisible characters, look-alikes made Latin."""
    if text.isascii():  # nothing invisible, nothing to normalise or to make Latin
        return text.lower()
    text = unicodedata.normalize("NFKC", text.translate(INVISIBLE)).lower()
    if text.isascii():
        return text
    text = text.replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".")
    return "".join(c if c.isascii() else _latin(c) for c in text)


def _decoded(host: str) -> str:
    """A punycode host as the Unicode name it stands for, made Latin again (a Cyrillic
    "paypal" written with Cyrillic letters and registered as xn--… is the look-alike)."""
    if "xn--" not in host:
        return host
    try:
        return unmasked(idna.decode(host))
    except (idna.IDNAError, UnicodeError, ValueError):
        return host


def hosts(text: str) -> list[str]:
    """The host names in `text`, each once, in order, obfuscations undone (module doc)."""
    if not might_hold_link(text):
        return []
    plain = unmasked(text)
    plain = _DOT_WORDS.sub(".", plain)
    plain = _SPACED_LETTERS.sub(lambda m: m.group(0).replace(" ", ""), plain)
    plain = _SPACED_DOT.sub(".", plain)
    found = dict.fromkeys(_decoded(m.group(1).rstrip(".")) for m in _HOST.finditer(plain))
    return list(found)


def suffixes(host: str) -> list[str]:
    """`host` and each parent domain of it: a.b.example.com → …, example.com, com."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def normalized_words(text: str) -> str:
    """`text` unmasked with runs of anything but letters and digits made one space, framed
    by spaces: a word or phrase is found as " word " whatever hid or surrounded it."""
    return " " + " ".join(_WORD.findall(unmasked(text))) + " "
