"""Bulk SMS campaigns: a template, an audience, a sender and a schedule, launched as one
`Send` (docs/decisions/0021-campaigns.md).

* `Campaign` — what the client prepares, its lifecycle, the launch cursor and counters.
* `CampaignRecipient` — the audience frozen at launch: one row per number, its primary
  key (campaign, number) makes "one message per number per campaign" (M-6) a database
  fact, and the launch accepts it in number order from a committed cursor, so a crash
  neither loses nor doubles a recipient. Emptied once the launch is over.
* `CampaignSample` — the campaign's messages counted by status at one instant: the
  progress page and its chart read these instead of counting a million rows per poll.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.common.errors import Conflict
from chappe.common.ids import uuid7
from chappe.messaging.models import MessageKind


class CampaignStatus(models.TextChoices):
    # Being prepared: editable, previewed, estimated.
    DRAFT = "draft", _("Draft")
    # Held for the operator's review (operator skew, M-9): released or refused.
    REVIEW = "review", _("Held for review")
    # The audience is being accepted (rated, billed) in the background.
    LAUNCHING = "launching", _("Launching")
    # Accepted so far; its messages are released to the carriers in waves.
    RUNNING = "running", _("Running")
    # Nothing more is accepted nor leaves until it is resumed.
    PAUSED = "paused", _("Paused")
    # Its waiting messages are being canceled (and credited back) in the background.
    CANCELING = "canceling", _("Canceling")
    # Final: every message has its final status.
    COMPLETED = "completed", _("Completed")
    # Final: canceled by the client; what had left stays sent.
    CANCELED = "canceled", _("Canceled")
    # Final: refused by the operator after review.
    REFUSED = "refused", _("Refused")


S = CampaignStatus
FINAL = frozenset({S.COMPLETED, S.CANCELED, S.REFUSED})
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.REVIEW, S.LAUNCHING}),
    S.REVIEW: frozenset({S.LAUNCHING, S.REFUSED, S.CANCELED}),
    S.LAUNCHING: frozenset({S.RUNNING, S.PAUSED, S.CANCELING}),
    S.RUNNING: frozenset({S.PAUSED, S.CANCELING, S.COMPLETED}),
    S.PAUSED: frozenset({S.LAUNCHING, S.RUNNING, S.CANCELING}),
    S.CANCELING: frozenset({S.CANCELED}),
    **{status: frozenset() for status in FINAL},
}


def check_campaign_transition(current: str, new: str) -> None:
    """Raise `Conflict` (409) for a move the lifecycle does not allow."""
    if new not in TRANSITIONS[current]:
        raise Conflict(_("A campaign that is %(current)s cannot become %(new)s.") % {
            "current": S(current).label.lower(), "new": S(new).label.lower()},
            code="campaign_state", details={"status": current})


class Campaign(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="campaigns")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=MessageKind.choices,
                            default=MessageKind.MARKETING)
    sender = models.CharField(max_length=20)
    # The template, with placeholders ({first_name|Client}, custom field keys).
    text = models.TextField()
    # Append the STOP mention (M-10): always for marketing, optional for transactional.
    stop_mention = models.BooleanField(default=True)
    max_segments = models.PositiveSmallIntegerField(null=True, blank=True)
    # Null: as soon as launched.
    send_at = models.DateTimeField(null=True, blank=True)
    # Audience: contacts of these lists (or the whole book), matching every filter, plus
    # pasted numbers (E.164).
    lists = models.ManyToManyField("contacts.ContactList", blank=True, related_name="+")
    all_contacts = models.BooleanField(default=False)
    # [{"field": "city" | "custom:<key>", "op": "eq" | …, "value": "…"}]
    filters = models.JSONField(default=list, blank=True)
    numbers = models.JSONField(default=list, blank=True)

    status = models.CharField(max_length=10, choices=CampaignStatus.choices,
                              default=CampaignStatus.DRAFT)
    # Why it stopped by itself (e.g. "insufficient_credit"), shown with the paused status.
    stop_reason = models.CharField(max_length=32, blank=True)
    # The operator-skew findings that held it (M-9), and the review's outcome.
    review = models.JSONField(default=list, blank=True)
    reviewed_by = models.CharField(max_length=254, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # {country: {operator name: MCC+MNC}}: recipients rated at the operator-specific price.
    operator_pricing = models.JSONField(default=dict, blank=True)
    # An RCS campaign (issue 19, decision 0058): sent through this agent with this rich
    # content; each recipient not RCS-capable, or not reached within `fallback_after`
    # seconds, gets `fallback_text` as an SMS — the path of a single RCS send. No agent:
    # an SMS campaign.
    rcs_agent = models.ForeignKey("messaging.RcsAgent", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="campaigns")
    rcs_content = models.JSONField(null=True, blank=True)
    fallback_text = models.TextField(blank=True)
    fallback_after = models.PositiveIntegerField(null=True, blank=True)
    send = models.OneToOneField("messaging.Send", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="campaign")

    # Launch: the audience snapshot, then its acceptance in number order, lane by lane.
    snapshot_taken = models.BooleanField(default=False)
    recipients = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    # Outcomes of the processed recipients.
    messages = models.PositiveIntegerField(default=0)
    opted_out = models.PositiveIntegerField(default=0)
    not_sent = models.PositiveIntegerField(default=0)
    cost_micros = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    # The range of its message ids (time-ordered): releasing and canceling walk it.
    first_message_id = models.UUIDField(null=True, blank=True)
    last_message_id = models.UUIDField(null=True, blank=True)
    # Pacing: messages wait held until released in waves; the last one released.
    release_cursor = models.UUIDField(null=True, blank=True)
    released = models.PositiveIntegerField(default=0)
    # Bumped at each (re)start: a background job of an older run stops by itself.
    run = models.PositiveIntegerField(default=0)
    next_sample_at = models.DateTimeField(null=True, blank=True)

    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    launch_requested_at = models.DateTimeField(null=True, blank=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"], name="campaign_account_idx"),
                   models.Index(fields=["status"], name="campaign_status_idx")]

    def __str__(self) -> str:
        return f"campaign {self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @property
    def editable(self) -> bool:
        return self.status == CampaignStatus.DRAFT

    @property
    def launch_done(self) -> bool:
        return self.launched_at is not None

    @property
    def launch_percent(self) -> int:
        if self.launch_done:
            return 100
        return min(100, self.processed * 100 // self.recipients) if self.recipients else 0


class LaunchLane(models.Model):
    """A share of a launch's snapshot, the numbers in (`cursor`, `upper`] (`upper` ""
    for no bound), accepted in transactions of its own beside the other lanes' (decision
    0044). `cursor` is the last number accepted: a launch killed mid-way resumes from it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="lanes")
    lane = models.PositiveSmallIntegerField()
    cursor = models.CharField(max_length=20, blank=True)
    upper = models.CharField(max_length=20, blank=True)
    done = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "lane"],
                                               name="launch_lane_unique")]

    def __str__(self) -> str:
        return f"lane {self.lane} of campaign {self.campaign_id}"


class CampaignRecipient(models.Model):
    """One number of a launched campaign's audience, until the launch is over."""

    pk = models.CompositePrimaryKey("campaign", "number")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    number = models.CharField(max_length=20)
    # "" until known (a pasted number, a contact stored before its number was derived).
    country = models.CharField(max_length=2, blank=True)
    operator = models.CharField(max_length=64, blank=True)
    # The contact it comes from, read at acceptance for personalization. No constraint
    # nor index: a contact deleted meanwhile simply gives the placeholders' defaults.
    contact = models.ForeignKey("contacts.Contact", null=True, blank=True,
                                on_delete=models.DO_NOTHING, db_constraint=False,
                                db_index=False, related_name="+")

    def __str__(self) -> str:
        return f"recipient of {self.campaign_id}"


class CampaignSample(models.Model):
    """The campaign's messages counted by status at `at` (progress and its chart)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField()
    # {message status: count}
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["campaign", "at"], name="campaign_sample_idx")]

    def __str__(self) -> str:
        return f"sample of {self.campaign_id} at {self.at:%H:%M:%S}"
