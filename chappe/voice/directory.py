"""The interface the engine is given to reach data: plain types in, plain types out.

The engine knows nothing of where numbers, flows, trunks, prompts and call records live.
The role that starts it (`chappe voice`) hands it a directory; the contact center's
implementation is on its database (chappe.callcenter.directory), the runner's tests use a
fake. So the engine imports no model, no service and no framework, and the floors above
it (the contact center, the API, the web app) may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from chappe.voice.callstate import CallLog
from chappe.voice.flows import FlowDefinition, FlowState, Prompt
from chappe.voice.trunking import TrunkRoute

if TYPE_CHECKING:  # chappe.voice.crm imports this module
    from chappe.voice.crm import CallerInfo


@dataclass(frozen=True)
class Refusal:
    """Why every call to a number is refused for now (P-8: its account or contact-center
    service is suspended): the status and reason phrase the caller gets, and what the
    call record says (the caller, a third party, is not told why)."""

    status: int
    reason: str
    detail: str


@dataclass(frozen=True)
class CallTarget:
    """Where an inbound call goes: the account, the rented number and its flow."""

    account_id: str
    e164: str
    definition: FlowDefinition | None
    rental_id: str | None = None
    flow_version_id: str | None = None
    # The carrier trunk the number belongs to: its source addresses, inbound digest
    # credentials and caps apply to the call.
    trunk: TrunkRoute | None = None
    # Set when the number takes no call now: the call is refused with it.
    refusal: Refusal | None = None


@dataclass
class LegOutcome:
    """An outbound leg the call placed (a transfer's B-leg): one more call record."""

    log: CallLog
    caller: str  # the number presented (E.164)
    callee: str
    disposition: str
    hangup_cause: str
    media: dict = field(default_factory=dict)
    # "outbound" (through a carrier trunk: billed) or "internal" (an agent's phone).
    direction: str = "outbound"


@dataclass(frozen=True)
class QueueCall:
    """A caller entering a queue (a flow's `queue` step)."""

    call_id: str
    account_id: str
    queue_id: str
    caller: str   # E.164, or what the caller presented
    dialled: str  # the number called (E.164)
    branch: str   # the flow node it came through
    # The account's CRM's priority for this caller (chappe.voice.crm): over the rules.
    priority: int | None = None
    # Who the account's CRM says is calling: the agents' browsers show it when they ring.
    caller_info: CallerInfo | None = None


@dataclass(frozen=True)
class QueueEntry:
    """The queue's answer to a caller entering: admitted (waiting, announced every
    `announce_seconds` when set; `hold` is the uploaded music on hold, or None for the
    built-in one), or not with the reason and the flow the call goes on in (None:
    the flow's own `next`)."""

    admitted: bool
    reason: str = ""  # not admitted: closed, full, no_agent, unknown
    overflow: FlowDefinition | None = None
    announce_seconds: int = 0
    hold: Prompt | None = None
    # The queue records its calls: the caller is told first (`notice`).
    record: bool = False
    notice: Prompt | None = None
    # The key that asks for a callback instead of waiting ("": none), and what the caller
    # hears then before the call ends.
    callback_key: str = ""
    callback_goodbye: Prompt | None = None


@dataclass(frozen=True)
class QueueOffer:
    """An agent to ring for a waiting caller (chosen and moved to `ringing` already)."""

    call_id: str
    agent_id: str
    ring_timeout_seconds: int


@dataclass(frozen=True)
class QueueLeaving:
    """A waiting caller the queue no longer keeps (max wait, last agent gone): why, and
    the flow they go on in (None: the flow's own `next`)."""

    call_id: str
    reason: str
    overflow: FlowDefinition | None = None


@dataclass(frozen=True)
class QueueTick:
    """What a queue's turn decided: the agents to ring, the callers leaving, and what to
    announce to each waiting caller when it is time (their position, in their queue's
    language; only when the queue announces)."""

    offers: list[QueueOffer] = field(default_factory=list)
    leaving: list[QueueLeaving] = field(default_factory=list)
    announcements: dict[str, Prompt] = field(default_factory=dict)


@dataclass(frozen=True)
class TransferTarget:
    """Where an agent's REFER sends the caller: another agent (by extension) or a queue
    (by name) of the caller's account, or an outside number."""

    kind: str  # "agent", "queue" or "number"
    id: str    # the agent's or the queue's id, or the number (E.164)
    label: str  # the extension, the queue's name or the number, as the queue log says it


@dataclass
class QueueVisit:
    """A call's stay in a queue, for its call record: who answered, after how long."""

    queue_id: str
    agent_id: str = ""
    wait_seconds: int = 0
    outcome: str = ""  # served, abandoned, overflowed:<reason>, refused:<reason>


@dataclass
class CallOutcome:
    """What the directory stores at the end of a call."""

    target: CallTarget
    caller: str
    log: CallLog
    state: FlowState
    disposition: str
    hangup_cause: str
    recording: bytes | None = None
    media: dict = field(default_factory=dict)
    legs: list[LegOutcome] = field(default_factory=list)
    queues: list[QueueVisit] = field(default_factory=list)
    # The recording of a conversation with an agent (a stereo WAV file the directory
    # takes over), when their queue records.
    conversation: Path | None = None
    # "outbound": a call an agent placed from their browser (issue 15): `caller` is the
    # account's number presented, `target.e164` the number called, `agent_id` theirs.
    direction: str = "inbound"
    agent_id: str = ""


@dataclass(frozen=True)
class MessageCall:
    """A TTS voice message to call, claimed (leased) for this engine to place. `id` is
    the message's."""

    id: str
    account_id: str
    recipient: str  # E.164
    caller: str  # the number presented, without "+" ("anonymous" when there is none)
    prompt: Prompt
    repeat: int = 1


@dataclass(frozen=True)
class MessageCallEnd:
    """How a voice message's call ended, for the directory to record."""

    status: str  # an outcome of chappe.voice.outbound (LISTENED … ERROR)
    sip_status: int  # the final response (200 when answered; 503 when none came)
    started_at: datetime
    ended_at: datetime
    answered_at: datetime | None = None
    sip_call_id: str = ""
    plays: int = 0  # how many times the message was played to the end
    trunk: str = ""  # the trunk that carried the call


class MessageCalls(Protocol):
    """The TTS voice messages, as their channel hands them to an engine: claimed with a
    lease, kept leased while their calls are in flight, their outcomes recorded
    (chappe.messaging.services.tts implements it). Synchronous: the database directory
    runs it on its database thread."""

    def claim(self, *, limit: int) -> list[MessageCall]:
        """The messages due now, leased to this engine (at most `limit`)."""
        ...

    def extend(self, ids: list[str]) -> None:
        """Keep the messages `ids` leased: their calls are still in flight."""
        ...

    def finish(self, call: MessageCall, end: MessageCallEnd, *, call_ref: str) -> None:
        """Record how the call of `call` ended; `call_ref` names the call record the
        contact center keeps of it ("" when no call was placed)."""
        ...


@dataclass(frozen=True)
class SipCredentials:
    """The digest credentials of a SIP username (an agent's phones register with them):
    whose they are, and the password the web app shows the agent."""

    username: str
    password: str
    account_id: str
    agent_id: str


class QueueDesk(Protocol):
    """The queues' side on the data (the agents app implements it: the pure choice of
    `chappe.agents.acd` applied, agents' states and the queue event log written).
    Synchronous: the database directory runs it on its database thread, so its waiting
    callers (kept in memory, per engine) are only ever touched from there."""

    def enter(self, call: QueueCall) -> QueueEntry:
        """Admit a caller, or say where they go instead."""
        ...

    def tick(self, queue_id: str) -> QueueTick:
        """The queue's turn: due wrap-ups ended, the offers to make now (agents moved
        to ringing), the callers who must leave."""
        ...

    def rang_out(self, offer: QueueOffer, *, withdrawn: bool) -> None:
        """The offer ended unanswered: the agent's phone rang out (counted towards their
        automatic pause) or, `withdrawn`, another agent or the caller ended it first."""
        ...

    def connected(self, offer: QueueOffer) -> QueueVisit:
        """The agent answered: the caller leaves the waiting list, the agent is on the
        call."""
        ...

    def completed(self, offer: QueueOffer, *, talk_seconds: int) -> None:
        """The answered call is over: the agent goes to wrap-up."""
        ...

    def abandoned(self, call: QueueCall) -> QueueVisit:
        """The caller hung up while waiting."""
        ...

    def leave(self, call: QueueCall) -> None:
        """The caller leaves without any of the above (the engine stops)."""
        ...

    def callback(self, call: QueueCall) -> QueueVisit:
        """The caller pressed the callback key: they leave the queue, and their callback
        request takes their place in the queue's order."""
        ...

    def feature_code(self, agent_id: str, code: str) -> Prompt:
        """A feature code dialled from the agent's phone (chappe.voice.features) applied:
        what the phone hears (the new state, or why nothing changed)."""
        ...

    def transfer_target(self, account_id: str, target: str) -> TransferTarget | None:
        """What a REFER's target names in the account (None: nothing)."""
        ...

    def transferred(self, offer: QueueOffer, *, target: TransferTarget,
                    talk_seconds: int) -> None:
        """The agent of `offer` handed the caller on to `target`: their call is over."""
        ...

    def offer_direct(self, call: QueueCall, agent_id: str) -> QueueOffer | None:
        """An offer of the caller to one agent (a transfer to them): the agent moves to
        ringing; None when they are not free."""
        ...

    def phone_lost(self, agent_id: str, reason: str) -> None:
        """The agent's last phone is gone (their browser closed or unreachable): they are
        offered no call until they come back (paused)."""
        ...

    def own_call(self, agent_id: str, *, busy: bool) -> bool:
        """A call the agent placed starts (`busy`) or ends: on a call meanwhile, offered
        none (True: their state moved)."""
        ...

    def call_event(self, account_id: str, kind: str, payload: dict) -> None:
        """A call event (`call.ringing`, `call.answered`) of a call the engine placed for
        the API, sent to the account's webhook."""
        ...


class PhoneDirectory(Protocol):
    """What the registrar reads (chappe.voice.registrar)."""

    async def sip_credentials(self, username: str) -> SipCredentials | None:
        """The credentials of `username`; None when no agent has it."""
        ...


class Directory(Protocol):
    """What a call's runner reads and writes (chappe.voice.runner)."""

    async def resolve(self, callee: str, caller: str) -> CallTarget | None:
        """Where a call to `callee` goes; None when no account holds that number."""
        ...

    async def routes(self, e164: str) -> list[TrunkRoute]:
        """The trunks that may carry an outbound call to `e164`, best first."""
        ...

    async def prompt_pcm(self, target: CallTarget, prompt: Prompt) -> bytes:
        """The prompt as 8 kHz mono 16-bit samples (chappe.voice.media.prompts)."""
        ...

    async def finish(self, outcome: CallOutcome) -> None:
        """Store the outcome of an ended call (its call records, its voicemail)."""
        ...


class AsyncQueueDesk(Protocol):
    """`QueueDesk`, awaited (the directory runs each call on its database thread)."""

    async def enter(self, call: QueueCall) -> QueueEntry: ...

    async def tick(self, queue_id: str) -> QueueTick: ...

    async def rang_out(self, offer: QueueOffer, *, withdrawn: bool) -> None: ...

    async def connected(self, offer: QueueOffer) -> QueueVisit: ...

    async def completed(self, offer: QueueOffer, *, talk_seconds: int) -> None: ...

    async def abandoned(self, call: QueueCall) -> QueueVisit: ...

    async def leave(self, call: QueueCall) -> None: ...

    async def callback(self, call: QueueCall) -> QueueVisit: ...

    async def feature_code(self, agent_id: str, code: str) -> Prompt: ...

    async def transfer_target(self, account_id: str, target: str) -> TransferTarget | None: ...

    async def transferred(self, offer: QueueOffer, *, target: TransferTarget,
                          talk_seconds: int) -> None: ...

    async def offer_direct(self, call: QueueCall, agent_id: str) -> QueueOffer | None: ...

    async def phone_lost(self, agent_id: str, reason: str) -> None: ...

    async def own_call(self, agent_id: str, *, busy: bool) -> bool: ...

    async def call_event(self, account_id: str, kind: str, payload: dict) -> None: ...


class EngineDirectory(Directory, PhoneDirectory, Protocol):
    """What the engine is given: the runners' directory, the phones' credentials, the
    queues (None: no call enters one), the TTS voice messages to call, and its close when
    the engine stops."""

    queues: AsyncQueueDesk | None

    async def message_calls_claim(self) -> list[MessageCall]:
        """The voice messages due now, leased to this engine."""
        ...

    async def message_calls_extend(self, calls: list[MessageCall]) -> None:
        """Heartbeat: the calls of these messages are still in flight."""
        ...

    async def message_call_finish(self, call: MessageCall, end: MessageCallEnd) -> None:
        """Record how a claimed message's call ended."""
        ...

    async def close(self) -> None:
        """Write what is still queued and give back what the directory holds."""
        ...
