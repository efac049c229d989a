"""Trunk routing and caps (chappe.voice.trunking): pure, so tested exhaustively here;
tests/voice/test_trunks_sipp.py shows them on the wire."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chappe.voice.trunking import TrunkGate, TrunkRoute, trunk_candidates


def trunk(name, *prefixes, **caps):
    return TrunkRoute(name=name, host="192.0.2.1", number_prefixes=prefixes, **caps)


def test_the_longest_matching_prefix_comes_first_and_catch_alls_last():
    trunks = [trunk("any"), trunk("fr", "+33"), trunk("fr-mobile", "+336", "+337"),
              trunk("us", "+1"), trunk("fr-2", "+33")]
    assert [t.name for t in trunk_candidates("+33612345678", trunks)] == [
        "fr-mobile", "fr", "fr-2", "any"]
    assert [t.name for t in trunk_candidates("+33145000000", trunks)] == ["fr", "fr-2", "any"]
    assert [t.name for t in trunk_candidates("+442071234567", trunks)] == ["any"]
    assert trunk_candidates("+442071234567", trunks[1:]) == []


@given(st.lists(st.lists(st.sampled_from(["+3", "+33", "+336", "+3361", "+44", "+1"]),
                         max_size=3), min_size=1, max_size=6),
       st.sampled_from(["+33612345678", "+33145000000", "+447700900000", "+12025550100"]))
def test_candidates_are_ordered_by_matching_prefix_length(prefix_sets, number):
    trunks = [trunk(f"t{i}", *prefixes) for i, prefixes in enumerate(prefix_sets)]
    candidates = trunk_candidates(number, trunks)
    lengths = [t.prefix_length(number) for t in candidates]
    assert None not in lengths
    assert lengths == sorted(lengths, reverse=True)
    assert {t.name for t in candidates} == {t.name for t in trunks
                                            if t.prefix_length(number) is not None}


def test_the_concurrent_call_cap_counts_calls_until_released():
    gate, carrier = TrunkGate(), trunk("carrier", max_concurrent_calls=2)
    assert gate.admit(carrier, 0) == ""
    assert gate.admit(carrier, 0) == ""
    assert gate.admit(carrier, 0) == "concurrent"
    gate.release("carrier")
    assert gate.admit(carrier, 0) == ""
    assert gate.in_progress("carrier") == 2


def test_the_calls_per_second_cap_is_a_token_bucket():
    gate, carrier = TrunkGate(), trunk("carrier", calls_per_second=2)
    assert [gate.admit(carrier, 10.0) for _ in range(3)] == ["", "", "rate"]
    assert gate.admit(carrier, 10.4) == "rate"   # 0.8 token
    assert gate.admit(carrier, 10.5) == ""       # 1.0 token
    assert gate.admit(carrier, 100.0) == ""      # the bucket holds 2 at most
    assert gate.admit(carrier, 100.0) == ""
    assert gate.admit(carrier, 100.0) == "rate"
    assert gate.in_progress("carrier") == 5  # refused calls take no slot


def test_no_caps_when_zero_and_no_release_without_admission():
    gate, free = TrunkGate(), trunk("free")
    assert all(gate.admit(free, 0) == "" for _ in range(1000))
    with pytest.raises(RuntimeError):
        gate.release("other")


@pytest.mark.django_db
def test_the_operator_s_trunk_lists_are_checked():
    from django.core.exceptions import ValidationError

    from chappe.callcenter.models import Trunk

    trunk = Trunk(name="carrier", host="192.0.2.1", number_prefixes=["+33", "+336"],
                  allowed_ips=["192.0.2.1", "2001:db8::1"])
    trunk.full_clean()
    for field, value in [("number_prefixes", ["33"]), ("number_prefixes", "+33"),
                         ("number_prefixes", ["+33a"]), ("allowed_ips", ["192.0.2.300"]),
                         ("allowed_ips", "192.0.2.1")]:
        bad = Trunk(name="carrier", host="192.0.2.1", **{field: value})
        with pytest.raises(ValidationError) as refused:
            bad.full_clean()
        assert field in refused.value.message_dict
