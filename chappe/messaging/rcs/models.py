"""RCS agents (M-15): the client's branded sender, validated by each carrier before it
sends (decision 0049).

An agent is written by the client (`draft`), submitted (`pending`: one review per
carrier, each pending), and decided by the operator per carrier in the back-office:
approved on one carrier at least → `launched` (it may send); rejected by all →
`rejected`. Any change to a submitted agent sends it back to `pending` with fresh
reviews. The operator may `suspend` it; an agent with no send for 6 months is
`deactivated` after a notice (`services.agents_deactivate_idle`).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.common.ids import uuid7


class AgentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Pending validation")
    LAUNCHED = "launched", _("Launched")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")
    DEACTIVATED = "deactivated", _("Deactivated")


class UseCase(models.TextChoices):
    OTP = "otp", _("One-time passwords")
    TRANSACTIONAL = "transactional", _("Transactional")
    PROMOTIONAL = "promotional", _("Promotional")
    MULTI_USE = "multi_use", _("Multi-use")


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class RcsAgent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="rcs_agents")
    brand_name = models.CharField(max_length=40)
    # The sender its messages carry and its users' replies are addressed to.
    sender = models.CharField(max_length=20, unique=True, editable=False)
    logo = models.FileField(upload_to="rcs-agents/", blank=True)
    banner = models.FileField(upload_to="rcs-agents/", blank=True)
    color = models.CharField(max_length=7, help_text=_("#RRGGBB"))
    description = models.CharField(max_length=100)
    phone = models.CharField(max_length=20)
    website = models.URLField(max_length=300)
    email = models.EmailField()
    privacy_url = models.URLField(max_length=300)
    terms_url = models.URLField(max_length=300)
    use_case = models.CharField(max_length=16, choices=UseCase.choices)
    status = models.CharField(max_length=12, choices=AgentStatus.choices,
                              default=AgentStatus.DRAFT)
    status_reason = models.CharField(max_length=300, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    # The last send through it: 6 months without one deactivates it (M-15).
    last_used_at = models.DateTimeField(null=True, blank=True)
    idle_notice_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "messaging"
        ordering = ["brand_name"]
        verbose_name = _("RCS agent")
        verbose_name_plural = _("RCS agents")

    def __str__(self) -> str:
        return f"{self.brand_name} ({self.status})"

    def save(self, *args, **kwargs) -> None:
        if not self.sender:
            self.sender = f"rcs-{self.id.hex[-12:]}"
        super().save(*args, **kwargs)


class RcsAgentReview(models.Model):
    """One carrier's decision on an agent's current version."""

    agent = models.ForeignKey(RcsAgent, on_delete=models.CASCADE, related_name="reviews")
    carrier = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=ReviewStatus.choices,
                              default=ReviewStatus.PENDING)
    reason = models.CharField(max_length=300, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=254, blank=True)

    class Meta:
        app_label = "messaging"
        ordering = ["carrier"]
        constraints = [models.UniqueConstraint(fields=["agent", "carrier"],
                                               name="one_review_per_carrier")]

    def __str__(self) -> str:
        return f"{self.carrier}: {self.status}"


class RcsSession(models.Model):
    """A 24-hour RCS conversation window with one recipient, opened by their interaction
    (M-15): billed once at the session price when it opens."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="rcs_sessions")
    agent_sender = models.CharField(max_length=20)
    recipient = models.CharField(max_length=20)
    opened_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    price_micros = models.BigIntegerField(default=0)

    class Meta:
        app_label = "messaging"
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["account", "recipient", "-ends_at"],
                                name="rcs_session_open_idx")]

    def __str__(self) -> str:
        return f"RCS session {self.recipient} until {self.ends_at:%Y-%m-%d %H:%M}"


class InteractionKind(models.TextChoices):
    TEXT = "text", _("Text reply")
    SUGGESTION = "suggestion", _("Suggestion tapped")


class RcsInteraction(models.Model):
    """What an RCS MO was (a text, or a tap on a suggestion with its postback data), the
    session it belongs to and what it was billed (a tap: the session price)."""

    reply = models.OneToOneField("messaging.Reply", on_delete=models.CASCADE,
                                 related_name="rcs_interaction")
    session = models.ForeignKey(RcsSession, on_delete=models.CASCADE,
                                related_name="interactions")
    kind = models.CharField(max_length=12, choices=InteractionKind.choices)
    postback_data = models.CharField(max_length=2048, blank=True)
    price_micros = models.BigIntegerField(default=0)

    class Meta:
        app_label = "messaging"

    def __str__(self) -> str:
        return f"{self.kind} {self.postback_data}".strip()
