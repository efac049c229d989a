"""The SMPP server's tables (client side; the carrier connector's own tables are in
`chappe.carriers.smpp.models`): `SmppAccount` (credentials), `SmppSubmission` (what came
in over SMPP: receipts to send back), `SmppMoDelivery`, `SmppConcatPart`.
"""

import uuid

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.accounts.models import Account


class Alphabet(models.TextChoices):
    """What data_coding 0 ("SMSC default alphabet") means in a client's submits: SMPP
    3.4 leaves it to the SMSC, and clients differ (Kannel sends Latin-1 text unless
    told otherwise)."""

    GSM = "gsm", _("GSM 03.38")
    LATIN1 = "latin1", _("Latin-1 (ISO-8859-1)")


class SmppAccount(models.Model):
    """SMPP credentials of a client account (system_id ≤ 15, password ≤ 8, hashed; the
    column keeps 16 for rows made before the limit)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="smpp_accounts")
    system_id = models.CharField(max_length=16, unique=True)
    password_hash = models.CharField(max_length=200)
    allowed_ips = models.JSONField(default=list, blank=True,
                                   help_text=_("Empty: any address"))
    max_binds = models.PositiveSmallIntegerField(default=4)
    max_msg_per_s = models.PositiveIntegerField(default=100)
    default_sender = models.CharField(max_length=16, blank=True)
    default_alphabet = models.CharField(
        max_length=8, choices=Alphabet.choices, default=Alphabet.GSM,
        help_text=_("How text with data_coding 0 is read"))
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("SMPP account")
        verbose_name_plural = _("SMPP accounts")

    def __str__(self) -> str:
        return self.system_id

    def set_password(self, raw: str) -> None:
        self.password_hash = make_password(raw)

    def check_password(self, raw: str) -> bool:
        return check_password(raw, self.password_hash)


class SmppSubmission(models.Model):
    """A message a client submitted over SMPP: its receipt goes back as deliver_sm."""

    message = models.OneToOneField("messaging.Message", on_delete=models.CASCADE,
                                   primary_key=True, related_name="smpp")
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    smpp_account = models.ForeignKey(SmppAccount, on_delete=models.CASCADE,
                                     related_name="submissions")
    registered_delivery = models.PositiveSmallIntegerField(default=0)
    # Space-separated ids the client expects receipts for, when not the message's own:
    # the parts of a long message that asked for one, or the id of a submit_multi.
    receipt_ids = models.TextField(blank=True, default="")
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["smpp_account", "receipt_sent_at"],
                                name="smpp_receipt_due_idx")]

    def __str__(self) -> str:
        return f"SMPP {self.message_id}"


class SmppMoDelivery(models.Model):
    """An MO (reply) already delivered to the client over SMPP."""

    reply = models.OneToOneField("messaging.Reply", on_delete=models.CASCADE,
                                 primary_key=True, related_name="smpp_delivery")
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    delivered_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"MO {self.reply_id} delivered"


class SmppConcatPart(models.Model):
    """One part of a long message a client sent in several submit_sm (UDH or SAR), kept
    until the last part arrives and the whole text is accepted as one message."""

    smpp_account = models.ForeignKey(SmppAccount, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    key = models.CharField(max_length=120)
    seq = models.PositiveSmallIntegerField()
    total = models.PositiveSmallIntegerField()
    data_coding = models.PositiveSmallIntegerField()
    registered_delivery = models.PositiveSmallIntegerField(default=0)
    body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["smpp_account", "key", "seq"],
                                               name="one_concat_part_per_seq")]

    def __str__(self) -> str:
        return f"{self.key} part {self.seq}/{self.total}"
