"""Pure parts of the SMPP stack: long-message splitting and reassembly, receipts."""

import io
from datetime import UTC, datetime

import pytest

from chappe.smpp import pdu as P
from chappe.smpp import receipts as R
from chappe.smpp import text as T

GSM_LONG = "Bonjour {tout} le monde € " * 20
UCS2_LONG = "Привет 👋 мир, ça va? " * 12


@pytest.mark.parametrize("method", ["udh8", "udh16", "sar"])
@pytest.mark.parametrize(("text", "dc"), [(GSM_LONG, 0), (UCS2_LONG, 8), ("Ça été " * 40, 3)])
def test_split_then_reassemble_is_exact(method, text, dc):
    parts = T.split(text, dc, method, ref=0x1234)
    assert len(parts) > 1
    got = {}
    for part in parts:
        ud = T.user_data(part.short_message, part.esm_class, part.tlvs)
        header = len(part.short_message) - len(ud.body)
        # Fits one SM once the SMSC packs it (GSM-7 travels unpacked, 1 septet/octet).
        assert header * 8 + len(ud.body) * (7 if dc == 0 else 8) <= 140 * 8
        ref, total, seq = ud.concat
        assert ref == (0x34 if method == "udh8" else 0x1234)
        assert total == len(parts)
        got[seq] = ud.body
    assert T.reassemble(got, len(parts), dc) == text
    if dc == 8:
        assert b"".join(got[i] for i in sorted(got)) == text.encode("utf-16-be")


def test_udh8_and_sar_cut_like_the_platform_segmenter():
    from chappe.smpp.encoding import segment

    assert len(T.split(GSM_LONG, 0, "udh8", 1)) == segment(GSM_LONG).segments
    assert len(T.split(UCS2_LONG, 8, "sar", 1)) == segment(UCS2_LONG).segments


def test_no_part_splits_a_surrogate_pair_or_an_escape():
    text = "a" * 65 + "👋👋👋" + "b" * 100
    for part in T.split(text, 8, "udh16", 9):
        body = T.user_data(part.short_message, part.esm_class, part.tlvs).body
        body.decode("utf-16-be")  # raises on a lone surrogate
    text = "x" * 151 + "€€€€" + "y" * 100
    for part in T.split(text, 0, "udh16", 9):
        body = T.user_data(part.short_message, part.esm_class, part.tlvs).body
        assert not body.endswith(b"\x1b")


def test_payload_method_sends_one_pdu():
    [part] = T.split(GSM_LONG, 0, "payload", 1)
    assert part.short_message == b""
    assert T.decode(part.tlvs["message_payload"], 0) == GSM_LONG
    [short] = T.split("Hi", 0, "payload", 1)
    assert short.short_message == b"Hi"


def test_receipt_text_round_trip_and_id_normalisation():
    now = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    text = R.format_text(id="00000003e8", stat="UNDELIV", err="001", submitted=now, done=now,
                         text="Hello")
    parsed = R.parse(text=text, receipted_id=None, state=None, message_id_format="hex")
    assert (parsed.id, parsed.status, parsed.error, parsed.done_at) == (
        "3e8", "undelivered", "001", now)
    decimal = R.format_text(id="1000", stat="DELIVRD", submitted=now, done=now)
    parsed = R.parse(text=decimal, receipted_id=None, state=None, message_id_format="hex",
                     receipt_id_format="decimal")
    assert (parsed.id, parsed.status, parsed.error) == ("3e8", "delivered", "")
    # The TLVs win over the text.
    parsed = R.parse(text=decimal, receipted_id="03E8", state=5, message_id_format="hex")
    assert (parsed.id, parsed.status) == ("3e8", "undelivered")
    assert R.parse(text="hello", receipted_id=None, state=None) is None
    assert R.parse(text=text.replace("UNDELIV", "ENROUTE"), receipted_id=None,
                   state=None).status is None
    assert R.normalize_id("abc", "string") == "abc"
    assert R.parse_date("261101123045") == datetime(2026, 11, 1, 12, 30, 45, tzinfo=UTC)


def _pdu3(data: bytes):
    """What pdu3 itself decodes (the fast path's reference)."""
    return P._codec().decode(io.BytesIO(data))


@pytest.mark.parametrize(("source", "destination", "esm", "dc", "registered", "body"), [
    ("Bench", "33620000001", 0, 0, 1, b"Soldes -50%"),
    ("", "", 0x40, 8, 0, b"\x05\x00\x03\x01\x02\x01abc"),
    ("A" * 20, "1" * 20, 0, 3, 2, b""),
    ("x", "y", 0, 0, 0, b"a" * 140),
])
def test_the_fast_submit_sm_decoder_reads_what_pdu3_reads(source, destination, esm, dc,
                                                          registered, body):
    pdu = P.submit_sm(source=source, source_ton=5, source_npi=0, destination=destination,
                      dest_ton=1, dest_npi=1, short_message=body, data_coding_value=dc,
                      registered=registered, esm=esm)
    pdu.seqNum = 77
    data = P.encode(pdu)
    fast, reference = P._submit_sm_fast(data), _pdu3(data)
    assert fast is not None
    assert (fast.id, fast.seqNum, fast.status, fast.params) == (
        reference.id, reference.seqNum, reference.status, reference.params)
    assert (P.esm_value(fast.params["esm_class"]), P.data_coding_value(
        fast.params["data_coding"])) == (esm, dc)
    assert P.decode(P.submit_sm_resp(77, "abc")).params["message_id"] == b"abc"


def test_the_fast_decoder_leaves_the_rest_to_pdu3():
    with_tlv = P.submit_sm(source="A", source_ton=5, source_npi=0, destination="3",
                           dest_ton=1, dest_npi=1, short_message=b"", data_coding_value=0,
                           message_payload=b"long text")
    with_tlv.seqNum = 1
    data = P.encode(with_tlv)
    assert P._submit_sm_fast(data) is None
    assert P.decode(data).params["message_payload"] == b"long text"
    assert P._submit_sm_fast(data[:30]) is None  # cut short: pdu3 says why
