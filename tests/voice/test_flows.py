"""The flow schema and the pure interpreter (chappe.voice.flows)."""

import copy
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chappe.callcenter.services import DEMO_FLOW
from chappe.voice.flows import (
    ANSWERED,
    DIGIT,
    HANGUP,
    PROMPT_FINISHED,
    RECORDING_FINISHED,
    TIMEOUT,
    TRANSFER_ENDED,
    TRANSFER_FAILED,
    W_DIGIT,
    W_DONE,
    W_PROMPT,
    W_RECORD,
    W_TRANSFER,
    Beep,
    Event,
    FlowInvalid,
    FlowState,
    Hangup,
    Play,
    Record,
    StopPlayback,
    StopRecording,
    Transfer,
    WaitDigit,
    flow_parse,
    flow_start,
    flow_step,
    is_open,
    prompts_of,
)

# Tuesday 2026-11-24 10:00 Paris (09:00 UTC); Saturday; a holiday.
OPEN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CLOSED_NIGHT = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
HOLIDAY = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)


def P(text):
    return {"text": text, "language": "fr"}


FULL = {
    "start": "hours",
    "nodes": {
        "hours": {"type": "hours", "timezone": "Europe/Paris",
                  "weekly": {d: [["09:00", "12:30"], ["14:00", "18:00"]]
                             for d in ("mon", "tue", "wed", "thu", "fri")},
                  "holidays": ["2026-12-25"], "open": "welcome", "closed": "closed"},
        "welcome": {"type": "play", "prompt": P("Bonjour"), "next": "menu"},
        "menu": {"type": "menu", "prompt": P("Tapez 1 ou 2"), "options": {"1": "sales", "2": "vm"},
                 "timeout_seconds": 4, "max_retries": 2, "invalid_prompt": P("Choix invalide"),
                 "timeout_prompt": P("Je n'ai rien entendu"), "on_failure": "bye"},
        "sales": {"type": "transfer", "number": "+33612345678", "on_failure": "vm"},
        "vm": {"type": "voicemail", "greeting": P("Laissez un message"), "beep": True,
               "max_seconds": 30},
        "closed": {"type": "play", "prompt": P("Nous sommes fermés"), "next": "vm"},
        "bye": {"type": "hangup", "prompt": P("Au revoir")},
    },
}


@pytest.fixture
def flow():
    return flow_parse(FULL)


def run(flow, events, at=OPEN):
    state, actions = flow_start(flow, at)
    log = [actions]
    for event in events:
        state, actions = flow_step(flow, state, event)
        log.append(actions)
    return state, log


def ev(kind, digit=""):
    return Event(kind, digit=digit, at=OPEN)


# --- schema ----------------------------------------------------------------------------


def test_the_demo_and_full_flows_are_valid():
    flow_parse(DEMO_FLOW)
    assert len(prompts_of(flow_parse(FULL))) == 7


@pytest.mark.parametrize(("mutate", "where"), [
    (lambda f: f.update(start="nowhere"), "start"),
    (lambda f: f["nodes"]["welcome"].update(next="ghost"), "nodes.welcome.next"),
    (lambda f: f["nodes"]["menu"]["options"].update({"12": "vm"}), "nodes.menu.menu.options"),
    (lambda f: f["nodes"]["menu"]["options"].update({"3": "ghost"}), "nodes.menu.options.3"),
    (lambda f: f["nodes"]["menu"].update(timeout_seconds=0), "nodes.menu.menu.timeout_seconds"),
    (lambda f: f["nodes"]["menu"].update(max_retries=11), "nodes.menu.menu.max_retries"),
    (lambda f: f["nodes"]["hours"].update(timezone="Mars/Olympus"), "nodes.hours.hours.timezone"),
    (lambda f: f["nodes"]["hours"]["weekly"].update(mon=[["18:00", "09:00"]]),
     "nodes.hours.hours.weekly"),
    (lambda f: f["nodes"]["hours"]["weekly"].update(mon=[["9h", "18:00"]]),
     "nodes.hours.hours.weekly"),
    (lambda f: f["nodes"]["hours"].update(holidays=["not a date"]), "nodes.hours.hours.holidays.0"),
    (lambda f: f["nodes"]["sales"].update(number="0612345678"), "nodes.sales.transfer.number"),
    (lambda f: f["nodes"]["vm"].update(max_seconds=0), "nodes.vm.voicemail.max_seconds"),
    (lambda f: f["nodes"]["welcome"].update(prompt={"language": "fr"}),
     "nodes.welcome.play.prompt"),
    (lambda f: f["nodes"]["welcome"].update(prompt={"text": "x", "audio_id": "y"}),
     "nodes.welcome.play.prompt"),
    (lambda f: f["nodes"]["welcome"].update(prompt={"audio_id": ""}),
     "nodes.welcome.play.prompt.audio_id"),  # an empty id would play silence
    (lambda f: f["nodes"]["welcome"]["prompt"].update(language="de"),
     "nodes.welcome.play.prompt.language"),
    (lambda f: f["nodes"]["welcome"]["prompt"].update(voice="-w"),
     "nodes.welcome.play.prompt.voice"),  # never an espeak-ng option
    (lambda f: f["nodes"]["welcome"].update(type="dance"), "nodes.welcome"),
    (lambda f: f["nodes"]["welcome"].update(colour="red"), "nodes.welcome.play.colour"),
    (lambda f: f["nodes"].update({"bad name!": {"type": "hangup"}}), "nodes.bad name!.[key]"),
])
def test_invalid_definitions_name_the_faulty_place(mutate, where):
    data = copy.deepcopy(FULL)
    mutate(data)
    with pytest.raises(FlowInvalid) as caught:
        flow_parse(data)
    assert where in caught.value.errors, caught.value.errors


