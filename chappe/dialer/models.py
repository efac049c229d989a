"""Outbound call campaigns (C-5, C-9; decision 0048): the campaign, its consumers and
their attempts, the log of refused dials, and the records that make a call lawful or not
— consent, ongoing contracts, Bloctel scrubs, the account's opt-in setting.

* `CallCampaign` — an audience, a queue of agents, a caller ID, a script and its
  dispositions, a schedule, a dialing mode and per-outcome retry rules; its lifecycle
  draft → running ⇄ paused → stopped | finished.
* `CampaignContact` — one consumer of a launched campaign: a queue-like row the dialer
  claims through `common.leases`, due at `next_attempt_at`.
* `DialAttempt` — every call placed to a consumer by a campaign: with the agents'
  manual outbound calls (call records), what "4 calls or attempts in 30 days" counts.
* `DialLogEntry` — a dial the rules refused, with the rule's id (`C-5 hours`, …).
* `Consent`, `ContractExemption`, `BloctelScrub`/`BloctelNumber`, `DialerPolicy` — the
  proofs and settings the rules read.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.common.errors import Conflict
from chappe.common.ids import uuid7


class CampaignState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    STOPPED = "stopped", _("Stopped")
    FINISHED = "finished", _("Finished")


class DialMode(models.TextChoices):
    PREVIEW = "preview", _("Preview")
    PROGRESSIVE = "progressive", _("Progressive")
    PREDICTIVE = "predictive", _("Predictive")


S = CampaignState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.RUNNING, S.STOPPED}),
    S.RUNNING: frozenset({S.PAUSED, S.STOPPED, S.FINISHED}),
    S.PAUSED: frozenset({S.RUNNING, S.STOPPED}),
    S.STOPPED: frozenset(),
    S.FINISHED: frozenset(),
}


def check_transition(current: str, new: str) -> None:
    """Raise `Conflict` (409) for a move the lifecycle does not allow."""
    if new not in TRANSITIONS[current]:
        raise Conflict(_("A call campaign that is %(current)s cannot become %(new)s.") % {
            "current": S(current).label.lower(), "new": S(new).label.lower()},
            code="campaign_state", details={"state": current})


class DialerPolicy(models.Model):
    """The account's settings for outbound calling. Created on first use: opt-in on for
    accounts in France (the regime from 11 August 2026)."""

    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE,
                                   primary_key=True, related_name="+")
    opt_in = models.BooleanField(_("commercial calls need the consumer's consent"),
                                 default=True)

    def __str__(self) -> str:
        return f"dialer policy of {self.account_id}"


class CallCampaign(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="call_campaigns")
    name = models.CharField(max_length=100)
    # Commercial prospecting (the C-5 rules apply) or not (service, collection…).
    commercial = models.BooleanField(default=True)
    queue = models.ForeignKey("agents.Queue", on_delete=models.PROTECT, related_name="+")
    caller_id = models.CharField(max_length=16)  # E.164, one of the account's numbers
    script = models.TextField(blank=True)
    # [{"code": "sale", "label": "Sale", "refusal": false}, …]
    dispositions = models.JSONField(default=list)
    mode = models.CharField(max_length=12, choices=DialMode.choices,
                            default=DialMode.PROGRESSIVE)
    lines_per_agent = models.PositiveSmallIntegerField(default=1)
    # Of live-answered calls, over the campaign (C-5; the 3 % of the FTC/Ofcom practice).
    abandon_cap_percent = models.DecimalField(max_digits=4, decimal_places=2, default=3)
    # A consumer hung up on (no agent free) is not called again within this delay.
    abandon_redial_minutes = models.PositiveIntegerField(default=72 * 60)
    # {"busy": {"count": 2, "delay_minutes": 30}, "no_answer": …, "machine": …, "failed": …}
    retry_rules = models.JSONField(default=dict)
    amd = models.BooleanField(default=False)
    # What a detected machine gets: the retry rule for "machine", or this TTS message.
    amd_message = models.TextField(blank=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # [{"start": "10:00", "end": "13:00"}, …] in the consumer's time zone, inside the
    # legal slots for a commercial campaign; empty: the legal slots.
    daily_windows = models.JSONField(default=list, blank=True)
    # Audience: contacts of these lists (or the whole book) matching every filter, plus
    # numbers given or uploaded (E.164).
    lists = models.ManyToManyField("contacts.ContactList", blank=True, related_name="+")
    all_contacts = models.BooleanField(default=False)
    filters = models.JSONField(default=list, blank=True)
    numbers = models.JSONField(default=list, blank=True)

    state = models.CharField(max_length=10, choices=CampaignState.choices,
                             default=CampaignState.DRAFT)
    # Why the dialer stopped placing new calls by itself (e.g. "C-5 bloctel-scrub-stale").
    hold_reason = models.CharField(max_length=40, blank=True)
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"], name="callcamp_account_idx"),
                   models.Index(fields=["state"], name="callcamp_state_idx")]

    def __str__(self) -> str:
        return f"call campaign {self.pk}"

    @property
    def automated(self) -> bool:
        return self.mode in (DialMode.PROGRESSIVE, DialMode.PREDICTIVE)

    def refusal_codes(self) -> set[str]:
        return {d["code"] for d in self.dispositions if d.get("refusal")}


class ContactStatus(models.TextChoices):
    PENDING = "pending", _("To call")
    DIALING = "dialing", _("Being called")
    DONE = "done", _("Done")
    # Not called: on Bloctel, retries used up, a refusal, or the campaign ended.
    EXCLUDED = "excluded", _("Excluded")
    EXHAUSTED = "exhausted", _("Retries used up")


class Outcome(models.TextChoices):
    DIALING = "dialing", _("Dialing")
    ANSWERED = "answered", _("Answered, connected to an agent")
    ABANDONED = "abandoned", _("Answered, no agent free (abandoned)")
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no_answer", _("No answer")
    MACHINE = "machine", _("Answering machine")
    FAILED = "failed", _("Failed")


# The outcomes a campaign's retry rules name.
RETRIED = (Outcome.BUSY, Outcome.NO_ANSWER, Outcome.MACHINE, Outcome.FAILED)


class CampaignContact(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    campaign = models.ForeignKey(CallCampaign, on_delete=models.CASCADE,
                                 related_name="contacts")
    number = models.CharField(max_length=20)  # E.164
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=ContactStatus.choices,
                              default=ContactStatus.PENDING)
    excluded_reason = models.CharField(max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Attempts per retried outcome: {"busy": 1, …}.
    outcome_counts = models.JSONField(default=dict, blank=True)
    last_outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    disposition = models.CharField(max_length=40, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A callback the consumer asked for: the time they chose, and the agent.
    callback_at = models.DateTimeField(null=True, blank=True)
    callback_agent = models.ForeignKey("agents.Agent", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    locked_by = models.CharField(max_length=64, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "number"],
                                               name="callcamp_contact_once")]
        indexes = [models.Index(fields=["campaign", "status", "next_attempt_at"],
                                name="callcamp_contact_due_idx")]

    def __str__(self) -> str:
        return f"{self.number} in {self.campaign_id}"


class DialAttempt(models.Model):
    """A call a campaign placed (or is placing) to a consumer."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="+")
    campaign = models.ForeignKey(CallCampaign, on_delete=models.CASCADE,
                                 related_name="attempts")
    campaign_contact = models.ForeignKey(CampaignContact, on_delete=models.CASCADE,
                                         related_name="dial_attempts")
    number = models.CharField(max_length=20)
    at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices,
                               default=Outcome.DIALING)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    agent = models.ForeignKey("agents.Agent", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    disposition = models.CharField(max_length=40, blank=True)
    # The consumer refused further calls (a refusal disposition): 60 days' lockout.
    refusal = models.BooleanField(default=False)
    # The SIP Call-ID of the call: its call record (the rated, charged leg) has it too.
    sip_call_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["account", "number", "at"], name="dialattempt_num_idx"),
                   models.Index(fields=["campaign", "at"], name="dialattempt_camp_idx")]

    def __str__(self) -> str:
        return f"attempt {self.pk}"


