"""The registrations table (RFC 3261 §10.3 steps 6-8) on an injected clock."""

import pytest

from chappe.voice.registrations import (
    EXPIRES_CEILING,
    ContactRequest,
    Registrant,
    Registrations,
)

PHONE = "sip:alice@192.168.1.20:5062"
MOBILE = "sip:alice@10.0.0.7:5070;transport=tcp"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def table(clock):
    return Registrations(clock=clock, default_expires=3600, min_expires=60,
                         max_expires=7200, max_contacts=3)


def who(call_id="c1", cseq=1, username="alice", agent_id="agent-1"):
    return Registrant(username=username, call_id=call_id, cseq=cseq,
                      source=("203.0.113.5", 40000), transport="udp", account_id="acc",
                      agent_id=agent_id)


def uris(bindings):
    return [b.uri for b in bindings]


def test_a_binding_lives_for_the_expires_header_then_is_never_returned(table, clock):
    outcome = table.update(who(), [ContactRequest(PHONE)], expires=120)
    assert outcome.status == 200
    [binding] = outcome.bindings
    assert binding.expires_in(clock.now) == 120
    assert binding.source == ("203.0.113.5", 40000)
    assert binding.agent_id == "agent-1"
    clock.now += 119
    assert uris(table.contacts_of("alice")) == [PHONE]
    clock.now += 1
    assert table.contacts_of("alice") == []
    assert len(table) == 1  # expired, not yet swept
    assert table.sweep() == 1
    assert len(table) == 0


def test_the_contact_parameter_beats_the_header_and_the_default_applies_without_either(
        table, clock):
    outcome = table.update(who(), [ContactRequest(PHONE, expires=300),
                                   ContactRequest(MOBILE)], expires=None)
    assert {b.uri: b.expires_in(clock.now) for b in outcome.bindings} == {
        PHONE: 300, MOBILE: 3600}
    # Longest-lived first.
    assert uris(outcome.bindings) == [MOBILE, PHONE]


def test_too_brief_is_423_with_min_expires_and_changes_nothing(table):
    table.update(who(), [ContactRequest(PHONE)], expires=600)
    outcome = table.update(who(cseq=2), [ContactRequest(MOBILE), ContactRequest(PHONE)],
                           expires=59)
    assert (outcome.status, outcome.min_expires) == (423, 60)
    assert uris(table.contacts_of("alice")) == [PHONE]


def test_too_long_and_huge_intervals_are_shortened_to_the_maximum(table, clock):
    outcome = table.update(who(), [ContactRequest(PHONE, expires=EXPIRES_CEILING * 10)],
                           expires=None)
    assert outcome.bindings[0].expires_in(clock.now) == 7200


def test_a_refresh_extends_the_binding(table, clock):
    table.update(who(cseq=1), [ContactRequest(PHONE)], expires=120)
    clock.now += 100
    outcome = table.update(who(cseq=2), [ContactRequest(PHONE)], expires=120)
    assert outcome.status == 200
    clock.now += 100  # 200 s after the first REGISTER, 100 s after the refresh
    [binding] = table.contacts_of("alice")
    assert (binding.cseq, binding.expires_in(clock.now)) == (2, 20)


def test_expires_0_removes_one_contact_and_keeps_the_others(table):
    table.update(who(cseq=1), [ContactRequest(PHONE), ContactRequest(MOBILE)], expires=600)
    outcome = table.update(who(cseq=2), [ContactRequest(PHONE, expires=0)], expires=600)
    assert outcome.status == 200
    assert uris(outcome.bindings) == [MOBILE]


def test_the_wildcard_removes_every_binding_of_the_user_only(table):
    table.update(who(cseq=1), [ContactRequest(PHONE), ContactRequest(MOBILE)], expires=600)
    table.update(who(call_id="b1", username="bob"), [ContactRequest("sip:bob@h")],
                 expires=600)
    outcome = table.update(who(cseq=2), None, expires=0)
    assert (outcome.status, outcome.bindings) == (200, [])
    assert table.contacts_of("alice") == []
    assert uris(table.contacts_of("bob")) == ["sip:bob@h"]


def test_same_call_id_with_an_older_or_equal_cseq_is_out_of_order_and_aborts(table):
    table.update(who(cseq=5), [ContactRequest(PHONE)], expires=600)
    for cseq in (5, 4):
        outcome = table.update(who(cseq=cseq), [ContactRequest(PHONE, expires=0),
                                                ContactRequest(MOBILE)], expires=600)
        assert (outcome.status, outcome.reason) == (500, "Out of order request")
        assert uris(table.contacts_of("alice")) == [PHONE]  # nothing applied, not MOBILE
    # The wildcard follows the same rule.
    assert table.update(who(cseq=5), None, expires=0).status == 500
    assert uris(table.contacts_of("alice")) == [PHONE]


def test_another_call_id_updates_whatever_its_cseq(table, clock):
    """A phone that restarted picks a new Call-ID and starts its CSeq over."""
    table.update(who(call_id="before-reboot", cseq=90), [ContactRequest(PHONE)],
                 expires=600)
    outcome = table.update(who(call_id="after-reboot", cseq=1), [ContactRequest(PHONE)],
                           expires=60)
    assert outcome.status == 200
    [binding] = outcome.bindings
    assert (binding.call_id, binding.cseq, binding.expires_in(clock.now)) == (
        "after-reboot", 1, 60)


def test_an_expired_binding_does_not_hold_its_cseq(table, clock):
    table.update(who(cseq=9), [ContactRequest(PHONE)], expires=60)
    clock.now += 61
    assert table.update(who(cseq=3), [ContactRequest(PHONE)], expires=60).status == 200


def test_no_contact_is_a_query_answered_with_the_bindings(table):
    table.update(who(cseq=1), [ContactRequest(PHONE)], expires=600)
    outcome = table.update(who(cseq=2), [], expires=None)
    assert (outcome.status, uris(outcome.bindings)) == (200, [PHONE])


def test_more_contacts_than_allowed_is_403_and_changes_nothing(table):
    table.update(who(cseq=1), [ContactRequest(f"sip:alice@h{i}") for i in range(3)],
                 expires=600)
    outcome = table.update(who(cseq=2), [ContactRequest("sip:alice@h3")], expires=600)
    assert outcome.status == 403
    assert len(table.contacts_of("alice")) == 3


def test_contacts_of_an_agent_gather_each_of_its_usernames(table):
    table.update(who(username="alice"), [ContactRequest(PHONE)], expires=600)
    table.update(who(call_id="c2", username="alice-mobile"), [ContactRequest(MOBILE)],
                 expires=600)
    table.update(who(call_id="c3", username="bob", agent_id="agent-2"),
                 [ContactRequest("sip:bob@h")], expires=600)
    assert sorted(uris(table.contacts_of_agent("agent-1"))) == sorted([PHONE, MOBILE])
    assert uris(table.contacts_of_agent("agent-2")) == ["sip:bob@h"]