def test_a_loop_of_opening_hours_nodes_is_refused():
    data = {"start": "a", "nodes": {
        "a": {"type": "hours", "open": "b", "closed": "b"},
        "b": {"type": "hours", "open": "a", "closed": "a"}}}
    with pytest.raises(FlowInvalid, match="invalid"):
        flow_parse(data)


@pytest.mark.parametrize("data", [None, [], "x", {}, {"start": "a"}, {"start": "a", "nodes": {}}])
def test_garbage_is_refused(data):
    with pytest.raises(FlowInvalid):
        flow_parse(data)


# --- opening hours ------------------------------------------------------------------------


@pytest.mark.parametrize(("at", "expected"), [
    (OPEN, True),
    (datetime(2026, 11, 24, 7, 59, tzinfo=UTC), False),   # 08:59 Paris
    (datetime(2026, 11, 24, 8, 0, tzinfo=UTC), True),     # 09:00 Paris, opening included
    (datetime(2026, 11, 24, 11, 30, tzinfo=UTC), False),  # 12:30 Paris, closing excluded
    (datetime(2026, 11, 24, 12, 0, tzinfo=UTC), False),   # lunch
    (datetime(2026, 11, 24, 13, 0, tzinfo=UTC), True),    # 14:00 Paris
    (CLOSED_NIGHT, False),
    (SATURDAY, False),
    (HOLIDAY, False),
    (datetime(2026, 7, 7, 7, 30, tzinfo=UTC), True),      # summer time: 09:30 Paris
])
def test_opening_hours(flow, at, expected):
    assert is_open(flow.nodes["hours"], at) is expected


def test_opening_hours_need_an_aware_instant(flow):
    with pytest.raises(ValueError, match="aware"):
        is_open(flow.nodes["hours"], datetime(2026, 1, 1))


def test_24_00_closes_at_midnight():
    node = flow_parse({"start": "h", "nodes": {
        "h": {"type": "hours", "timezone": "UTC", "weekly": {"tue": [["20:00", "24:00"]]},
              "open": "x", "closed": "x"},
        "x": {"type": "hangup"}}}).nodes["h"]
    assert is_open(node, datetime(2026, 11, 24, 23, 59, tzinfo=UTC))
    assert not is_open(node, datetime(2026, 11, 25, 0, 0, tzinfo=UTC))


# --- the interpreter ----------------------------------------------------------------------


def test_open_hours_play_the_welcome(flow):
    state, actions = flow_start(flow, OPEN)
    assert state.node == "welcome"
    assert state.waiting == W_PROMPT
    assert state.path == ("hours", "welcome")
    assert actions == [Play(flow.nodes["welcome"].prompt)]


def test_closed_hours_take_the_closed_branch(flow):
    state, actions = flow_start(flow, SATURDAY)
    assert state.path == ("hours", "closed")
    assert actions == [Play(flow.nodes["closed"].prompt)]


