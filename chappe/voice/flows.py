"""Call flows as data (C-3): the JSON schema, its validation, and a pure interpreter.

A flow is a graph of named nodes; `start` names the first one:

    {"start": "hours",
     "nodes": {
       "hours":   {"type": "hours", "timezone": "Europe/Paris",
                   "weekly": {"mon": [["09:00", "18:00"]], ...}, "holidays": ["2026-12-25"],
                   "open": "welcome", "closed": "closed"},
       "welcome": {"type": "play", "prompt": {"text": "Bonjour", "language": "fr"},
                   "next": "menu"},
       "menu":    {"type": "menu", "prompt": {...}, "options": {"1": "sales", "2": "vm"},
                   "timeout_seconds": 5, "max_retries": 2, "invalid_prompt": {...},
                   "timeout_prompt": {...}, "on_failure": "bye"},
       "vm":      {"type": "voicemail", "greeting": {...}, "beep": true, "max_seconds": 120},
       "sales":   {"type": "transfer", "number": "+33612345678", "on_failure": "vm"},
       "support": {"type": "queue", "queue_id": "<uuid>", "next": "vm"},
       "bye":     {"type": "hangup", "prompt": {...}}}}

The interpreter (`flow_start`, `flow_step`) is a pure state machine: given the current
state and an event (answered, digit, timeout, prompt finished, recording finished,
transfer failed, hangup) it returns the next state and the actions the engine performs
(play a prompt, wait for a digit, record, transfer, enter a queue, hang up). It does no
I/O; the runner (chappe/voice/runner.py) executes the actions and feeds back the events.

A `queue` step hands the caller to a queue of agents (chappe.voice.queueing): served, the
call ends when either side hangs up; left unserved with no overflow of the queue's own
for the reason (timeout, no agent, full), the flow goes on at `next` (none: hang up). A
queue's overflow to another destination replaces the flow (the runner switches to the
definition the queue names: `flow_switch`).

Callers who know the menu type ahead: a digit pressed during a `play` prompt that leads
on stops it and is kept for the next menu, which takes it at once instead of playing its
prompt (prompts of `play` nodes on the way are skipped too: the caller is keying through
them). Entering any other step (voicemail, transfer, hang-up) drops the digits typed
ahead, and so does a wrong one. A last announcement (`play` without `next`) is not cut.

It lives with the engine because the runner walks it; the contact center (call flows
stored per account, the API, the web editor) validates definitions with it from above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 1
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIGITS = frozenset("0123456789*#")
NODE_NAME = r"^[A-Za-z0-9_\-]{1,64}$"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_NODES = 200


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prompt(_Strict):
    """What to play: text rendered by TTS, or an uploaded audio prompt (by id)."""

    text: str | None = Field(None, min_length=1, max_length=2000)
    language: Literal["fr", "en"] = "fr"
    voice: str | None = Field(None, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_+\-]*$")
    audio_id: str | None = Field(None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_source(self) -> Prompt:
        if (self.text is None) == (self.audio_id is None):
            raise ValueError("a prompt has exactly one of text or audio_id")
        return self


class OpeningHours(_Strict):
    """Weekly opening hours in a time zone, closed on holidays (an `hours` step; a
    queue's hours)."""

    timezone: str = "Europe/Paris"
    # day → list of [open, close) "HH:MM" ranges, local time.
    weekly: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                 list[tuple[str, str]]] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("weekly")
    @classmethod
    def _ranges(cls, value):
        for ranges in value.values():
            for start, end in ranges:
                if _hhmm(start) >= _hhmm(end) and end != "24:00":
                    raise ValueError(f"range {start}-{end} is empty")
        return value


class HoursNode(OpeningHours):
    type: Literal["hours"]
    open: str
    closed: str


class PlayNode(_Strict):
    type: Literal["play"]
    prompt: Prompt
    next: str | None = None  # None: hang up after the prompt


