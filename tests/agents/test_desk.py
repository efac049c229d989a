"""The queue desk the voice engine works with (chappe.agents.desk), without SIP: callers
entering, the offers of each turn applied to the agents' rows, overflows, wrap-up, what
is logged, and that a call never enters another account's queue. The clock is the
test's."""

from datetime import UTC, datetime, timedelta

import pytest

from chappe.agents.acd import State
from chappe.agents.desk import QueueDesk
from chappe.agents.models import QueueEvent
from chappe.agents.selectors import callback_list
from chappe.agents.services.setup import (
    MemberDraft,
    OverflowDraft,
    PriorityRuleDraft,
    queue_create,
)
from chappe.agents.services.states import agent_state_set
from chappe.common.errors import ValidationFailed
from chappe.voice.directory import QueueCall, QueueOffer
from chappe.voice.flows import QueueNode
from tests.agents.conftest import actor_of

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def desk(clock):
    return QueueDesk(clock=clock)


def available(*agents, at=T0):
    for agent in agents:
        agent_state_set(actor=actor_of(agent), account=agent.account, agent=agent,
                        state="available", now=at)


def caller(queue, call_id, number="+33612345678", account_id=None):
    return QueueCall(call_id=call_id, account_id=str(account_id or queue.account_id),
                     queue_id=str(queue.pk), caller=number, dialled="+33189000077",
                     branch="support")


def state_of(agent):
    agent.refresh_from_db()
    return State(agent.state)


def test_a_priority_caller_is_offered_first_and_the_agent_rings(desk, admin_actor,
                                                                make_agent, licences):
    licences(1)
    agent = make_agent()
    queue = queue_create(actor=admin_actor, account=admin_actor.account,
                         fields={"name": "Support"}, members=[MemberDraft(agent.pk)],
                         priority_rules=[PriorityRuleDraft("caller_prefix", "+3361", 10)])
    assert desk.enter(caller(queue, "first", number="+33700000000")).admitted
    assert desk.enter(caller(queue, "vip", number="+33612345678")).admitted
    available(agent)
    tick = desk.tick(str(queue.pk))
    assert tick.offers == [QueueOffer("vip", str(agent.pk), 20)]
    assert state_of(agent) == State.RINGING
    entered = QueueEvent.objects.filter(kind="entered").order_by("id")
    assert [(e.call_id, e.details["priority"], e.details["position"]) for e in entered] == [
        ("first", 0, 1), ("vip", 10, 1)]
    # Ringing, the agent is offered nothing more; the other caller waits.
    assert desk.tick(str(queue.pk)).offers == []


def test_ring_all_offers_every_free_agent_and_a_withdrawn_offer_counts_nothing(
        desk, admin_actor, make_agent, licences):
    licences(2)
    first, second = make_agent(), make_agent()
    queue = queue_create(actor=admin_actor, account=admin_actor.account,
                         fields={"name": "All", "strategy": "ring_all"},
                         members=[MemberDraft(first.pk), MemberDraft(second.pk)])
    available(first, second)
    desk.enter(caller(queue, "c1"))
    offers = desk.tick(str(queue.pk)).offers
    assert {o.agent_id for o in offers} == {str(first.pk), str(second.pk)}
    by_agent = {o.agent_id: o for o in offers}
    desk.connected(by_agent[str(first.pk)])
    desk.rang_out(by_agent[str(second.pk)], withdrawn=True)  # the first answered
    assert state_of(first) == State.ON_CALL
    assert state_of(second) == State.AVAILABLE
    second.refresh_from_db()
    assert second.no_answer_streak == 0
    assert not QueueEvent.objects.filter(agent=second, kind="rang_out").exists()


def test_wrap_up_delays_the_next_offer_until_it_is_over(desk, clock, admin_actor, make_agent,
                                                        licences):
    licences(1)
    agent = make_agent(wrap_up_seconds=10)
    queue = queue_create(actor=admin_actor, account=admin_actor.account,
                         fields={"name": "Support"}, members=[MemberDraft(agent.pk)])
    available(agent)
    desk.enter(caller(queue, "c1"))
    [offer] = desk.tick(str(queue.pk)).offers
    visit = desk.connected(offer)
    assert (visit.agent_id, visit.wait_seconds) == (str(agent.pk), 0)
    clock.now += timedelta(seconds=30)
    desk.completed(offer, talk_seconds=30)
    assert state_of(agent) == State.WRAP_UP
    desk.enter(caller(queue, "c2"))
    clock.now += timedelta(seconds=9)
    assert desk.tick(str(queue.pk)).offers == []
    clock.now += timedelta(seconds=1)
    assert [o.call_id for o in desk.tick(str(queue.pk)).offers] == ["c2"]
    completed = QueueEvent.objects.get(kind="completed")
    assert completed.details == {"talk": 30, "wrap_up": 10}


