"""A conversation: one correspondent and one of the account's addresses (an SMS sender, a
Time2Chat 09 number, an RCS agent), on its channel. Written when an MO arrives or the
client answers through the inbox; the messages themselves stay in messaging."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.common.ids import uuid7


class ConversationChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    T2C = "t2c", _("Time2Chat")
    RCS = "rcs", _("RCS")


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="conversations")
    correspondent = models.CharField(max_length=20)
    # Our side: the sender the correspondent wrote to.
    address = models.CharField(max_length=20)
    channel = models.CharField(max_length=8, choices=ConversationChannel.choices)
    last_in_at = models.DateTimeField()
    last_in_text = models.TextField(blank=True)
    # The last answer sent through the inbox (answers sent otherwise are found in
    # messaging by the selectors).
    last_out_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="conversations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_in_at"]
        constraints = [models.UniqueConstraint(fields=["account", "correspondent", "address"],
                                               name="one_conversation_per_pair")]
        indexes = [models.Index(fields=["account", "-last_in_at"], name="conversation_recent_idx")]

    def __str__(self) -> str:
        return f"{self.correspondent} ↔ {self.address} ({self.channel})"

    @property
    def unread(self) -> bool:
        return self.read_at is None or self.read_at < self.last_in_at