class MenuNode(_Strict):
    type: Literal["menu"]
    prompt: Prompt
    options: dict[str, str] = Field(min_length=1)
    timeout_seconds: int = Field(5, ge=1, le=60)
    max_retries: int = Field(2, ge=0, le=10)
    invalid_prompt: Prompt | None = None
    timeout_prompt: Prompt | None = None
    on_failure: str | None = None  # None: hang up when retries are exhausted

    @field_validator("options")
    @classmethod
    def _digits(cls, value: dict[str, str]) -> dict[str, str]:
        for digit in value:
            if digit not in DIGITS:
                raise ValueError(f"option {digit!r} is not one DTMF key (0-9, *, #)")
        return value


class VoicemailNode(_Strict):
    type: Literal["voicemail"]
    greeting: Prompt | None = None
    beep: bool = True
    max_seconds: int = Field(120, ge=1, le=600)
    next: str | None = None  # None: hang up when the recording ends


class TransferNode(_Strict):
    type: Literal["transfer"]
    number: str
    timeout_seconds: int = Field(30, ge=5, le=120)
    on_failure: str | None = None

    @field_validator("number")
    @classmethod
    def _e164(cls, value: str) -> str:
        if not E164.match(value):
            raise ValueError("an E.164 number (+33…)")
        return value


class QueueNode(_Strict):
    type: Literal["queue"]
    # The queue's id (its account's: a queue of another account is never entered).
    queue_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")
    # One agent of the queue rung directly instead (a CRM's redirect to an agent,
    # decision 0057): not free or not answering, the flow goes on at `next` at once.
    agent_id: str | None = Field(None, min_length=1, max_length=64,
                                 pattern=r"^[A-Za-z0-9\-]+$")
    next: str | None = None  # left unserved and the queue overflows nowhere: None hangs up


class HangupNode(_Strict):
    type: Literal["hangup"]
    prompt: Prompt | None = None


Node = Annotated[HoursNode | PlayNode | MenuNode | VoicemailNode | TransferNode | QueueNode
                 | HangupNode, Field(discriminator="type")]


class FlowDefinition(_Strict):
    start: str
    nodes: dict[Annotated[str, Field(pattern=NODE_NAME)], Node] = Field(min_length=1,
                                                                        max_length=MAX_NODES)


def _hhmm(value: str) -> time:
    if value == "24:00":
        return time.max
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", value)
    if not match:
        raise ValueError(f"{value!r} is not HH:MM")
    return time(int(match.group(1)), int(match.group(2)))


def _targets(node) -> list[tuple[str, str | None]]:
    if isinstance(node, HoursNode):
        return [("open", node.open), ("closed", node.closed)]
    if isinstance(node, PlayNode | VoicemailNode | QueueNode):
        return [("next", node.next)]
    if isinstance(node, MenuNode):
        return [*((f"options.{d}", t) for d, t in node.options.items()),
                ("on_failure", node.on_failure)]
    if isinstance(node, TransferNode):
        return [("on_failure", node.on_failure)]
    return []


def prompts_of(definition: FlowDefinition) -> list[Prompt]:
    """Every prompt of the flow (to render them all in advance)."""
    found: list[Prompt] = []
    for node in definition.nodes.values():
        for attr in ("prompt", "greeting", "invalid_prompt", "timeout_prompt"):
            prompt = getattr(node, attr, None)
            if prompt is not None:
                found.append(prompt)
    return found


class FlowInvalid(ValueError):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid call flow")
        self.errors = errors


def flow_parse(data: object) -> FlowDefinition:
    """Validate a flow definition (JSON data) into a FlowDefinition, or raise FlowInvalid
    with errors keyed by JSON path (`nodes.menu.options.1`)."""
    try:
        definition = FlowDefinition.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"]) or "flow"
            errors.setdefault(location, []).append(error["msg"])
        raise FlowInvalid(errors) from None
    errors = {}
    if definition.start not in definition.nodes:
        errors["start"] = [f"no node named {definition.start!r}"]
    for name, node in definition.nodes.items():
        for attr, target in _targets(node):
            if target is not None and target not in definition.nodes:
                errors.setdefault(f"nodes.{name}.{attr}", []).append(
                    f"no node named {target!r}")
    if not errors:
        loop = _hours_cycle(definition)
        if loop:
            errors[f"nodes.{loop}"] = [
                "opening-hours branches loop without reaching another step"]
    if errors:
        raise FlowInvalid(errors)
    return definition


