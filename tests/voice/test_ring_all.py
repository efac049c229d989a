"""Ringing an agent's registered phones together (chappe.voice.outbound.ring_all) on a
fake originator: where each INVITE goes, the first answer wins, the losers are CANCELed
or hung up, and the refusal chosen when nobody answers. Against SIPp phones and baresip:
tests/voice/test_registrar_sipp.py and test_registrar_baresip.py."""

import asyncio

import pytest

from chappe.voice.outbound import ring_all
from chappe.voice.registrations import Binding
from chappe.voice.sip.base import OutboundFailed


def phone(uri, source, transport="udp"):
    return Binding(username="alice", uri=uri, expires_at=0.0, call_id="c", cseq=1,
                   source=source, transport=transport)


DESK = phone("sip:alice@192.168.1.20:5062", ("203.0.113.5", 40000))
MOBILE = phone("sip:alice-x@10.0.0.7:5070;transport=tcp", ("198.51.100.9", 51111), "tcp")


class Answered:
    def __init__(self, uri):
        self.uri = uri
        self.hung_up = False

    async def hangup(self):
        self.hung_up = True


class FakeOriginator:
    """Each contact's INVITE ends as `plans[uri]`: ("answer", delay), ("fail", status) or
    ("ring",) — rings until CANCELed."""

    def __init__(self, plans):
        self.plans = plans
        self.invites = []
        self.canceled = []
        self.answered = []

    async def originate(self, *, caller, callee, remote, transport="udp", auth=None,
                        timeout=30.0, uri=""):
        self.invites.append((uri, remote, transport, caller))
        plan = self.plans[uri]
        try:
            if plan[0] == "fail":
                raise OutboundFailed(plan[1], "refused")
            if plan[0] == "ring":
                await asyncio.Event().wait()
            await asyncio.sleep(plan[1])
        except asyncio.CancelledError:
            self.canceled.append(uri)
            raise
        call = Answered(uri)
        self.answered.append(call)
        return call


def ring(originator, bindings):
    return asyncio.run(ring_all(originator, bindings, caller="33100000000", timeout=5))


def test_each_invite_goes_to_the_contact_uri_through_the_register_s_source():
    originator = FakeOriginator({DESK.uri: ("answer", 0), MOBILE.uri: ("ring",)})
    call = ring(originator, [DESK, MOBILE])
    assert call.uri == DESK.uri
    assert sorted(originator.invites) == sorted([
        (DESK.uri, ("203.0.113.5", 40000), "udp", "33100000000"),
        (MOBILE.uri, ("198.51.100.9", 51111), "tcp", "33100000000")])
    assert originator.canceled == [MOBILE.uri]
    assert not call.hung_up


def test_a_phone_that_answers_in_the_same_instant_is_hung_up():
    originator = FakeOriginator({DESK.uri: ("answer", 0), MOBILE.uri: ("answer", 0)})
    call = ring(originator, [DESK, MOBILE])
    [loser] = [c for c in originator.answered if c is not call]
    assert loser.hung_up
    assert not call.hung_up


def test_a_refusing_phone_does_not_stop_the_others():
    originator = FakeOriginator({DESK.uri: ("fail", 486), MOBILE.uri: ("answer", 0.01)})
    assert ring(originator, [DESK, MOBILE]).uri == MOBILE.uri


@pytest.mark.parametrize(("statuses", "chosen"), [
    ((486, 408), 486),  # busy beats no answer
    ((503, 480), 480),  # a 4xx beats a 5xx
    ((486, 603), 603),  # a 6xx (decline) beats everything
])
def test_when_nobody_answers_the_refusal_is_chosen_as_a_forking_proxy_would(statuses,
                                                                               chosen):
    originator = FakeOriginator({DESK.uri: ("fail", statuses[0]),
                                 MOBILE.uri: ("fail", statuses[1])})
    with pytest.raises(OutboundFailed) as refused:
        ring(originator, [DESK, MOBILE])
    assert refused.value.status == chosen


def test_no_registered_phone_is_480_without_any_invite():
    originator = FakeOriginator({})
    with pytest.raises(OutboundFailed) as refused:
        ring(originator, [])
    assert refused.value.status == 480
    assert originator.invites == []


def test_cancelling_the_ringing_cancels_every_invite():
    """The caller hung up while the agent's phones rang."""
    originator = FakeOriginator({DESK.uri: ("ring",), MOBILE.uri: ("ring",)})

    async def main():
        task = asyncio.create_task(ring_all(originator, [DESK, MOBILE], caller="1",
                                            timeout=5))
        while len(originator.invites) < 2:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert sorted(originator.canceled) == sorted([DESK.uri, MOBILE.uri])