def test_a_full_queue_overflows_to_another_queue_and_says_so(desk, admin_actor, make_agent):
    account = admin_actor.account
    spare = queue_create(actor=admin_actor, account=account, fields={"name": "Spare"})
    queue = queue_create(actor=admin_actor, account=account,
                         fields={"name": "Small", "max_length": 1},
                         overflows=[OverflowDraft(when="full", target="queue",
                                                  queue_id=spare.pk)])
    assert desk.enter(caller(queue, "c1")).admitted
    entry = desk.enter(caller(queue, "c2"))
    assert (entry.admitted, entry.reason) == (False, "full")
    node = entry.overflow.nodes[entry.overflow.start]
    assert isinstance(node, QueueNode)
    assert node.queue_id == str(spare.pk)
    overflowed = QueueEvent.objects.get(kind="overflowed")
    assert (overflowed.call_id, overflowed.details["when"],
            overflowed.details["target"]) == ("c2", "full", "queue")


def test_callers_who_waited_too_long_leave_and_without_an_overflow_go_on_in_their_flow(
        desk, clock, admin_actor):
    queue = queue_create(actor=admin_actor, account=admin_actor.account,
                         fields={"name": "Slow", "max_wait_seconds": 60})
    desk.enter(caller(queue, "c1"))
    clock.now += timedelta(seconds=59)
    assert desk.tick(str(queue.pk)).leaving == []
    clock.now += timedelta(seconds=1)
    [gone] = desk.tick(str(queue.pk)).leaving
    assert (gone.call_id, gone.reason, gone.overflow) == ("c1", "timeout", None)
    assert QueueEvent.objects.get(kind="overflowed").details["wait"] == 60


def test_a_call_never_enters_another_accounts_queue(desk, admin_actor, other_account):
    queue = queue_create(actor=admin_actor, account=admin_actor.account,
                         fields={"name": "Ours"})
    entry = desk.enter(caller(queue, "intruder", account_id=other_account.pk))
    assert (entry.admitted, entry.reason) == (False, "unknown")
    assert not QueueEvent.objects.exists()
    assert desk.enter(QueueCall(call_id="x", account_id=str(other_account.pk),
                                queue_id="not-a-uuid", caller="+33600000000",
                                dialled="+33189000077", branch="b")).reason == "unknown"


def test_waiting_callers_are_told_their_position_in_the_queues_language(desk, admin_actor):
    queue = queue_create(actor=admin_actor, account=admin_actor.account,
                         fields={"name": "Told", "announce_seconds": 30, "language": "en"})
    entry = desk.enter(caller(queue, "c1"))
    desk.enter(caller(queue, "c2"))
    assert entry.announce_seconds == 30
    announcements = desk.tick(str(queue.pk)).announcements
    assert announcements["c2"].text == "You are number 2 in the queue."
    assert announcements["c2"].language == "en"
    # Once the queue has served calls, the wait to expect is said too (150 s a call, no
    # agent logged in: counted as one; the second caller, 300 s: 5 minutes).
    for talk in (100, 140):
        QueueEvent.objects.create(account=queue.account, queue=queue, kind="completed",
                                  at=T0, details={"talk": talk, "wrap_up": 30})
    assert desk.tick(str(queue.pk)).announcements["c2"].text == (
        "You are number 2 in the queue. Your wait should be about 5 minutes.")
    queue.language = "fr"
    queue.save()
    assert desk.tick(str(queue.pk)).announcements["c1"].text == (
        "Vous êtes en position 1 dans la file d'attente. "
        "Votre attente devrait être d\u2019environ 3 minutes.")


def test_an_abandon_is_logged_with_its_position_and_wait(desk, clock, admin_actor):
    queue = queue_create(actor=admin_actor, account=admin_actor.account, fields={"name": "Q"})
    first, second = caller(queue, "c1"), caller(queue, "c2")
    desk.enter(first)
    desk.enter(second)
    clock.now += timedelta(seconds=12)
    desk.abandoned(first)
    clock.now += timedelta(seconds=3)
    visit = desk.abandoned(second)
    assert (visit.outcome, visit.wait_seconds) == ("abandoned", 15)
    last = QueueEvent.objects.filter(kind="abandoned").order_by("id").last()
    assert last.details == {"position": 1, "original_position": 2, "wait": 15,
                            "cause": "caller_hangup"}


