"""Carrier trunks over loopback, with SIPp on both sides: outbound routing by number
prefix with failover (a 503, a trunk at its cap), digest authentication both ways,
outbound over TCP, and the inbound source-address and calls-per-second checks."""

import logging
from decimal import Decimal

import pytest

from chappe.callcenter.models import Trunk
from chappe.voice.trunking import TrunkRoute
from tests.ports import free_port
from tests.voice.sipp_tools import (
    SIPP_TESTS,
    EngineThread,
    Phone,
    scenario,
    sipp,
    wait_for_records,
)

pytestmark = SIPP_TESTS

MOBILE = "+33612345678"
SHORT = {"start": "w", "nodes": {"w": {"type": "play",
                                       "prompt": {"text": "Au revoir.", "language": "fr"}}}}


def transfer_to(number: str) -> dict:
    return {"start": "t", "nodes": {
        "t": {"type": "transfer", "number": number, "timeout_seconds": 5, "on_failure": "no"},
        "no": {"type": "hangup"}}}


def transfer_through(data_dir, number_with, account, phones_trunks, *,
                     caller="engine_hangs_up.xml", number=MOBILE, engine_setup=None):
    """Call a number whose flow transfers to `number`; returns (inbound, outbound) call
    records once every phone is done."""
    number_with(transfer_to(number), account=account)
    try:
        with EngineThread() as engine:
            if engine_setup is not None:
                engine_setup(engine.engine)
            result = sipp(engine.port, *scenario(caller), cwd=data_dir)
            assert result.returncode == 0, result.stdout[-2000:]
            records = wait_for_records(account, 2)
        for phone in phones_trunks:
            status, output = phone.finish()
            assert status == 0, output[-2000:]
    finally:
        for phone in phones_trunks:
            phone.stop()
    return records


def test_the_longest_prefix_trunk_is_tried_first_and_a_503_fails_over(
        number_with, data_dir, account, buy_credits):
    buy_credits(account, Decimal("10"))
    busy = Phone(*scenario("refuse.xml", data_dir, status="503"), cwd=data_dir)
    answering = Phone(*scenario("callee_hangs_up.xml"), cwd=data_dir)
    Trunk.objects.create(name="a-fr-mobiles", host="127.0.0.1", port=busy.port,
                         number_prefixes=["+336", "+337"])
    Trunk.objects.create(name="b-france", host="127.0.0.1", port=answering.port,
                         number_prefixes=["+33"])
    # Would time out (nobody there) if it were tried: it only takes +1 numbers.
    Trunk.objects.create(name="c-usa", host="127.0.0.1", port=free_port(),
                         number_prefixes=["+1"])
    _inbound, outbound = transfer_through(data_dir, number_with, account, [busy, answering])
    assert outbound.disposition == "answered"
    assert outbound.transitions[0]["why"] == ("a-fr-mobiles: 503 Refused; "
                                              "200 OK via trunk b-france")
    assert outbound.billed


def test_a_trunk_at_its_concurrent_call_cap_is_skipped(number_with, data_dir, account,
                                                       buy_credits):
    buy_credits(account, Decimal("10"))
    answering = Phone(*scenario("callee_hangs_up.xml"), cwd=data_dir)
    capped = Trunk.objects.create(name="a-fr-mobiles", host="127.0.0.1", port=free_port(),
                                  number_prefixes=["+336"], max_concurrent_calls=1)
    Trunk.objects.create(name="b-france", host="127.0.0.1", port=answering.port,
                         number_prefixes=["+33"])

    def one_call_in_progress(engine):  # on the capped trunk, as if another call held it
        assert engine.gate.admit(TrunkRoute(name=capped.name, host="",
                                            max_concurrent_calls=1), 0) == ""

    _inbound, outbound = transfer_through(data_dir, number_with, account, [answering],
                                          engine_setup=one_call_in_progress)
    assert outbound.transitions[0]["why"] == ("a-fr-mobiles: at its concurrent cap; "
                                              "200 OK via trunk b-france")