def test_ivr_to_voicemail_and_recording(flow):
    state, log = run(flow, [ev(PROMPT_FINISHED), ev(PROMPT_FINISHED), ev(DIGIT, "2"),
                            ev(PROMPT_FINISHED), ev(RECORDING_FINISHED)])
    assert log[1] == [Play(flow.nodes["menu"].prompt, interruptible=True)]
    assert log[2] == [WaitDigit(4)]
    assert log[3] == [Play(flow.nodes["vm"].greeting)]
    assert log[4] == [Beep(), Record(30)]
    assert log[5] == [Hangup("flow_end")]
    assert state.waiting == W_DONE
    assert state.outcome == "voicemail"
    assert state.path == ("hours", "welcome", "menu", "vm")
    assert state.digits == "2"


def test_a_digit_during_the_menu_prompt_barges_in(flow):
    state, log = run(flow, [ev(PROMPT_FINISHED), ev(DIGIT, "1")])
    assert log[2] == [StopPlayback(), Transfer("+33612345678", 30)]
    assert state.waiting == W_TRANSFER


def test_a_digit_during_the_welcome_stops_it_and_is_taken_by_the_menu(flow):
    """Type-ahead: the caller who knows the menu keys 1 during the welcome."""
    state, log = run(flow, [ev(DIGIT, "1")])
    assert log[1] == [StopPlayback(), Transfer("+33612345678", 30)]
    assert state.path == ("hours", "welcome", "menu", "sales")
    assert state.digits == "1"
    assert state.typed == ""


def test_the_demo_flow_takes_a_1_keyed_during_the_welcome_to_voicemail():
    """The README's SIPp example keys 1 while the welcome plays."""
    demo = flow_parse(DEMO_FLOW)
    state, actions = flow_start(demo, OPEN)
    state, actions = flow_step(demo, state, ev(DIGIT, "1"))
    assert actions == [StopPlayback(), Play(demo.nodes["voicemail"].greeting)]
    assert state.path == ("welcome", "menu", "voicemail")


def test_several_digits_typed_ahead_walk_several_menus():
    flow = flow_parse({"start": "w", "nodes": {
        "w": {"type": "play", "prompt": P("Bienvenue"), "next": "i"},
        "i": {"type": "play", "prompt": P("Information"), "next": "m1"},
        "m1": {"type": "menu", "prompt": P("1 ou 2"), "options": {"2": "m2"}},
        "m2": {"type": "menu", "prompt": P("3"), "options": {"3": "bye"}},
        "bye": {"type": "hangup", "prompt": P("Au revoir")}}})
    state, _ = flow_start(flow, OPEN)
    state, actions = flow_step(flow, state, ev(DIGIT, "2"))
    assert actions == [StopPlayback(), Play(flow.nodes["m2"].prompt, True)]  # "i" skipped
    assert state.path == ("w", "i", "m1", "m2")
    state, actions = flow_step(flow, state, ev(DIGIT, "3"))
    assert actions == [StopPlayback(), Play(flow.nodes["bye"].prompt)]
    assert state.digits == "23"


def test_a_wrong_digit_typed_ahead_plays_the_invalid_prompt(flow):
    state, log = run(flow, [ev(DIGIT, "9")])
    menu = flow.nodes["menu"]
    assert log[1] == [StopPlayback(), Play(menu.invalid_prompt, True), Play(menu.prompt, True)]
    assert state.retries == 1
    assert state.typed == ""


def test_digits_typed_ahead_are_dropped_by_a_voicemail_and_the_last_prompt_is_not_cut():
    flow = flow_parse({"start": "w", "nodes": {
        "w": {"type": "play", "prompt": P("Bonjour"), "next": "vm"},
        "vm": {"type": "voicemail", "greeting": P("Message"), "next": "end"},
        "end": {"type": "play", "prompt": P("Merci")}}})
    state, _ = flow_start(flow, OPEN)
    state, actions = flow_step(flow, state, ev(DIGIT, "5"))
    assert actions == [StopPlayback(), Play(flow.nodes["vm"].greeting)]
    assert state.typed == ""
    state, _ = flow_step(flow, state, ev(PROMPT_FINISHED))
    state, actions = flow_step(flow, state, ev(RECORDING_FINISHED))
    assert actions == [Play(flow.nodes["end"].prompt)]
    state, actions = flow_step(flow, state, ev(DIGIT, "1"))
    assert actions == []  # the last announcement plays to its end
    assert state.node == "end"


