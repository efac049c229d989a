"""Text on the wire (pure): data_coding, long-message methods, and reassembly.

Encodings: data_coding 0 is GSM 03.38 unpacked (one septet per octet, the extension
table as ESC + char), 3 is Latin-1, 8 is UCS-2 (UTF-16 big-endian, surrogate pairs kept
whole). Which one a message uses comes from `chappe.smpp.encoding` (the platform's
own segmentation, also used for billing): GSM-7 texts go as the connector's default
data_coding (0, or 3 when every character is Latin-1), the rest as 8.

Long messages, one of four methods (SMPP 3.4 §5.2, messaging.md §4):
* `udh8`   — UDH IEI 0x00 (8-bit reference) in short_message, esm_class UDHI 0x40;
* `udh16`  — UDH IEI 0x08 (16-bit reference): one unit less per part;
* `sar`    — TLVs sar_msg_ref_num / sar_total_segments / sar_segment_seqnum;
* `payload`— the whole text in one submit_sm's message_payload TLV (sm_length 0).
Parts are cut by the platform's segmenter (`segment`) when the sizes match (udh8, sar:
153 septets / 67 UCS-2 units / 134 octets), else by the same greedy rule with the
method's size, never inside an escape pair or a surrogate pair.
"""

from dataclasses import dataclass, field
from typing import Any

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from chappe.smpp.encoding import Encoding, char_units, pack, segment

METHODS = ("udh8", "udh16", "sar", "payload")
DC_GSM, DC_LATIN1, DC_UCS2 = 0, 3, 8
UDHI = 0x40


@dataclass(frozen=True)
class Part:
    short_message: bytes
    esm_class: int = 0
    tlvs: dict[str, Any] = field(default_factory=dict)
    index: int = 1
    total: int = 1


def encode(text: str, data_coding: int) -> bytes:
    if data_coding == DC_UCS2:
        return text.encode("utf-16-be")
    if data_coding == DC_LATIN1:
        return text.encode("latin-1")
    if data_coding == 1:
        return text.encode("ascii")
    return text.encode("gsm03.38")


def decode(data: bytes, data_coding: int) -> str:
    if data_coding == DC_UCS2:
        return data.decode("utf-16-be", errors="replace")
    if data_coding in (DC_LATIN1, 2, 4):
        return data.decode("latin-1")
    if data_coding == 1:
        return data.decode("ascii", errors="replace")
    try:
        return data.decode("gsm03.38")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def choose_data_coding(text: str, encoding: str, default: int = DC_GSM) -> int:
    if encoding != Encoding.GSM7:
        return DC_UCS2
    if default == DC_LATIN1:
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            return DC_GSM
        return DC_LATIN1
    return DC_GSM


def _limits(data_coding: int, method: str) -> tuple[int, int]:
    """(single, per part) in the data coding's units for this method."""
    udh = 7 if method == "udh16" else 6
    if data_coding == DC_UCS2:
        return 70, (140 - udh) // 2
    if data_coding == DC_GSM:
        return 160, ((140 - udh) * 8) // 7
    return 140, 140 - udh


def _units(char: str, data_coding: int) -> int:
    if data_coding == DC_UCS2:
        return char_units(char, Encoding.UCS2)
    if data_coding == DC_GSM:
        return char_units(char, Encoding.GSM7)
    return 1


def cut(text: str, data_coding: int, method: str) -> list[str]:
    single, per_part = _limits(data_coding, method)
    if method == "payload":
        return [text]
    seg = segment(text)
    same_encoding = (seg.encoding is Encoding.UCS2) == (data_coding == DC_UCS2)
    if same_encoding and data_coding != DC_LATIN1 and method in ("udh8", "sar"):
        return list(seg.parts)
    if sum(_units(c, data_coding) for c in text) <= single:
        return [text]
    return pack(text, per_part, lambda char: _units(char, data_coding))


def split(text: str, data_coding: int, method: str, ref: int) -> list[Part]:
    """The PDUs' user data for `text` (one Part per submit_sm)."""
    if method not in METHODS:
        raise ValueError(f"unknown long-message method {method!r}")
    if method == "payload":
        body = encode(text, data_coding)
        if len(body) <= 140:
            return [Part(body)]
        return [Part(b"", tlvs={"message_payload": body})]
    texts = cut(text, data_coding, method)
    total = len(texts)
    if total == 1:
        return [Part(encode(texts[0], data_coding))]
    parts = []
    for index, chunk in enumerate(texts, start=1):
        body = encode(chunk, data_coding)
        if method == "udh8":
            parts.append(Part(bytes([5, 0, 3, ref & 0xFF, total, index]) + body, UDHI,
                              index=index, total=total))
        elif method == "udh16":
            parts.append(Part(bytes([6, 8, 4, (ref >> 8) & 0xFF, ref & 0xFF, total, index])
                              + body, UDHI, index=index, total=total))
        else:
            parts.append(Part(body, tlvs={"sar_msg_ref_num": ref & 0xFFFF,
                                          "sar_total_segments": total,
                                          "sar_segment_seqnum": index},
                              index=index, total=total))
    return parts


@dataclass(frozen=True)
class UserData:
    body: bytes
    # (reference, total, sequence) when this is one part of a concatenated message.
    concat: tuple[int, int, int] | None = None


def user_data(short_message: bytes, esm_class: int, tlvs: dict[str, Any]) -> UserData:
    """Split a received PDU's user data into its concatenation info and body."""
    if esm_class & UDHI and short_message:
        length = short_message[0]
        header, body = short_message[1:1 + length], short_message[1 + length:]
        i = 0
        while i + 2 <= len(header):
            iei, ie_len = header[i], header[i + 1]
            value = header[i + 2:i + 2 + ie_len]
            if iei == 0x00 and ie_len == 3:
                return UserData(body, (value[0], value[1], value[2]))
            if iei == 0x08 and ie_len == 4:
                return UserData(body, ((value[0] << 8) | value[1], value[2], value[3]))
            i += 2 + ie_len
        return UserData(body)
    if tlvs.get("sar_msg_ref_num") is not None and tlvs.get("sar_total_segments"):
        return UserData(short_message, (int(tlvs["sar_msg_ref_num"]),
                                        int(tlvs["sar_total_segments"]),
                                        int(tlvs.get("sar_segment_seqnum") or 1)))
    return UserData(short_message)


def reassemble(parts: dict[int, bytes], total: int, data_coding: int) -> str | None:
    """The text once every part (by sequence number) is here, else None. Bytes are
    joined before decoding, so a UCS-2 pair or GSM escape cut across parts survives."""
    if any(seq not in parts for seq in range(1, total + 1)):
        return None
    return decode(b"".join(parts[seq] for seq in range(1, total + 1)), data_coding)