def _hours_cycle(definition: FlowDefinition) -> str | None:
    """A node on a cycle made only of opening-hours nodes (they branch without waiting
    for the caller: such a loop would never end), or None."""
    hours = {name: node for name, node in definition.nodes.items()
             if isinstance(node, HoursNode)}
    done: set[str] = set()

    def visit(name: str, stack: set[str]) -> str | None:
        if name in stack:
            return name
        if name in done or name not in hours:
            return None
        stack.add(name)
        for target in (hours[name].open, hours[name].closed):
            found = visit(target, stack)
            if found:
                return found
        stack.discard(name)
        done.add(name)
        return None

    for name in hours:
        found = visit(name, set())
        if found:
            return found
    return None


def is_open(node: OpeningHours, at: datetime) -> bool:
    """Whether the opening hours `node` cover the instant `at` (aware)."""
    if at.tzinfo is None:
        raise ValueError("an aware datetime is required")
    local = at.astimezone(ZoneInfo(node.timezone))
    if local.date() in node.holidays:
        return False
    now = local.time().replace(tzinfo=None)
    for start, end in node.weekly.get(DAYS[local.weekday()], []):
        if _hhmm(start) <= now and (end == "24:00" or now < _hhmm(end)):
            return True
    return False


# --- the interpreter ------------------------------------------------------------------

# Events the engine feeds in.
ANSWERED = "answered"
DIGIT = "digit"
TIMEOUT = "timeout"
PROMPT_FINISHED = "prompt_finished"
RECORDING_FINISHED = "recording_finished"
TRANSFER_FAILED = "transfer_failed"
TRANSFER_ENDED = "transfer_ended"
QUEUE_SERVED = "queue_served"  # an agent took the call, and it is over
QUEUE_LEFT = "queue_left"      # left unserved, with no overflow of the queue's
HANGUP = "hangup"
EVENTS = frozenset({ANSWERED, DIGIT, TIMEOUT, PROMPT_FINISHED, RECORDING_FINISHED,
                    TRANSFER_FAILED, TRANSFER_ENDED, QUEUE_SERVED, QUEUE_LEFT, HANGUP})


@dataclass(frozen=True)
class Event:
    kind: str
    digit: str = ""
    at: datetime | None = None  # for opening hours; the engine passes now

    def __post_init__(self) -> None:
        if self.kind not in EVENTS:
            raise ValueError(f"unknown event {self.kind!r}")
        if self.kind == DIGIT and self.digit not in DIGITS:
            raise ValueError(f"{self.digit!r} is not a DTMF key")


# Actions the engine performs, in order.
@dataclass(frozen=True)
class Play:
    prompt: Prompt
    interruptible: bool = False  # a digit stops it (menus)


@dataclass(frozen=True)
class Beep:
    pass


@dataclass(frozen=True)
class StopPlayback:
    pass


@dataclass(frozen=True)
class WaitDigit:
    timeout_seconds: int


@dataclass(frozen=True)
class Record:
    max_seconds: int


@dataclass(frozen=True)
class StopRecording:
    pass


@dataclass(frozen=True)
class Transfer:
    number: str
    timeout_seconds: int


@dataclass(frozen=True)
class EnterQueue:
    queue_id: str
    branch: str  # the node's name: caller priority rules may match it
    agent_id: str | None = None  # that agent only, not the queue's waiting line


@dataclass(frozen=True)
class Hangup:
    cause: str  # normal, flow_end, transfer_failed, transfer_ended, queue_served


Action = (Play | Beep | StopPlayback | WaitDigit | Record | StopRecording | Transfer
          | EnterQueue | Hangup)

# What the current node waits for.
W_START = "start"          # not answered yet
W_PROMPT = "prompt"        # a prompt to finish
W_DIGIT = "digit"          # a menu choice (prompt finished, timer running)
W_RECORD = "record"        # a voicemail recording to end
W_TRANSFER = "transfer"    # the outside leg
W_QUEUE = "queue"          # a queue: waiting for an agent, or talking to one
W_HANGUP_PROMPT = "hangup_prompt"  # the last prompt before hanging up
W_DONE = "done"            # the call is over for the flow

# Digits typed ahead kept at most (more are dropped until a menu takes some).
MAX_TYPED_AHEAD = 16