class DialLogEntry(models.Model):
    """A dial refused by a rule (its id in `rule`), or another event of the campaign."""

    campaign = models.ForeignKey(CallCampaign, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField()
    number = models.CharField(max_length=20, blank=True)
    rule = models.CharField(max_length=40)
    retry_at = models.DateTimeField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["campaign", "-at"], name="diallog_camp_idx")]

    def __str__(self) -> str:
        return f"{self.rule} {self.number}"


class Consent(models.Model):
    """A consumer's prior, explicit consent to be called (D.223-9, the opt-in regime):
    when, where it was given, and the proof kept."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=20)
    given_at = models.DateTimeField()
    source = models.CharField(max_length=200)
    proof = models.TextField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-given_at"]
        indexes = [models.Index(fields=["account", "number"], name="consent_number_idx")]

    def __str__(self) -> str:
        return f"consent of {self.number}"


class ContractExemption(models.Model):
    """A consumer with an ongoing contract: Bloctel and opt-in do not apply (L.223-1)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=20)
    reference = models.CharField(max_length=200)
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "number"],
                                               name="contract_exempt_once")]

    def __str__(self) -> str:
        return f"contract of {self.number}"


class BloctelScrub(models.Model):
    """A list of numbers to remove, returned by the Bloctel operator and imported: the
    file kept as proof (under DATA_DIR), its digest and counts. The latest one is the
    account's opposition list and the date its campaigns' scrub is judged by."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    imported_at = models.DateTimeField()
    filename = models.CharField(max_length=200)
    path = models.CharField(max_length=500)  # under DATA_DIR
    sha256 = models.CharField(max_length=64)
    lines = models.PositiveIntegerField(default=0)
    numbers = models.PositiveIntegerField(default=0)  # valid, distinct
    invalid = models.PositiveIntegerField(default=0)
    # Consumers of running or draft campaigns the list removed at import.
    excluded = models.PositiveIntegerField(default=0)
    created_by = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-imported_at"]
        indexes = [models.Index(fields=["account", "-imported_at"], name="bloctel_acc_idx")]

    def __str__(self) -> str:
        return f"Bloctel scrub {self.imported_at:%Y-%m-%d}"


class BloctelNumber(models.Model):
    scrub = models.ForeignKey(BloctelScrub, on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=20)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scrub", "number"],
                                               name="bloctel_number_once")]

    def __str__(self) -> str:
        return self.number