def test_a_caller_arriving_while_the_queue_is_closed_goes_to_the_closed_overflow(
        desk, clock, admin_actor):
    account = admin_actor.account
    queue = queue_create(actor=admin_actor, account=account, fields={
        "name": "Office", "hours": {"timezone": "Europe/Paris",
                                    "weekly": {"mon": [["09:00", "18:00"]]},
                                    "holidays": ["2026-12-25"]}},
        overflows=[OverflowDraft(when="closed", target="number", number="+33145000000")])
    clock.now = datetime(2026, 12, 7, 7, 59, tzinfo=UTC)  # Monday 08:59 in Paris
    entry = desk.enter(caller(queue, "early"))
    assert (entry.admitted, entry.reason) == (False, "closed")
    assert entry.overflow.nodes[entry.overflow.start].number == "+33145000000"
    assert QueueEvent.objects.get(call_id="early").details["when"] == "closed"
    clock.now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 in Paris: open
    assert desk.enter(caller(queue, "on-time")).admitted


def test_opening_hours_are_checked_when_a_queue_is_saved(admin_actor):
    with pytest.raises(ValidationFailed) as refused:
        queue_create(actor=admin_actor, account=admin_actor.account, fields={
            "name": "Bad", "hours": {"timezone": "Mars/Olympus", "weekly": {}}})
    assert "timezone" in refused.value.details["hours"][0]


def test_a_transfer_names_an_agent_by_extension_a_queue_by_name_or_an_outside_number(
        desk, admin_actor, make_agent, other_account):
    agent = make_agent()
    queue = queue_create(actor=admin_actor, account=admin_actor.account,
                         fields={"name": "Sales Team"})
    account_id = str(admin_actor.account.pk)
    to_agent = desk.transfer_target(account_id, agent.extension)
    assert (to_agent.kind, to_agent.id) == ("agent", str(agent.pk))
    to_queue = desk.transfer_target(account_id, "sales%20team")
    assert (to_queue.kind, to_queue.id, to_queue.label) == ("queue", str(queue.pk),
                                                          "Sales Team")
    assert desk.transfer_target(account_id, "999") is None  # no agent, queue nor number
    outside = desk.transfer_target(account_id, "0145000000")
    assert (outside.kind, outside.id) == ("number", "+33145000000")
    # Another account's extension is no agent here (a number, if it were one).
    assert desk.transfer_target(str(other_account.pk), agent.extension) is None


def test_a_callback_request_takes_the_callers_place_and_leaves_the_queue(desk, clock,
                                                                         admin_actor):
    queue = queue_create(actor=admin_actor, account=admin_actor.account,
                         fields={"name": "Busy", "callback_key": "*", "announce_seconds": 30,
                                 "language": "en"},
                         priority_rules=[PriorityRuleDraft("branch", "vip", 5)])
    ordinary = caller(queue, "c1")
    entry = desk.enter(ordinary)
    assert (entry.callback_key, entry.callback_goodbye.language) == ("*", "en")
    assert desk.tick(str(queue.pk)).announcements["c1"].text == \
        "You are number 1 in the queue. Press * to be called back."
    vip = QueueCall(call_id="c2", account_id=str(queue.account_id), queue_id=str(queue.pk),
                    caller="+33700000000", dialled="+33189000077", branch="vip")
    desk.enter(vip)
    clock.now += timedelta(seconds=40)
    visit = desk.callback(ordinary)
    desk.callback(vip)
    assert (visit.outcome, visit.wait_seconds) == ("callback", 40)
    assert desk.tick(str(queue.pk)).announcements == {}  # nobody waits any more
    numbers = [c.number for c in callback_list(account=admin_actor.account)]
    assert numbers == ["+33700000000", "+33612345678"]  # the priority caller first


def test_the_crms_priority_passes_over_the_rules(desk, admin_actor):
    from chappe.agents.models import QueueEvent

    queue = queue_create(actor=admin_actor, account=admin_actor.account,
                         fields={"name": "Crm"},
                         priority_rules=[PriorityRuleDraft("branch", "support", 5)])
    desk.enter(caller(queue, "ruled"))
    named = QueueCall(call_id="named", account_id=str(queue.account_id),
                      queue_id=str(queue.pk), caller="+33700000001", dialled="+33189000077",
                      branch="support", priority=40)
    desk.enter(named)
    entered = dict(QueueEvent.objects.filter(queue=queue, kind="entered")
                   .values_list("call_id", "details__priority"))
    assert entered == {"ruled": 5, "named": 40}
    assert desk.tick(str(queue.pk)).leaving == []