@dataclass(frozen=True)
class FlowState:
    node: str | None = None
    waiting: str = W_START
    retries: int = 0
    # The nodes visited, in order (the call record's "flow path"), and the digits keyed.
    path: tuple[str, ...] = ()
    digits: str = ""
    # Keyed during a plain prompt, not yet taken by a menu (type-ahead, module doc).
    typed: str = ""
    recorded: bool = False
    outcome: str = ""  # voicemail, transferred, hangup, caller_hangup, ...
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def flow_start(definition: FlowDefinition, at: datetime) -> tuple[FlowState, list[Action]]:
    """The call was answered: enter the start node."""
    return flow_step(definition, FlowState(), Event(ANSWERED, at=at))


def _enter(definition: FlowDefinition, state: FlowState, name: str | None,
           at: datetime | None) -> tuple[FlowState, list[Action]]:
    actions: list[Action] = []
    keyed_through: set[str] = set()
    for _hop in range(MAX_NODES + 1):
        if name is None:
            return (replace(state, node=None, waiting=W_DONE, outcome=state.outcome or "flow_end"),
                    [*actions, Hangup("flow_end")])
        node = definition.nodes[name]
        state = replace(state, node=name, retries=0, path=(*state.path, name))
        if isinstance(node, HoursNode):
            name = node.open if is_open(node, at or datetime.now().astimezone()) else node.closed
            continue
        if isinstance(node, PlayNode):
            if state.typed and node.next is not None:
                if name not in keyed_through:  # the caller keys through it
                    keyed_through.add(name)
                    name = node.next
                    continue
                state = replace(state, typed="")  # a loop of prompts with no menu in it
            return replace(state, waiting=W_PROMPT), [*actions, Play(node.prompt)]
        if isinstance(node, MenuNode):
            if state.typed:
                digit, rest = state.typed[0], state.typed[1:]
                next_state, more = _menu_digit(definition, replace(state, typed=rest), node,
                                               digit, at)
                return next_state, [*actions, *more]
            return replace(state, waiting=W_PROMPT), [*actions, Play(node.prompt, True)]
        state = replace(state, typed="")
        if isinstance(node, VoicemailNode):
            if node.greeting is not None:
                return replace(state, waiting=W_PROMPT), [*actions, Play(node.greeting)]
            return _start_recording(node, state, actions)
        if isinstance(node, TransferNode):
            return (replace(state, waiting=W_TRANSFER),
                    [*actions, Transfer(node.number, node.timeout_seconds)])
        if isinstance(node, QueueNode):
            return (replace(state, waiting=W_QUEUE),
                    [*actions, EnterQueue(node.queue_id, name, node.agent_id)])
        if isinstance(node, HangupNode):
            if node.prompt is not None:
                return replace(state, waiting=W_HANGUP_PROMPT), [*actions, Play(node.prompt)]
            return (replace(state, waiting=W_DONE, outcome="hangup"),
                    [*actions, Hangup("normal")])
    raise AssertionError("flow_parse rejects loops of opening-hours nodes")


def flow_switch(definition: FlowDefinition, state: FlowState,
                at: datetime) -> tuple[FlowState, list[Action]]:
    """The call goes on in another flow (a queue's overflow names it): enter its start
    node, the path and digits so far kept."""
    return _enter(definition, replace(state, retries=0, typed="", outcome=""),
                  definition.start, at)


def _start_recording(node: VoicemailNode, state: FlowState,
                     actions: list[Action]) -> tuple[FlowState, list[Action]]:
    out: list[Action] = [*actions, *([Beep()] if node.beep else []), Record(node.max_seconds)]
    return replace(state, waiting=W_RECORD, recorded=True), out


def _menu_retry(definition: FlowDefinition, state: FlowState, node: MenuNode,
                reprompt: Prompt | None, at) -> tuple[FlowState, list[Action]]:
    if state.retries >= node.max_retries:
        return _enter(definition, replace(state, outcome=""), node.on_failure, at) \
            if node.on_failure else (replace(state, waiting=W_DONE, outcome="menu_failed"),
                                     [Hangup("normal")])
    state = replace(state, retries=state.retries + 1, waiting=W_PROMPT)
    actions: list[Action] = []
    if reprompt is not None:
        actions.append(Play(reprompt, True))
        # then the menu prompt again, as one interruptible sequence
    actions.append(Play(node.prompt, True))
    return state, actions


