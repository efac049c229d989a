"""SMS encoding and segmentation (pure).

GSM-7 detection uses the `gsm0338` codec: a text is GSM-7 if it encodes, and since
extension-table characters (€ [ ] { } \\ ^ ~ | and form feed) encode as ESC + char, the
encoded length is the septet count. Anything else is sent as UCS-2 (UTF-16 code units).
The codec is pure Python (~100 µs a message): what it says of each character is kept
(`_gsm_width`), so a text is judged by its distinct characters at C speed — a campaign
segments a million personalised texts.

Single message: 160 septets / 70 UCS-2 units. Concatenated: 153 / 67 per part (the UDH
takes the rest). Parts are cut greedily but never inside an escape sequence (an ESC +
char pair would render as garbage on the handset) nor inside a UTF-16 surrogate pair
(half an emoji). So the segment count is computed by actually cutting, not by dividing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class Segmentation:
    encoding: Encoding
    # Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text.
    units: int
    # The text of each part, in order; one part for a single message.
    parts: tuple[str, ...]

    @property
    def segments(self) -> int:
        return len(self.parts)

    @property
    def per_segment(self) -> int:
        if self.encoding is Encoding.GSM7:
            return GSM_SINGLE if self.segments == 1 else GSM_PART
        return UCS2_SINGLE if self.segments == 1 else UCS2_PART

    @property
    def remaining(self) -> int:
        """Units still free in the last part (what a live counter shows)."""
        return self.per_segment - _units(self.parts[-1], self.encoding)


# Septets of each character seen so far: 1, 2 (extension table), 0 (not in GSM-7).
_GSM_WIDTH: dict[str, int] = {}


def _gsm_width(char: str) -> int:
    width = _GSM_WIDTH.get(char)
    if width is None:
        try:
            width = len(char.encode("gsm03.38"))
        except UnicodeEncodeError:
            width = 0
        _GSM_WIDTH[char] = width
    return width


def _gsm_units(text: str) -> int | None:
    """Septets of `text` in GSM-7, or None if one of its characters is not in GSM-7."""
    escaped = 0
    for char in set(text):
        width = _gsm_width(char)
        if not width:
            return None
        if width == 2:
            escaped += text.count(char)
    return len(text) + escaped


def char_units(char: str, encoding: Encoding) -> int:
    if encoding is Encoding.GSM7:
        return _gsm_width(char)
    return len(char.encode("utf-16-le")) // 2


def _units(text: str, encoding: Encoding) -> int:
    if encoding is Encoding.GSM7:
        units = _gsm_units(text)
        if units is None:
            raise ValueError("not GSM-7 text")
        return units
    return len(text.encode("utf-16-le")) // 2


def detect_encoding(text: str) -> Encoding:
    return Encoding.UCS2 if _gsm_units(text) is None else Encoding.GSM7


def segment(text: str) -> Segmentation:
    """Choose the encoding and cut `text` into the parts it will be sent as."""
    septets = _gsm_units(text)
    encoding = Encoding.UCS2 if septets is None else Encoding.GSM7
    total = len(text.encode("utf-16-le")) // 2 if septets is None else septets
    single, per_part = (
        (GSM_SINGLE, GSM_PART) if encoding is Encoding.GSM7 else (UCS2_SINGLE, UCS2_PART)
    )
    if total <= single:
        return Segmentation(encoding, total, (text,))
    parts = pack(text, per_part, lambda char: char_units(char, encoding))
    return Segmentation(encoding, total, tuple(parts))


def pack(text: str, per_part: int, width: Callable[[str], int]) -> list[str]:
    """Cut `text` greedily into parts of at most `per_part` units (`width` of each code
    point). Iterating over code points keeps surrogate pairs and escape pairs whole: each
    code point is 1-2 units and never split."""
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        units = width(char)
        if used + units > per_part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += units
    parts.append("".join(current))
    return parts
