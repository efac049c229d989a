"""Agents, their skills and states, queues and their members, licences, and the queue
event log (C-4, C-7, C-8; decision 0035).

Every model is tenant data with a non-null `account`. The distribution itself is the pure
`acd.choose`; these rows are what the services feed it and what they record of it.
"""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from chappe.agents.acd import State, Strategy
from chappe.billing.models._base import AppendOnly

STATE_LABELS = {
    State.LOGGED_OUT: _("Logged out"),
    State.AVAILABLE: _("Available"),
    State.RINGING: _("Ringing"),
    State.ON_CALL: _("On a call"),
    State.WRAP_UP: _("Wrap-up"),
    State.PAUSED: _("Paused"),
}
STRATEGY_LABELS = {
    Strategy.RING_ALL: _("Ring all"),
    Strategy.LONGEST_IDLE: _("Longest idle agent"),
    Strategy.ROUND_ROBIN: _("Round robin with memory"),
    Strategy.FEWEST_CALLS: _("Fewest calls"),
    Strategy.LEAST_TALK_TIME: _("Least talk time"),
    Strategy.LINEAR: _("Linear (top-down)"),
    Strategy.RANDOM: _("Random"),
}
LEVEL = [MinValueValidator(1), MaxValueValidator(10)]


def _account() -> models.ForeignKey:
    return models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")


class _AccountName(models.Model):
    """A name in one of the account's own lists (skills, pause reasons)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = _account()
    name = models.CharField(_("name"), max_length=60)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Skill(_AccountName):
    """A skill name of the account (French, Billing, VIP…), held by agents at a level."""

    class Meta(_AccountName.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "name"],
                                               name="skill_name_per_account")]


class WrapUpCode(_AccountName):
    """How a call ended for the business (sale, callback, complaint…): the account's list
    of disposition codes an agent picks in the wrap-up form (issue 15)."""

    class Meta(_AccountName.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "name"],
                                               name="wrap_up_code_name_per_account")]


class PauseReason(_AccountName):
    """Why an agent pauses (lunch, training, back-office…): the account's list."""

    class Meta(_AccountName.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "name"],
                                               name="pause_reason_name_per_account")]


class Agent(models.Model):
    """A user who takes calls: their extension, skills, phones' SIP credentials and state."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = _account()
    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE,
                                related_name="agent")
    extension = models.CharField(_("extension"), max_length=8)
    wrap_up_seconds = models.PositiveIntegerField(_("wrap-up time (s)"), default=10)
    # Offered calls let ring out in a row before the agent is paused (0: never).
    max_no_answer = models.PositiveIntegerField(_("max unanswered calls"), default=3)
    # Digest credentials of the agent's phones (unique platform-wide: the registrar finds
    # the agent by them). Kept readable: the web app shows them to configure a phone.
    sip_username = models.CharField(max_length=64, unique=True)
    sip_password = models.CharField(max_length=64)
    state = models.CharField(max_length=16, default=State.LOGGED_OUT,
                             choices=[(s.value, STATE_LABELS[s]) for s in State])
    state_changed_at = models.DateTimeField()
    pause_reason = models.ForeignKey(PauseReason, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    # Paused by the platform after `max_no_answer` calls rang out.
    paused_for_no_answer = models.BooleanField(default=False)
    no_answer_streak = models.PositiveIntegerField(default=0)
    # Since the last login: what fewest-calls, least-talk-time and longest-idle use.
    calls_taken = models.PositiveIntegerField(default=0)
    talk_seconds = models.PositiveBigIntegerField(default=0)
    idle_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["extension"]
        constraints = [models.UniqueConstraint(fields=["account", "extension"],
                                               name="agent_extension_per_account")]
        indexes = [models.Index(fields=["account", "state"])]

    def __str__(self) -> str:
        return f"{self.extension} {self.user.email}"


class AgentSkill(models.Model):
    account = _account()
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField(validators=LEVEL)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "skill"],
                                               name="agent_skill_once")]

    def __str__(self) -> str:
        return f"{self.skill_id}:{self.level}"


class NoAgentBehaviour(models.TextChoices):
    # Callers enter and wait (an agent may log in); max wait still applies.
    WAIT = "wait", _("Wait for an agent")
    # Callers go to the no-agent overflow at once (Asterisk joinempty=no).
    OVERFLOW = "overflow", _("Overflow at once")


class Queue(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = _account()
    name = models.CharField(_("name"), max_length=100)
    strategy = models.CharField(_("strategy"), max_length=20, default=Strategy.LONGEST_IDLE,
                                choices=[(s.value, STRATEGY_LABELS[s]) for s in Strategy])
    ring_timeout_seconds = models.PositiveIntegerField(_("ring timeout per agent (s)"),
                                                       default=20)
    # A caller waits this long on a ringing tier before the next one joins.
    escalation_seconds = models.PositiveIntegerField(_("tier escalation (s)"), default=30)
    max_wait_seconds = models.PositiveIntegerField(_("maximum wait (s, 0: none)"), default=0)
    max_length = models.PositiveIntegerField(_("maximum callers (0: none)"), default=0)
    when_no_agent = models.CharField(max_length=10, choices=NoAgentBehaviour.choices,
                                     default=NoAgentBehaviour.WAIT)
    recording = models.BooleanField(_("record calls"), default=False)
    # Waiting callers hear their position this often (0: never), in this language.
    announce_seconds = models.PositiveIntegerField(_("announce the position every (s, 0: "
                                                     "never)"), default=0)
    language = models.CharField(_("language of the announcements"), max_length=2,
                                default="fr", choices=[("fr", "Français"), ("en", "English")])
    # Opening hours (chappe.voice.flows.OpeningHours as JSON; none: always open). A
    # caller arriving while closed goes to the `closed` overflow.
    hours = models.JSONField(null=True, blank=True)
    # The key a waiting caller presses to be called back instead of waiting ("": none).
    callback_key = models.CharField(_("callback key"), max_length=1, blank=True,
                                    choices=[(k, k) for k in "0123456789*#"])
    # Music on hold: an uploaded prompt (none: the built-in music).
    hold_audio = models.ForeignKey("callcenter.AudioPrompt", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    # Round-robin memory: the agent offered last.
    last_agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["account", "name"],
                                               name="queue_name_per_account")]

    def __str__(self) -> str:
        return self.name


class QueueSkill(models.Model):
    """A skill every agent offered this queue's calls holds, at `min_level` or more."""

    account = _account()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="+")
    min_level = models.PositiveSmallIntegerField(validators=LEVEL, default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "skill"],
                                               name="queue_skill_once")]

    def __str__(self) -> str:
        return f"{self.skill_id}>={self.min_level}"


