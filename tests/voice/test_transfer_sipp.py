"""Transfers to an outside number, end to end over loopback: a SIPp caller calls a number
whose flow transfers, the engine places the B-leg through a trunk to a SIPp phone and
bridges the two legs. Two sockets of the test stand for the phones' RTP ports (named in
the SIPp scenarios' SDP through -key) and see what the bridge relays each way."""

from decimal import Decimal

import pytest

from chappe.billing.models import UsageRecord
from chappe.callcenter.models import Trunk
from tests.voice.sipp_tools import (
    PCAPS,
    SIPP_TESTS,
    EngineThread,
    Phone,
    RtpSink,
    pcap_payloads,
    scenario,
    sipp,
    wait_for_records,
)

pytestmark = SIPP_TESTS

CALLEE = "+33145000000"  # a French fixed number: 0.012 EUR a minute in the test prices


def transfer_flow(number: str = CALLEE) -> dict:
    return {"start": "t", "nodes": {
        "t": {"type": "transfer", "number": number, "timeout_seconds": 5,
              "on_failure": "sorry"},
        "sorry": {"type": "hangup", "prompt": {"text": "Désolé.", "language": "fr"}}}}


def test_a_transfer_bridges_the_caller_to_a_phone_behind_a_trunk_and_bills_the_b_leg(
        number_with, data_dir, account, buy_credits):
    buy_credits(account, Decimal("10"))
    caller_rtp, callee_rtp = RtpSink(), RtpSink(echo=True)  # the callee echoes what it hears
    phone = Phone(*scenario("transfer_callee.xml"), "-key", "callee_rtp", str(callee_rtp.port),
                  cwd=data_dir)
    try:
        Trunk.objects.create(name="carrier", host="127.0.0.1", port=phone.port,
                             number_prefixes=["+33"])
        number_with(transfer_flow(), account=account)
        with EngineThread() as engine:
            result = sipp(engine.port, *scenario("transfer_caller.xml"), "-key", "caller_rtp",
                          str(caller_rtp.port), cwd=data_dir, timeout=30)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
            inbound, outbound = wait_for_records(account, 2)
        status, output = phone.finish()
        assert status == 0, output[-2000:]  # the phone got our BYE when the caller left
    finally:
        phone.stop()
        caller_rtp.close()
        callee_rtp.close()

    # The caller's audio reached the phone, byte for byte (PCMA both sides), and its
    # RFC 4733 digit too; what the phone sent back reached the caller.
    sent = pcap_payloads(PCAPS / "g711a.pcap")
    heard = callee_rtp.payloads(8)
    relayed = set(heard)
    assert sum(payload in relayed for payload in sent) >= 0.95 * len(sent)
    assert callee_rtp.events() == {1}
    echoed = set(caller_rtp.payloads(8))
    assert sum(payload in echoed for payload in sent) >= 0.9 * len(sent)

    assert inbound.direction == "inbound"
    assert inbound.disposition == "transferred"
    assert inbound.hangup_cause == "caller_bye"
    assert [t["to"] for t in inbound.transitions] == ["answered", "bridged", "transferred",
                                                      "ended"]
    assert outbound.direction == "outbound"
    assert outbound.parent_id == inbound.pk
    assert (outbound.from_number, outbound.to_number) == (inbound.to_number, CALLEE)
    assert outbound.disposition == "answered"
    assert outbound.hangup_cause == "caller_bye:caller_hangup"
    assert [t["to"] for t in outbound.transitions] == ["answered", "ended"]
    assert "via trunk carrier" in outbound.transitions[0]["why"]
    assert 8 <= outbound.duration_seconds <= 12
    # Rated per started second: 0.012 EUR a minute is 200 micros a second.
    assert outbound.billed
    [usage] = UsageRecord.objects.filter(account=account, product="voice_minute")
    assert usage.billed_quantity == outbound.duration_seconds
    assert usage.amount_micros == 200 * outbound.duration_seconds
    assert not inbound.billed


def test_the_phone_hanging_up_ends_the_caller_too(number_with, data_dir, account,
                                                   buy_credits):
    buy_credits(account, Decimal("10"))
    phone = Phone(*scenario("callee_hangs_up.xml"), cwd=data_dir)
    try:
        Trunk.objects.create(name="carrier", host="127.0.0.1", port=phone.port)
        number_with(transfer_flow(), account=account)
        with EngineThread() as engine:
            result = sipp(engine.port, *scenario("engine_hangs_up.xml"), cwd=data_dir)
            assert result.returncode == 0, result.stdout[-2000:]  # the caller got a BYE
            inbound, outbound = wait_for_records(account, 2)
        status, output = phone.finish()
        assert status == 0, output[-2000:]
    finally:
        phone.stop()
    assert inbound.disposition == "transferred"
    assert inbound.hangup_cause == "callee_bye:transfer_ended"
    assert outbound.hangup_cause == "callee_bye"
    assert 1 <= outbound.duration_seconds <= 3
    assert outbound.billed


@pytest.mark.parametrize(("answer", "disposition"), [("486", "busy"), ("480", "no_answer"),
                                                     ("404", "failed")])
def test_a_failed_b_leg_takes_the_flow_failure_branch(number_with, data_dir, account,
                                                      answer, disposition):
    phone = Phone(*scenario("refuse.xml", data_dir, status=answer), cwd=data_dir)
    try:
        Trunk.objects.create(name="carrier", host="127.0.0.1", port=phone.port)
        number_with(transfer_flow(), account=account)
        with EngineThread() as engine:
            result = sipp(engine.port, *scenario("engine_hangs_up.xml"), cwd=data_dir)
            assert result.returncode == 0, result.stdout[-2000:]
            inbound, outbound = wait_for_records(account, 2)
        status, output = phone.finish()
        assert status == 0, output[-2000:]  # it got the ACK of its final response
    finally:
        phone.stop()
    assert inbound.flow_path == ["t", "sorry"]
    assert inbound.disposition == "answered"
    assert [t["to"] for t in inbound.transitions] == ["answered", "ended"]
    assert (outbound.disposition, outbound.hangup_cause) == (disposition, f"sip_{answer}")
    assert outbound.answered_at is None
    assert not outbound.billed