def test_typing_ahead_through_a_loop_of_prompts_plays_one():
    flow = flow_parse({"start": "a", "nodes": {
        "a": {"type": "play", "prompt": P("A"), "next": "b"},
        "b": {"type": "play", "prompt": P("B"), "next": "a"}}})
    state, _ = flow_start(flow, OPEN)
    state, actions = flow_step(flow, state, ev(DIGIT, "1"))  # during A: B, A, then B plays
    assert actions == [StopPlayback(), Play(flow.nodes["b"].prompt)]
    assert state.typed == ""


def test_invalid_digit_replays_with_the_invalid_prompt_then_fails_over(flow):
    state, log = run(flow, [ev(PROMPT_FINISHED), ev(PROMPT_FINISHED), ev(DIGIT, "9")])
    menu = flow.nodes["menu"]
    assert log[3] == [Play(menu.invalid_prompt, True), Play(menu.prompt, True)]
    assert state.retries == 1
    assert state.waiting == W_PROMPT
    state, actions = flow_step(flow, state, ev(DIGIT, "7"))
    assert state.retries == 2
    state, actions = flow_step(flow, state, ev(DIGIT, "#"))   # retries exhausted
    assert actions == [StopPlayback(), Play(flow.nodes["bye"].prompt)]
    state, actions = flow_step(flow, state, ev(PROMPT_FINISHED))
    assert actions == [Hangup("normal")]
    assert state.outcome == "hangup"
    assert state.digits == "97#"


def test_timeouts_replay_with_the_timeout_prompt(flow):
    state, log = run(flow, [ev(PROMPT_FINISHED), ev(PROMPT_FINISHED), ev(TIMEOUT)])
    menu = flow.nodes["menu"]
    assert log[3] == [Play(menu.timeout_prompt, True), Play(menu.prompt, True)]
    state, _ = flow_step(flow, state, ev(PROMPT_FINISHED))
    assert state.waiting == W_DIGIT
    state, _ = flow_step(flow, state, ev(TIMEOUT))
    state, _ = flow_step(flow, state, ev(PROMPT_FINISHED))
    state, actions = flow_step(flow, state, ev(TIMEOUT))
    assert actions == [Play(flow.nodes["bye"].prompt)]


def test_a_timeout_while_the_prompt_plays_is_ignored(flow):
    state, log = run(flow, [ev(PROMPT_FINISHED), ev(TIMEOUT)])
    assert log[2] == []
    assert state.retries == 0


def test_a_menu_without_failure_branch_hangs_up():
    flow = flow_parse({"start": "m", "nodes": {
        "m": {"type": "menu", "prompt": P("?"), "options": {"1": "x"}, "max_retries": 0},
        "x": {"type": "hangup"}}})
    state, _ = flow_start(flow, OPEN)
    state, _ = flow_step(flow, state, ev(PROMPT_FINISHED))
    state, actions = flow_step(flow, state, ev(TIMEOUT))
    assert actions == [Hangup("normal")]
    assert state.outcome == "menu_failed"


def test_transfer_failure_goes_to_voicemail_and_success_ends(flow):
    state, _ = run(flow, [ev(PROMPT_FINISHED), ev(PROMPT_FINISHED), ev(DIGIT, "1")])
    failed, actions = flow_step(flow, state, ev(TRANSFER_FAILED))
    assert failed.node == "vm"
    assert actions == [Play(flow.nodes["vm"].greeting)]
    done, actions = flow_step(flow, state, ev(TRANSFER_ENDED))
    assert done.outcome == "transferred"
    assert actions == [Hangup("transfer_ended")]


def test_transfer_failure_without_branch_hangs_up():
    flow = flow_parse({"start": "t", "nodes": {"t": {"type": "transfer",
                                                     "number": "+33612345678"}}})
    state, _ = flow_start(flow, OPEN)
    state, actions = flow_step(flow, state, ev(TRANSFER_FAILED))
    assert actions == [Hangup("transfer_failed")]
    assert state.outcome == "transfer_failed"


def test_voicemail_without_greeting_or_beep_records_at_once():
    flow = flow_parse({"start": "v", "nodes": {"v": {"type": "voicemail", "beep": False,
                                                     "max_seconds": 5, "next": "b"},
                                               "b": {"type": "hangup"}}})
    state, actions = flow_start(flow, OPEN)
    assert actions == [Record(5)]
    assert state.waiting == W_RECORD
    state, actions = flow_step(flow, state, ev(RECORDING_FINISHED))
    assert actions == [Hangup("normal")]