class QueueMember(models.Model):
    """An agent answering a queue, in a tier (1 rings first) at a position (linear,
    round-robin order)."""

    account = _account()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="members")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="memberships")
    tier = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1),
                                                                   MaxValueValidator(9)])
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["tier", "position"]
        constraints = [models.UniqueConstraint(fields=["queue", "agent"],
                                               name="queue_member_once")]

    def __str__(self) -> str:
        return f"{self.agent_id} tier {self.tier}"


class OverflowWhen(models.TextChoices):
    TIMEOUT = "timeout", _("Maximum wait reached")
    NO_AGENT = "no_agent", _("No agent logged in")
    FULL = "full", _("Queue full")
    CLOSED = "closed", _("Closed hours")


class OverflowTarget(models.TextChoices):
    QUEUE = "queue", _("Another queue")
    VOICEMAIL = "voicemail", _("Voicemail")
    NUMBER = "number", _("An outside number")
    FLOW = "flow", _("A call flow")


class QueueOverflow(models.Model):
    """Where a caller goes when the queue cannot keep them (C-4)."""

    account = _account()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="overflows")
    when = models.CharField(max_length=10, choices=OverflowWhen.choices)
    target = models.CharField(max_length=10, choices=OverflowTarget.choices)
    target_queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    target_flow = models.ForeignKey("callcenter.CallFlow", null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="+")
    target_number = models.CharField(max_length=16, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "when"], name="queue_overflow_once"),
            models.CheckConstraint(
                name="overflow_target_complete",
                condition=(Q(target="queue", target_queue__isnull=False)
                           | Q(target="flow", target_flow__isnull=False)
                           | (Q(target="number") & ~Q(target_number=""))
                           | Q(target="voicemail"))),
        ]

    def __str__(self) -> str:
        return f"{self.when} → {self.target}"


class PriorityKind(models.TextChoices):
    CALLER_PREFIX = "caller_prefix", _("Caller's number starts with")
    DIALLED_NUMBER = "dialled_number", _("Number called")
    BRANCH = "branch", _("IVR branch")


class CallerPriorityRule(models.Model):
    """Callers matching a rule enter a queue with its priority: higher passes ahead."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = _account()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="priority_rules")
    kind = models.CharField(max_length=16, choices=PriorityKind.choices)
    value = models.CharField(max_length=64)
    priority = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])

    class Meta:
        ordering = ["-priority"]

    def __str__(self) -> str:
        return f"{self.kind} {self.value} → {self.priority}"


class LicencePool(models.Model):
    """How many agents of the account may be logged in at once (C-8). Logins lock this
    row, so concurrent logins are counted one after the other."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE,
                                   primary_key=True, related_name="+")
    licences = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return str(self.licences)


