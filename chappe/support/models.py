"""Support tickets (P-11) and incidents with acknowledgement deadlines (C-12)."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    # A question or request: no deadline.
    NONE = "", _("Question or request")
    # The service cannot be reached at all: acknowledged within 24 working hours.
    BLOCKING = "blocking", _("Blocking incident")
    # The service works degraded: acknowledged within 48 working hours.
    SEMI_BLOCKING = "semi_blocking", _("Semi-blocking incident")


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")  # waiting for the operator
    ANSWERED = "answered", _("Answered")  # waiting for the client
    CLOSED = "closed", _("Closed")


class Channel(models.TextChoices):
    WEB = "web", _("Web app")
    EMAIL = "email", _("E-mail")


class Ticket(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # What an e-mail subject carries to thread replies, `[#xxxxxxxx]`: the id's first
    # 8 hex digits (looked up within the sender's account).
    reference = models.CharField(max_length=8, db_index=True, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="support_tickets")
    opened_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    # Where answers go: the opener's address (or the sender of an e-mailed ticket).
    email = models.EmailField()
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.WEB)
    subject = models.CharField(max_length=200)
    severity = models.CharField(max_length=16, choices=Severity.choices, blank=True)
    status = models.CharField(max_length=16, choices=TicketStatus.choices,
                              default=TicketStatus.OPEN)
    opened_at = models.DateTimeField()
    # C-12: the deadline of the operator's first answer, in working hours (incidents).
    acknowledge_due_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    # Set once when the deadline passed without an acknowledgement (the SLA job).
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["account", "opened_at"]),
                   models.Index(fields=["acknowledged_at", "acknowledge_due_at"])]

    def __str__(self) -> str:
        return f"[#{self.reference}] {self.subject}"

    def save(self, *args, **kwargs) -> None:
        self.reference = self.reference or self.pk.hex[:8]
        super().save(*args, **kwargs)


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey("accounts.User", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    from_operator = models.BooleanField(default=False)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.ticket} · {self.created_at:%Y-%m-%d %H:%M}"


class SupportAccessGrant(models.Model):
    """The client lets the operator see its data for a while (P-19): until `expires_at`
    or its revocation. The back-office shows the gated models' rows of an account only
    while one of its grants runs, and audits every access (`chappe/support/access.py`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="support_grants")
    granted_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.account} until {self.expires_at:%Y-%m-%d %H:%M}"