@pytest.mark.parametrize(("events", "stop", "outcome"), [
    ([], [StopPlayback()], "caller_hangup"),                                  # in the welcome
    ([ev(PROMPT_FINISHED), ev(PROMPT_FINISHED)], [], "caller_hangup"),         # waiting a digit
    ([ev(PROMPT_FINISHED), ev(PROMPT_FINISHED), ev(DIGIT, "2"), ev(PROMPT_FINISHED)],
     [StopRecording()], "voicemail"),                                         # recording
    ([ev(PROMPT_FINISHED), ev(PROMPT_FINISHED), ev(DIGIT, "1")], [], "caller_hangup"),
])
def test_caller_hangup_anywhere(flow, events, stop, outcome):
    state, _ = run(flow, events)
    state, actions = flow_step(flow, state, ev(HANGUP))
    assert actions == stop
    assert state.waiting == W_DONE
    assert state.outcome == outcome


def test_nothing_happens_after_the_end(flow):
    state, _ = run(flow, [ev(HANGUP)])
    for kind in (PROMPT_FINISHED, TIMEOUT, HANGUP, ANSWERED):
        assert flow_step(flow, state, ev(kind)) == (state, [])


def test_events_before_answer_are_ignored(flow):
    assert flow_step(flow, FlowState(), ev(DIGIT, "1")) == (FlowState(), [])


def test_play_without_next_hangs_up():
    flow = flow_parse({"start": "p", "nodes": {"p": {"type": "play", "prompt": P("x")}}})
    state, _ = flow_start(flow, OPEN)
    state, actions = flow_step(flow, state, ev(PROMPT_FINISHED))
    assert actions == [Hangup("flow_end")]
    assert state.waiting == W_DONE


def test_unknown_events_and_keys_are_refused():
    with pytest.raises(ValueError, match="unknown event"):
        Event("dance")
    with pytest.raises(ValueError, match="DTMF"):
        Event(DIGIT, digit="x")


KINDS = [PROMPT_FINISHED, TIMEOUT, RECORDING_FINISHED, TRANSFER_FAILED, TRANSFER_ENDED, HANGUP]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(KINDS),
                          st.sampled_from("0123456789*#").map(lambda d: "d" + d)),
                max_size=40),
       st.sampled_from([OPEN, SATURDAY, HOLIDAY]))
def test_any_event_sequence_keeps_the_machine_consistent(sequence, at):
    """Property: whatever the events, the state stays on a known node, actions are
    well-formed, and the machine ends exactly once (one Hangup action at most)."""
    flow = flow_parse(FULL)
    state, actions = flow_start(flow, at)
    hangups = sum(isinstance(a, Hangup) for a in actions)
    for item in sequence:
        event = Event(DIGIT, digit=item[1]) if item.startswith("d") else Event(item)
        before = state
        state, actions = flow_step(flow, state, event)
        hangups += sum(isinstance(a, Hangup) for a in actions)
        if before.waiting == W_DONE:
            assert actions == []
            assert state == before
        assert state.node is None or state.node in flow.nodes
        assert set(state.path) <= set(flow.nodes)
        assert state.retries <= flow.nodes["menu"].max_retries
    assert hangups <= 1


def test_a_mixed_loop_of_opening_hours_nodes_is_refused():
    """a (open) → b (open) → a would spin forever when both are open."""
    data = {"start": "a", "nodes": {
        "a": {"type": "hours", "open": "b", "closed": "x"},
        "b": {"type": "hours", "open": "a", "closed": "x"},
        "x": {"type": "hangup"}}}
    with pytest.raises(FlowInvalid) as caught:
        flow_parse(data)
    assert "loop" in str(caught.value.errors)


def test_chained_opening_hours_without_loop_are_fine():
    flow = flow_parse({"start": "a", "nodes": {
        "a": {"type": "hours", "timezone": "UTC", "weekly": {"tue": [["00:00", "24:00"]]},
              "open": "b", "closed": "x"},
        "b": {"type": "hours", "timezone": "UTC", "holidays": ["2026-11-24"],
              "open": "x", "closed": "y"},
        "x": {"type": "hangup"}, "y": {"type": "hangup", "prompt": P("fermé")}}})
    state, actions = flow_start(flow, OPEN)
    assert state.path == ("a", "b", "y")
    assert actions == [Play(flow.nodes["y"].prompt)]