class QueueEventKind(models.TextChoices):
    # Caller side (Asterisk queue_log: ENTERQUEUE, RINGNOANSWER, CONNECT, ABANDON…).
    ENTERED = "entered", _("Caller entered")
    OFFERED = "offered", _("Offered to agent")
    RANG_OUT = "rang_out", _("Agent rang out")
    CONNECTED = "connected", _("Connected")
    ABANDONED = "abandoned", _("Abandoned")
    COMPLETED = "completed", _("Completed")
    TRANSFERRED = "transferred", _("Transferred")
    OVERFLOWED = "overflowed", _("Overflowed")
    CALLBACK = "callback", _("Callback requested")
    # Agent side.
    LOGIN = "login", _("Agent logged in")
    LOGOUT = "logout", _("Agent logged out")
    PAUSE = "pause", _("Agent paused")
    UNPAUSE = "unpause", _("Agent unpaused")


class QueueEvent(AppendOnly):
    """One fact of the queue log, append-only; the dashboards compute every KPI from it.
    `details`: position/original_position/wait (abandoned), wait (connected), talk and
    wrap_up seconds (completed), reason (pause), target (overflowed, transferred)."""

    id = models.BigAutoField(primary_key=True)
    account = _account()
    at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=QueueEventKind.choices)
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    # The call's SIP Call-ID (what the engine knows; call records carry the same).
    call_id = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["account", "at"]),
                   models.Index(fields=["call_id"]),
                   # One queue's period: what the statistics aggregate reads (decision 0042).
                   models.Index(fields=["queue", "at"], name="queue_event_queue_at")]


class CallbackRequest(models.Model):
    """A caller who left a queue asking to be called back: kept in the queue's order (their
    priority, then when they started waiting), shown to the queue's agents until one of
    them marks it done."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = _account()
    queue = models.ForeignKey(Queue, null=True, on_delete=models.SET_NULL,
                              related_name="callbacks")
    call_id = models.CharField(max_length=200)
    number = models.CharField(max_length=64)  # as the caller presented it
    priority = models.PositiveSmallIntegerField(default=0)
    entered_at = models.DateTimeField()  # when they started waiting: their place
    requested_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    class Meta:
        ordering = ["-priority", "entered_at"]
        indexes = [models.Index(fields=["account", "queue", "done_at"])]

    def __str__(self) -> str:
        return f"callback {self.number}"


class CrmEndpoint(models.Model):
    """The client's CRM web service asked on each inbound call (C-11; decisions 0042,
    0057): for the whole account (no number, no queue), one of its numbers, or one of its
    queues — the most specific wins (number, then queue, then account)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = _account()
    number = models.CharField(_("number (E.164, empty: every number)"), max_length=16,
                              blank=True)
    # A queue's endpoint answers the calls whose flow leads to that queue (decision 0057).
    queue = models.OneToOneField("agents.Queue", on_delete=models.CASCADE, null=True,
                                 blank=True, related_name="crm_endpoint")
    url = models.URLField(_("URL"), max_length=500)
    # Sent as `apikey` (Graam's parameter): the client's key for their own CRM.
    api_key = models.CharField(_("key sent to the CRM"), max_length=200, blank=True)
    timeout_ms = models.PositiveIntegerField(_("timeout (ms)"), default=1500,
                                             validators=[MinValueValidator(100),
                                                         MaxValueValidator(5000)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "number"],
                                    condition=models.Q(queue__isnull=True),
                                    name="crm_endpoint_per_number"),
            models.CheckConstraint(condition=models.Q(queue__isnull=True) | models.Q(number=""),
                                   name="crm_endpoint_number_or_queue")]

    def __str__(self) -> str:
        return self.url


class CrmLookupRecord(AppendOnly):
    """One CRM lookup: when, how it went and how long it took (no caller data)."""

    id = models.BigAutoField(primary_key=True)
    account = _account()
    at = models.DateTimeField()
    call_number = models.CharField(max_length=16)  # the account's number called
    outcome = models.CharField(max_length=20)  # ok, timeout, garbage, refused_address…
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField()
    redirected = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["account", "at"])]


class QueueHour(models.Model):
    """One queue's events of one closed UTC hour, summed (chappe.agents.rollups; decision
    0047): the T- and S-free sums and maxima of `statistics.Counts`, and the waits of the
    answered and abandoned calls as histograms (wait in seconds → calls), so the
    service-level and short-abandon thresholds stay free when it is read. Derived from
    the append-only log and rebuilt from it at will."""

    id = models.BigAutoField(primary_key=True)
    account = _account()
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()  # its start, UTC
    counts = models.JSONField(default=dict)
    answer_waits = models.JSONField(default=dict)
    abandon_waits = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "hour"],
                                               name="queue_hour_once")]

    def __str__(self) -> str:
        return f"{self.queue_id} {self.hour:%Y-%m-%d %H}:00Z"


class RollupMark(models.Model):
    """How far the hourly rollups reach: every hour before `until` is rolled up."""

    name = models.CharField(max_length=40, unique=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} until {self.until:%Y-%m-%d %H}:00Z"
