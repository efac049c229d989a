"""Sends, messages, their status history, and replies (MO).

A `Send` is one API call / form submission / campaign launch; it holds one `Message` per
distinct recipient (M-6). A message row exists, rated and billed, before the API answers
(M-8): it *is* the durable promise. Dispatch state (`due_at`, `locked_until`) lives on the
row so the gateway claims work from the table itself (ARCHITECTURE: the spine).

A message goes out on one channel (`Message.channel`): an SMS through the gateway's
connectors, or a text-to-speech voice message (TTS) called by the voice engine, which
claims its messages like a connector (decision 0027). A TTS send holds what the call
plays: `text`, `tts_language`, `tts_voice`, `tts_repeat`; its `sender` is the number
presented (the caller id).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.common.ids import uuid7
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.senders import Protection, protection_key


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    TTS = "tts", _("Voice message (text-to-speech)")
    RCS = "rcs", _("RCS")


class MessageKind(models.TextChoices):
    TRANSACTIONAL = "transactional", _("Transactional")
    MARKETING = "marketing", _("Marketing")


# `Send.channel` of a campaign's send: its messages are managed through the campaign.
CAMPAIGN_CHANNEL = "campaign"
# `Send.channel` of a Time2Chat send (M-14): SMS from the account's declared 09 number,
# which is its sender (no SMS sender rules); its messages are SMS.
T2C_CHANNEL = "t2c"


class Send(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="sends")
    # A Channel, or CAMPAIGN_CHANNEL for a campaign's send (its messages are SMS).
    channel = models.CharField(max_length=16, default="sms")
    kind = models.CharField(max_length=16, choices=MessageKind.choices,
                            default=MessageKind.TRANSACTIONAL)
    sender = models.CharField(max_length=20)
    text = models.TextField()
    send_at = models.DateTimeField(null=True, blank=True)
    callback_url = models.URLField(max_length=500, blank=True)
    reference = models.CharField(max_length=40, blank=True)
    allow_reply = models.BooleanField(default=False)
    max_segments = models.PositiveSmallIntegerField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    # A hash of the request, to refuse a reused Idempotency-Key with a different body.
    request_hash = models.CharField(max_length=64, blank=True)
    created_by = models.CharField(max_length=254, blank=True)
    # Per-recipient outcome as answered (JSON), so a replayed request answers the same.
    report = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    # TTS sends: the voice reading `text`, and how many times it is played in each call.
    tts_language = models.CharField(max_length=2, blank=True)
    tts_voice = models.CharField(max_length=50, blank=True)
    tts_repeat = models.PositiveSmallIntegerField(default=1)
    # Sends made through a compatibility API (issue 17): the form its callbacks take
    # ("smsmode_http", "smsmode_rest", "twilio"; "" = Chappe's signed JSON webhooks),
    # where replies go (smsmode's notification_url_reponse / callbackUrlMo), and the
    # Twilio auth token its status callbacks are signed with, sealed (common.sealing).
    callback_format = models.CharField(max_length=16, blank=True)
    reply_url = models.URLField(max_length=500, blank=True)
    callback_secret = models.TextField(blank=True)
    # RCS sends (issue 19, decision 0049): the rich content (`rcs.content`), the agent it
    # goes through, and the SMS fallback — its text, and the delay after which a message
    # still not delivered falls back (None: only when the phone is not RCS-capable).
    rcs_content = models.JSONField(null=True, blank=True)
    rcs_agent = models.ForeignKey("messaging.RcsAgent", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="sends")
    fallback_text = models.TextField(blank=True)
    fallback_after = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "idempotency_key"],
                                    name="one_send_per_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"Send {self.id}"


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # No database-level foreign key on these two (decision 0041): PostgreSQL's check of
    # each new message against its account and its send was a third of the database's
    # time in a campaign launch. Messages are written by `messages_write` alone, for an
    # account and a send of the same transaction, and deleting either still cascades to
    # the messages (Django's collector). The account's own index was the prefix of
    # `message_account_idx`.
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="messages", db_constraint=False, db_index=False)
    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="messages",
                             db_constraint=False)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS,
                               db_default=Channel.SMS)
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    recipient = models.CharField(max_length=20, help_text=_("E.164"))
    country = models.CharField(max_length=2)
    operator = models.CharField(max_length=64, blank=True)
    sender = models.CharField(max_length=20, help_text=_("The sender actually used"))
    sender_note = models.CharField(max_length=200, blank=True,
                                   help_text=_("Why the sender was adapted or overridden"))
    text = models.TextField()
    encoding = models.CharField(max_length=8)  # "" for a TTS message
    # Billing units: SMS segments, or 1 for a TTS message (billed per call, M-8).
    segments = models.PositiveSmallIntegerField()
    price_micros = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    status = models.CharField(max_length=16, choices=[(s.value, s.value) for s in MessageStatus])
    status_changed_at = models.DateTimeField()
    error_code = models.CharField(max_length=32, blank=True)
    # When it may leave (client schedule, or the next marketing window, M-12).
    due_at = models.DateTimeField()
    # Undeliverable after this (M-7).
    expires_at = models.DateTimeField()
    connector = models.CharField(max_length=64, blank=True)
    carrier_message_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Bumped when an edit re-rates the message: names its current usage charge.
    charge_version = models.PositiveSmallIntegerField(default=0)
    # The usage record its acceptance charge is part of: one per kind of use per
    # acceptance batch (decision 0036); its share is `price_micros` and the segments.
    # None when it was not billed (red list), or was accepted before aggregates (its
    # record is its own, keyed by `charge_key`). No database constraint and no index:
    # usage records are never deleted, and a million messages a launch skip the checks.
    usage = models.ForeignKey("billing.UsageRecord", null=True, blank=True,
                              on_delete=models.DO_NOTHING, db_constraint=False,
                              db_index=False, related_name="+")
    # Where acceptance put it (queued, scheduled, opted_out). Acceptance writes no history
    # rows: `history()` shows `accepted` and this status at `created_at`, then the stored
    # events — two rows fewer per message, which is most of a campaign launch's writes.
    # Empty for messages accepted before this field existed (their events hold it all).
    initial_status = models.CharField(max_length=16, blank=True)
    locked_by = models.CharField(max_length=100, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="message_dispatch_idx"),
            models.Index(fields=["account", "-created_at"], name="message_account_idx"),
            models.Index(fields=["account", "recipient"], name="message_recipient_idx"),
            models.Index(fields=["connector", "carrier_message_id"], name="message_carrier_idx"),
            models.Index(fields=["status", "expires_at"], name="message_expiry_idx"),
            # The voice engine's claims: few rows among the SMS, found without them.
            models.Index(fields=["status", "due_at"], condition=models.Q(channel="tts"),
                         name="message_tts_dispatch_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel.upper()} {self.id} to {self.recipient}"

    def history(self) -> list["MessageEvent"]:
        """Every status it had, oldest first (M-3): its acceptance, then the stored
        events (uses a prefetch of `events` when there is one)."""
        stored = list(self.events.all())
        if not self.initial_status:
            return stored
        detail = INITIAL_DETAIL.get(self.initial_status, "")
        return [MessageEvent(message=self, status=MessageStatus.ACCEPTED, at=self.created_at),
                MessageEvent(message=self, status=self.initial_status, at=self.created_at,
                             detail=detail), *stored]


# The detail shown next to an initial status in the history.
INITIAL_DETAIL = {MessageStatus.OPTED_OUT: "red list", MessageStatus.SCHEDULED: "scheduled"}


class MessageEvent(models.Model):
    """One status change of a message, timestamped (M-3)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=16)
    at = models.DateTimeField()
    error_code = models.CharField(max_length=32, blank=True)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class Reply(models.Model):
    """An inbound message (MO), linked to the message it answers where known (M-16)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="replies")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="replies")
    from_number = models.CharField(max_length=20)
    to = models.CharField(max_length=20)
    text = models.TextField()
    is_stop = models.BooleanField(default=False)
    connector = models.CharField(max_length=64)
    # The carrier's id of the MO: receiving the same MO twice stores it once.
    carrier_id = models.CharField(max_length=64)
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("reply")
        verbose_name_plural = _("replies")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["connector", "carrier_id"], name="one_reply_per_mo")
        ]

    def __str__(self) -> str:
        return f"Reply from {self.from_number}"


PROTECTION_LEVELS = [
    # AF2M "strictement interdit": never usable.
    (Protection.FORBIDDEN.value, _("Strictly forbidden (SI)")),
    # AF2M "interdit sauf autorisation": usable with the brand's authorisation on file.
    (Protection.AUTHORISATION_REQUIRED.value, _("Forbidden unless authorised (ISA)")),
]


class UnattributedReply(models.Model):
    """An MO that matches no account (sent to a shared code no message came from, to no
    number an account owns): kept for the operator to look at, never dropped
    (decision 0026)."""

    connector = models.CharField(max_length=64)
    carrier_id = models.CharField(max_length=64)
    from_number = models.CharField(max_length=20)
    to = models.CharField(max_length=20)
    text = models.TextField()
    received_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("unattributed reply")
        verbose_name_plural = _("unattributed replies")
        constraints = [models.UniqueConstraint(fields=["connector", "carrier_id"],
                                               name="one_unattributed_reply_per_mo")]

    def __str__(self) -> str:
        return f"MO from {self.from_number} to {self.to}"


class ProtectedSender(models.Model):
    """A sender name on the operator's protected lists (M-2), kept by the operator."""

    name = models.CharField(max_length=20)
    # The comparison form (`senders.protection_key`): unique, case/punctuation-free.
    key = models.CharField(max_length=20, unique=True, editable=False)
    level = models.CharField(max_length=3, choices=PROTECTION_LEVELS)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.level})"

    def save(self, *args, **kwargs) -> None:
        self.key = protection_key(self.name)
        super().save(*args, **kwargs)


class SenderAuthorisation(models.Model):
    """The brand's written authorisation for an account to use an ISA sender (M-2)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="sender_authorisations")
    name = models.CharField(max_length=20)
    document = models.FileField(upload_to="sender-authorisations/", blank=True)
    valid_until = models.DateField(null=True, blank=True)
    recorded_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "name"]

    def __str__(self) -> str:
        return f"{self.name} for {self.account_id}"


# RCS agents live in their own module (decision 0049); imported here so Django sees them.
from chappe.messaging.rcs.models import (  # noqa: E402, F401
    RcsAgent,
    RcsAgentReview,
    RcsInteraction,
    RcsSession,
)
