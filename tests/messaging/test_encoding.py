import pytest
from hypothesis import given
from hypothesis import strategies as st

from chappe.smpp.encoding import Encoding, segment

BASIC = "a"
EXT = "€"  # extension table: ESC + e, two septets
ACCENT_GSM = "é"  # in the GSM-7 basic table
ACCENT_UCS2 = "ê"  # not in GSM-7: forces UCS-2
EMOJI = "😀"  # outside the BMP: a surrogate pair, two UTF-16 units


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", Encoding.GSM7, 0, 1),
        (BASIC * 160, Encoding.GSM7, 160, 1),
        (BASIC * 161, Encoding.GSM7, 161, 2),
        (BASIC * 306, Encoding.GSM7, 306, 2),  # 153 x 2
        (BASIC * 307, Encoding.GSM7, 307, 3),
        (BASIC * 459, Encoding.GSM7, 459, 3),  # 153 x 3
        (EXT * 80, Encoding.GSM7, 160, 1),  # extension chars count double
        (EXT * 81, Encoding.GSM7, 162, 2),
        (BASIC * 159 + EXT, Encoding.GSM7, 161, 2),
        (ACCENT_GSM * 160, Encoding.GSM7, 160, 1),
        (ACCENT_UCS2 * 70, Encoding.UCS2, 70, 1),
        (ACCENT_UCS2 * 71, Encoding.UCS2, 71, 2),
        (ACCENT_UCS2 * 134, Encoding.UCS2, 134, 2),  # 67 x 2
        (ACCENT_UCS2 * 135, Encoding.UCS2, 135, 3),
        (BASIC * 159 + ACCENT_UCS2, Encoding.UCS2, 160, 3),  # one ê turns 160 chars into UCS-2
        (EMOJI * 35, Encoding.UCS2, 70, 1),
        (EMOJI * 36, Encoding.UCS2, 72, 2),
    ],
)
def test_segment_table(text, encoding, units, segments):
    result = segment(text)
    assert result.encoding is encoding
    assert result.units == units
    assert result.segments == segments
    assert "".join(result.parts) == text


def test_escape_pair_is_never_split_across_parts():
    # 152 basic + € (2 septets) would need 154 in part one: the € moves to part two.
    result = segment(BASIC * 152 + EXT + BASIC * 10)
    assert result.parts[0] == BASIC * 152
    assert result.parts[1].startswith(EXT)


def test_surrogate_pair_is_never_split_across_parts():
    # 66 units + a 2-unit emoji would need 68 in part one: the emoji moves to part two.
    result = segment(ACCENT_UCS2 * 66 + EMOJI + ACCENT_UCS2 * 10)
    assert result.parts[0] == ACCENT_UCS2 * 66
    assert result.parts[1].startswith(EMOJI)


def test_remaining_counts_what_is_left_in_the_last_part():
    assert segment(BASIC * 150).remaining == 10
    assert segment(BASIC * 161).remaining == 153 - 8
    assert segment(ACCENT_UCS2 * 3).remaining == 67


@given(st.text(max_size=600))
def test_parts_rejoin_to_the_text_and_fit(text):
    result = segment(text)
    assert "".join(result.parts) == text
    limit = 160 if result.encoding is Encoding.GSM7 else 70
    if result.segments > 1:
        limit = 153 if result.encoding is Encoding.GSM7 else 67
    for part in result.parts:
        units = (len(part.encode("gsm03.38")) if result.encoding is Encoding.GSM7
                 else len(part.encode("utf-16-le")) // 2)
        assert units <= limit


@given(st.text(alphabet=st.sampled_from("aZ9 é€[]{}^~|\\\f\nÇ@£$¥èùìò_ΔêŁ😀ß"), max_size=400))
def test_encoding_and_units_are_the_codecs(text):
    """The per-character cache says what the gsm0338 codec says, text after text."""
    try:
        septets = len(text.encode("gsm03.38"))
    except UnicodeEncodeError:
        septets = None
    result = segment(text)
    if septets is None:
        assert result.encoding is Encoding.UCS2
        assert result.units == len(text.encode("utf-16-le")) // 2
    else:
        assert result.encoding is Encoding.GSM7
        assert result.units == septets
