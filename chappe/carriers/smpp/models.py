"""The SMPP connector's own tables (the platform as an ESME towards carriers' SMSCs).

* `SmppInbox` — receipts and MO parts as received, written (one group commit) before the
  deliver_sm_resp leaves, consumed by the gateway's poll/ack in the transaction that
  applies them: a crash at any point loses nothing (the SMSC re-sends what we did not
  acknowledge; what we acknowledged is in this table).
* `SmppPart` — for a message sent in several submit_sm, each part's SMSC id → the
  message-level carrier id (`<first part id>#<parts>`), so per-part receipts aggregate.
* `SmppBindState` — each gateway's binds, refreshed every few seconds (admin, /metrics).

They lived in the SMPP server's app until the floors were put right (carriers must not
reach up to the server); migration carriers 0002 adopted the tables without moving a row.
"""

from django.db import models


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
