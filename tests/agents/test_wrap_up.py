"""The wrap-up of a call an agent took (issue 15): a disposition code of the account's
list and a note, on the call's inbound record, written by that agent only."""

from datetime import UTC, datetime

import pytest

from chappe.agents.models import WrapUpCode
from chappe.agents.services.states import agent_phone_lost
from chappe.agents.services.wrap_up import call_wrap_up
from chappe.callcenter.models import CallRecord
from chappe.common.errors import Conflict, NotFound, ValidationFailed
from tests.agents.conftest import actor_of
from tests.voice.test_queues_sipp import log_in

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def taken(account, agent, ref="webrtc-1"):
    inbound = CallRecord.objects.create(
        account=account, sip_call_id="in-1", direction="inbound", from_number="+33600000001",
        to_number="+33189000077", started_at=AT, disposition="answered")
    CallRecord.objects.create(
        account=account, sip_call_id=ref, parent=inbound, direction="internal",
        from_number="+33600000001", to_number=f"agent:{agent.pk}", started_at=AT,
        disposition="answered")
    return inbound


def test_the_agent_who_took_the_call_writes_code_and_note_on_the_inbound_record(
        admin_actor, make_agent):
    account = admin_actor.account
    agent = make_agent()
    code = WrapUpCode.objects.create(account=account, name="Sale")
    inbound = taken(account, agent)
    record = call_wrap_up(actor=actor_of(agent), account=account, call_ref="webrtc-1",
                          code_id=str(code.pk), note="  Yearly plan. ")
    assert record.pk == inbound.pk
    inbound.refresh_from_db()
    assert (inbound.wrap_up_code, inbound.wrap_up_note) == ("Sale", "Yearly plan.")


def test_an_outbound_call_the_agent_placed_is_wrapped_up_on_its_record(
        admin_actor, make_agent):
    """The softphone names an outbound call by its trunk leg (the record's Call-ID); only
    the agent who placed it writes its wrap-up."""
    account = admin_actor.account
    agent, other = make_agent(), make_agent()
    code = WrapUpCode.objects.create(account=account, name="Callback")
    placed = CallRecord.objects.create(
        account=account, sip_call_id="trunk-7", direction="outbound",
        from_number="+33189000077", to_number="+33600000001", started_at=AT,
        disposition="answered", agent_id=agent.pk)
    with pytest.raises(Conflict):
        call_wrap_up(actor=actor_of(other), account=account, call_ref="trunk-7")
    record = call_wrap_up(actor=actor_of(agent), account=account, call_ref="trunk-7",
                          code_id=str(code.pk), note="Call back Monday")
    assert record.pk == placed.pk
    placed.refresh_from_db()
    assert (placed.wrap_up_code, placed.wrap_up_note) == ("Callback", "Call back Monday")


def test_another_agent_an_unknown_code_or_a_call_not_yet_recorded_are_refused(
        admin_actor, make_agent, make_account):
    account = admin_actor.account
    agent, other = make_agent(), make_agent()
    taken(account, agent)
    foreign = WrapUpCode.objects.create(account=make_account("Other"), name="Sale")
    with pytest.raises(Conflict):  # not their leg: as if it did not exist (yet)
        call_wrap_up(actor=actor_of(other), account=account, call_ref="webrtc-1")
    with pytest.raises(ValidationFailed):
        call_wrap_up(actor=actor_of(agent), account=account, call_ref="webrtc-1",
                     code_id=str(foreign.pk))
    with pytest.raises(ValidationFailed):
        call_wrap_up(actor=actor_of(agent), account=account, call_ref="webrtc-1",
                     code_id="not-a-uuid")
    with pytest.raises(ValidationFailed):
        call_wrap_up(actor=actor_of(agent), account=account, call_ref="webrtc-1",
                     note="x" * 2001)
    with pytest.raises(NotFound):  # not an agent at all
        call_wrap_up(actor=admin_actor, account=account, call_ref="webrtc-1")
    assert CallRecord.objects.get(sip_call_id="in-1").wrap_up_code == ""


def test_a_lost_phone_pauses_an_available_agent_and_leaves_a_logged_out_one(
        admin_actor, make_agent, licences):
    account = admin_actor.account
    licences(1)
    agent, away = make_agent(), make_agent()
    log_in(agent)
    agent_phone_lost(account=account, agent=agent, reason="closed", now=AT)
    agent_phone_lost(account=account, agent=away, reason="closed", now=AT)
    agent.refresh_from_db()
    away.refresh_from_db()
    assert (agent.state, away.state) == ("paused", "logged_out")