@pytest.mark.parametrize(("password", "disposition", "caller"), [
    ("s3cret", "answered", "hangup_during_prompt.xml"),  # the caller hangs up after 0.7 s
    ("wrong", "failed", "engine_hangs_up.xml"),  # the flow's failure branch hangs up
])
def test_outbound_digest_authentication(number_with, data_dir, account, buy_credits,
                                        password, disposition, caller):
    buy_credits(account, Decimal("10"))
    carrier = Phone(*scenario("digest_challenge.xml"), cwd=data_dir)
    Trunk.objects.create(name="carrier", host="127.0.0.1", port=carrier.port,
                         username="chappe", password=password)
    inbound, outbound = transfer_through(data_dir, number_with, account, [carrier],
                                         caller=caller)
    assert outbound.disposition == disposition
    if disposition == "failed":
        assert outbound.hangup_cause == "sip_403"
        assert inbound.flow_path == ["t", "no"]


def test_outbound_calls_go_over_tcp_when_the_trunk_says_so(number_with, data_dir, account,
                                                           buy_credits):
    buy_credits(account, Decimal("10"))
    phone = Phone(*scenario("callee_hangs_up.xml"), cwd=data_dir, transport="t1")
    Trunk.objects.create(name="carrier", host="127.0.0.1", port=phone.port, transport="tcp")
    inbound, outbound = transfer_through(data_dir, number_with, account, [phone])
    assert outbound.disposition == "answered"
    assert inbound.hangup_cause == "callee_bye:transfer_ended"
    assert outbound.billed


def inbound_trunk(**fields) -> Trunk:
    return Trunk.objects.create(name="carrier", host="127.0.0.1", **fields)


@pytest.mark.parametrize(("password", "answered"), [("s3cret", True), ("wrong", False)])
def test_inbound_digest_authentication(number_with, data_dir, caplog, password, answered):
    caplog.set_level(logging.INFO, logger="chappe.voice.calls")
    trunk = inbound_trunk(allowed_ips=["127.0.0.1"], inbound_username="carrier",
                          inbound_password="s3cret")
    account = number_with(SHORT, trunk=trunk)
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("auth_caller.xml"), "-au", "carrier",
                      "-ap", password, cwd=data_dir)
        assert result.returncode == 0, result.stdout[-2000:]
        if answered:
            [record] = wait_for_records(account)
            assert record.hangup_cause == "callee_bye:flow_end"
        else:  # 401, then 403 to the wrong answer: no call, no record
            with pytest.raises(AssertionError):
                wait_for_records(account, timeout=1)
    assert "challenged 401 (missing)" in caplog.text
    assert ("rejected 403: wrong digest credentials" in caplog.text) is not answered


def test_inbound_calls_from_other_addresses_are_refused(number_with, data_dir, caplog):
    account = number_with(SHORT, trunk=inbound_trunk(allowed_ips=["192.0.2.1"]))
    with EngineThread() as engine:
        result = sipp(engine.port, *scenario("engine_hangs_up.xml"), cwd=data_dir)
        assert result.returncode != 0  # SIPp wanted a 200
    assert "from 127.0.0.1: not an address of trunk carrier" in caplog.text
    with pytest.raises(AssertionError):
        wait_for_records(account, timeout=0.5)


def test_inbound_calls_past_the_calls_per_second_cap_get_503(number_with, data_dir):
    account = number_with(SHORT, trunk=inbound_trunk(calls_per_second=1))
    with EngineThread() as engine:
        sipp(engine.port, *scenario("engine_hangs_up.xml"), "-r", "20", calls=3, cwd=data_dir)
        records = wait_for_records(account, 3)
    causes = sorted(r.hangup_cause for r in records)
    assert causes == ["callee_bye:flow_end", "rejected_503", "rejected_503"]
