"""The built-in carrier simulator's own durable state.

It keeps what it "received" in its own table, keyed by our message id, so it behaves like
a carrier API with an idempotency key: a message resubmitted after a gateway crash is
recognised and not counted (or delivered) twice, and receipts survive restarts.
"""

from django.db import models


class SimulatorMessage(models.Model):
    message_id = models.CharField(max_length=64, unique=True)
    carrier_id = models.CharField(max_length=64, unique=True)
    connector = models.CharField(max_length=64)
    recipient = models.CharField(max_length=20)
    sender = models.CharField(max_length=20)
    text = models.TextField()
    received_at = models.DateTimeField()
    # What the receipt will say, and when it is due (null: never answered).
    outcome = models.CharField(max_length=16)
    error_code = models.CharField(max_length=32, blank=True)
    receipt_due_at = models.DateTimeField(null=True, blank=True)
    receipt_sent_at = models.DateTimeField(null=True, blank=True)
    # Times the same message id was submitted again (after a gateway crash): recognised,
    # not sent again.
    resubmissions = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["connector", "receipt_sent_at", "receipt_due_at"],
                                name="simulator_receipt_idx")]

    def __str__(self) -> str:
        return f"{self.carrier_id} → {self.recipient} ({self.outcome})"


class SimulatorInbound(models.Model):
    """An MO waiting to be delivered to the platform (injected by API, CLI or tests)."""

    connector = models.CharField(max_length=64)
    carrier_id = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=20)
    to = models.CharField(max_length=20)
    text = models.TextField()
    # A tap on an RCS suggestion (the RCS simulator's): the suggestion's postback data.
    postback_data = models.CharField(max_length=2048, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"MO {self.carrier_id} from {self.from_number}"
