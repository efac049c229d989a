"""SMPP tables.

Carrier side (the platform as ESME, chappe.carriers.smpp.connector):
* `SmppInbox` — receipts and MO parts as received, written (one group commit) before the
  deliver_sm_resp leaves, consumed by the gateway's poll/ack in the transaction that
  applies them: a crash at any point loses nothing (the SMSC re-sends what we did not
  acknowledge; what we acknowledged is in this table).
* `SmppPart` — for a message sent in several submit_sm, each part's SMSC id → the
  message-level carrier id (`<first part id>#<parts>`), so per-part receipts aggregate.
* `SmppBindState` — each gateway's binds, refreshed every few seconds (admin, /metrics).

Client side (the SMPP server, chappe.smpp_server.server): `SmppAccount` (credentials),
`SmppSubmission` (what came in over SMPP: receipts to send back), `SmppMoDelivery`.
"""

import uuid

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.accounts.models import Account


class SmppInbox(models.Model):
    RECEIPT, MO = "receipt", "mo"

    connector = models.CharField(max_length=64)
    kind = models.CharField(max_length=8)
    # Receipt: the SMSC message id, normalised. MO: our own id ("mo-…").
    carrier_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    at = models.DateTimeField()
    from_number = models.CharField(max_length=32, blank=True)
    to = models.CharField(max_length=32, blank=True)
    data_coding = models.PositiveSmallIntegerField(default=0)
    body = models.BinaryField(blank=True, default=b"")
    # MO parts of one concatenated message share this key; "" for a whole message.
    concat_key = models.CharField(max_length=120, blank=True)
    part_seq = models.PositiveSmallIntegerField(default=1)
    part_total = models.PositiveSmallIntegerField(default=1)
    # Offered again after this time (receipt whose submission is not recorded yet, MO
    # part waiting for the others); null: now.
    next_try_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["connector", "next_try_at"], name="smpp_inbox_due_idx"),
            models.Index(fields=["connector", "carrier_id"], name="smpp_inbox_carrier_idx"),
            models.Index(fields=["connector", "concat_key"], name="smpp_inbox_concat_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.carrier_id} via {self.connector}"


class SmppPart(models.Model):
    connector = models.CharField(max_length=64)
    head = models.CharField(max_length=64)
    smsc_id = models.CharField(max_length=64)
    seq = models.PositiveSmallIntegerField()
    total = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["connector", "smsc_id"], name="smpp_part_smsc_idx"),
                   models.Index(fields=["connector", "head"], name="smpp_part_head_idx")]

    def __str__(self) -> str:
        return f"{self.head} part {self.seq}/{self.total}"


class SmppBindState(models.Model):
    connector = models.CharField(max_length=64)
    process = models.CharField(max_length=128)
    slot = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=4)
    state = models.CharField(max_length=16)  # bound / connecting / unbound
    in_flight = models.PositiveIntegerField(default=0)
    submitted = models.BigIntegerField(default=0)
    errors = models.BigIntegerField(default=0)
    throttled = models.BigIntegerField(default=0)
    reconnects = models.BigIntegerField(default=0)
    msg_per_s = models.FloatField(default=0)
    last_error = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connector", "process", "slot"],
                                               name="one_bind_state_per_slot")]

    def __str__(self) -> str:
        return f"{self.connector} #{self.slot} {self.state}"


class SmppAccount(models.Model):
    """SMPP credentials of a client account (system_id ≤ 16, password ≤ 8, hashed)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="smpp_accounts")
    system_id = models.CharField(max_length=16, unique=True)
    password_hash = models.CharField(max_length=200)
    allowed_ips = models.JSONField(default=list, blank=True,
                                   help_text=_("Empty: any address"))
    max_binds = models.PositiveSmallIntegerField(default=4)
    max_msg_per_s = models.PositiveIntegerField(default=100)
    default_sender = models.CharField(max_length=16, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

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
    body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["smpp_account", "key", "seq"],
                                               name="one_concat_part_per_seq")]

    def __str__(self) -> str:
        return f"{self.key} part {self.seq}/{self.total}"