def _menu_digit(definition: FlowDefinition, state: FlowState, node: MenuNode, digit: str,
                at: datetime | None) -> tuple[FlowState, list[Action]]:
    """A menu takes `digit` (keyed now or typed ahead): its option, or a retry."""
    state = replace(state, digits=state.digits + digit)
    target = node.options.get(digit)
    if target is not None:
        return _enter(definition, state, target, at)
    # A wrong digit: the caller hears why, and what was typed after it is dropped.
    return _menu_retry(definition, replace(state, typed=""), node, node.invalid_prompt, at)


def flow_step(definition: FlowDefinition, state: FlowState,
              event: Event) -> tuple[FlowState, list[Action]]:
    """The next state and actions after `event` in `state` (pure; see module doc)."""
    if state.waiting == W_DONE:
        return state, []
    if event.kind == HANGUP:
        actions: list[Action] = []
        if state.waiting in (W_PROMPT, W_HANGUP_PROMPT):
            actions.append(StopPlayback())
        if state.waiting == W_RECORD:
            actions.append(StopRecording())
        outcome = "voicemail" if state.recorded else "caller_hangup"
        return replace(state, waiting=W_DONE, outcome=outcome), actions
    if state.waiting == W_START:
        if event.kind != ANSWERED:
            return state, []
        return _enter(definition, state, definition.start, event.at)
    node = definition.nodes[state.node] if state.node is not None else None
    if isinstance(node, PlayNode) and state.waiting == W_PROMPT:
        if event.kind == PROMPT_FINISHED:
            return _enter(definition, state, node.next, event.at)
        if event.kind == DIGIT and node.next is not None:
            # Type-ahead: the prompt stops, the digit is kept for the next menu.
            typed = (state.typed + event.digit)[:MAX_TYPED_AHEAD]
            next_state, actions = _enter(definition, replace(state, typed=typed), node.next,
                                         event.at)
            return next_state, [StopPlayback(), *actions]
        return state, []
    if isinstance(node, MenuNode):
        if event.kind == DIGIT:
            stop = [StopPlayback()] if state.waiting == W_PROMPT else []
            next_state, actions = _menu_digit(definition, state, node, event.digit, event.at)
            return next_state, [*stop, *actions]
        if event.kind == PROMPT_FINISHED and state.waiting == W_PROMPT:
            return replace(state, waiting=W_DIGIT), [WaitDigit(node.timeout_seconds)]
        if event.kind == TIMEOUT and state.waiting == W_DIGIT:
            return _menu_retry(definition, state, node, node.timeout_prompt, event.at)
        return state, []
    if isinstance(node, VoicemailNode):
        if state.waiting == W_PROMPT and event.kind == PROMPT_FINISHED:
            return _start_recording(node, state, [])
        if state.waiting == W_RECORD and event.kind == RECORDING_FINISHED:
            next_state, actions = _enter(definition, replace(state, outcome="voicemail"),
                                         node.next, event.at)
            return next_state, actions
        return state, []
    if isinstance(node, TransferNode) and state.waiting == W_TRANSFER:
        if event.kind == TRANSFER_FAILED:
            if node.on_failure:
                return _enter(definition, state, node.on_failure, event.at)
            return replace(state, waiting=W_DONE, outcome="transfer_failed"), \
                [Hangup("transfer_failed")]
        if event.kind == TRANSFER_ENDED:  # the transferred-to party hung up
            return (replace(state, waiting=W_DONE, outcome="transferred"),
                    [Hangup("transfer_ended")])
        return state, []
    if isinstance(node, QueueNode) and state.waiting == W_QUEUE:
        if event.kind == QUEUE_SERVED:
            return (replace(state, waiting=W_DONE, outcome="queue_served"),
                    [Hangup("queue_served")])
        if event.kind == QUEUE_LEFT:
            return _enter(definition, state, node.next, event.at)
        return state, []
    if isinstance(node, HangupNode) and state.waiting == W_HANGUP_PROMPT:
        if event.kind == PROMPT_FINISHED:
            return replace(state, waiting=W_DONE, outcome="hangup"), [Hangup("normal")]
        return state, []
    return state, []
