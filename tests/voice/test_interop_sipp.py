"""What carriers and phones send that a first version did not expect, with SIPp as the
peer (scenarios in tests/voice/sipp/): offers we cannot serve, INVITEs without SDP, a
telephone-event payload type other than 101, digits without an end bit, media that must
not stop, and messages that lie about their length."""

import itertools

from django.conf import settings

from chappe.callcenter.models import CallRecord
from tests.voice.sipp_tools import (
    PCAPS,
    SIPP_TESTS,
    EngineThread,
    RtpSink,
    pcap_variant,
    scenario,
    sipp,
    wait_for_records,
)

pytestmark = SIPP_TESTS


def P(text):
    return {"text": text, "language": "fr"}


WELCOME = {"start": "w", "nodes": {"w": {"type": "play", "prompt": P("Bonjour et bienvenue.")}}}
MENU = {"start": "m", "nodes": {
    "m": {"type": "menu", "prompt": P("Tapez un."), "options": {"1": "vm"},
          "timeout_seconds": 10, "max_retries": 0},
    "vm": {"type": "voicemail", "beep": False, "max_seconds": 30}}}
# A short prompt, then a recording nobody speaks into: the engine must keep sending.
RECORD = {"start": "w", "nodes": {
    "w": {"type": "play", "prompt": P("Bonjour."), "next": "vm"},
    "vm": {"type": "voicemail", "beep": False, "max_seconds": 30}}}


def run(port, name, *args, **values):
    result = sipp(port, *scenario(name, settings.DATA_DIR, **values), *args,
                  cwd=settings.DATA_DIR)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def test_a_g729_only_offer_is_refused_488(number_with):
    account = number_with(WELCOME)
    with EngineThread() as engine:
        run(engine.port, "offer_refused.xml", status="488",
            media="m=audio [auto_media_port] RTP/AVP 18\n      a=rtpmap:18 G729/8000")
        # and the engine still serves the next call
        run(engine.port, "engine_hangs_up.xml")
        wait_for_records(account)
    assert CallRecord.objects.filter(account=account).count() == 1  # the refused one never rang


def test_an_sdp_port_that_is_no_number_gets_400(number_with):
    number_with(WELCOME)
    with EngineThread() as engine:
        run(engine.port, "offer_refused.xml", status="400",
            media="m=audio abc RTP/AVP 8\n      a=rtpmap:8 PCMA/8000")
        # and the engine still serves the next call
        run(engine.port, "engine_hangs_up.xml")


def test_an_invite_without_sdp_gets_our_offer_and_the_answer_in_the_ack(number_with):
    account = number_with(WELCOME)
    sink = RtpSink()
    try:
        with EngineThread() as engine:
            run(engine.port, "late_offer.xml", "-key", "caller_rtp", str(sink.port))
            [record] = wait_for_records(account)
    finally:
        sink.close()
    assert record.disposition == "answered"
    assert record.hangup_cause == "callee_bye:flow_end"
    assert len(sink.payloads(8)) > 40  # the welcome reached the port the ACK named


def test_the_offered_telephone_event_payload_type_is_mirrored_and_its_digits_heard(
        number_with):
    account = number_with(MENU)
    dtmf = pcap_variant(PCAPS / "dtmf_2833_1.pcap", settings.DATA_DIR / "dtmf96.pcap",
                        payload_type=96)
    with EngineThread() as engine:
        run(engine.port, "keyed_digit.xml", te_pt="96", dtmf_pcap=str(dtmf))
        [record] = wait_for_records(account)
    assert record.digits == "1"
    assert record.flow_path == ["m", "vm"]


def test_a_digit_whose_end_packets_never_came_still_counts(number_with):
    account = number_with(MENU)
    dtmf = pcap_variant(PCAPS / "dtmf_2833_1.pcap", settings.DATA_DIR / "no_end.pcap",
                        drop_end=True)
    with EngineThread() as engine:
        run(engine.port, "keyed_digit.xml", te_pt="101", dtmf_pcap=str(dtmf))
        [record] = wait_for_records(account)
    assert record.digits == "1"
    assert record.flow_path == ["m", "vm"]


def test_media_never_stops_while_the_engine_waits_or_records(number_with):
    account = number_with(RECORD)
    sink = RtpSink()
    try:
        with EngineThread() as engine:
            run(engine.port, "listen.xml", "-key", "caller_rtp", str(sink.port))
            [record] = wait_for_records(account)
    finally:
        sink.close()
    assert record.flow_path == ["w", "vm"]  # it recorded (silence) until the caller left
    arrivals = [at for pt, _payload, at in sink.packets if pt == 8]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    # ~4 s of call: 50 frames a second, never a hole longer than a few frames.
    assert len(arrivals) >= 150, len(arrivals)
    assert max(gaps) < 0.2, max(gaps)


def test_a_datagram_shorter_than_its_content_length_gets_400(number_with):
    number_with(WELCOME)
    with EngineThread() as engine:
        run(engine.port, "cut_short.xml")
