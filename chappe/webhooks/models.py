"""Outbound callbacks (M-3, M-16): one row per event, delivered at least once.

The event id is stable across retries so receivers can de-duplicate; each attempt is
kept so clients (and the operator) can see what happened.
"""

import secrets

from django.db import models

from chappe.common.ids import uuid7


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookSettings(models.Model):
    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE,
                                   related_name="webhook_settings")
    # Used when a message has no callback_url of its own.
    default_url = models.URLField(max_length=500, blank=True)
    # Twilio-compatible API (issue 17): where incoming messages are POSTed in Twilio's
    # form (a number's "SMS URL"); a TwiML <Message> in the answer is sent as the reply.
    twilio_sms_url = models.URLField(max_length=500, blank=True)
    # The auth token (an API key) the account last used on that API, sealed
    # (common.sealing), with its prefix: incoming messages are signed with it, as Twilio
    # signs with the account's auth token.
    twilio_token_prefix = models.CharField(max_length=20, blank=True)
    twilio_token_sealed = models.TextField(blank=True)
    secret = models.CharField(max_length=64, default=new_secret)

    def __str__(self) -> str:
        return f"Webhooks of {self.account_id}"


class WebhookStatus(models.TextChoices):
    PENDING = "pending"  # not delivered yet; retried with back-off
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # gave up after the retry window (24 h)


class WebhookEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="webhook_events")
    type = models.CharField(max_length=64)
    url = models.URLField(max_length=500)
    payload = models.JSONField()
    # How it is sent: "" = Chappe's signed JSON; else a compatibility format registered
    # in `webhooks.formats` (smsmode's GET, Twilio's signed form post…, issue 17).
    format = models.CharField(max_length=16, blank=True)
    # What caused it, e.g. ("messaging.message", id) — for listing per message.
    subject_id = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=16, choices=WebhookStatus.choices,
                              default=WebhookStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"], name="webhook_account_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookAttempt(models.Model):
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"attempt {self.at:%H:%M:%S} → {self.status_code or self.error}"
