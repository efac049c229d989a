"""Contact-center data: trunks, the number catalogue and rentals (C-1), call flows (C-3),
uploaded prompts, call records and voicemails (C-9, C-10)."""

import ipaddress
import re
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.common.ids import uuid7


class Trunk(models.Model):
    """A SIP trunk to a carrier (operator data, not tenant-owned). Outbound calls take the
    active trunk whose number prefix matches the dialled number the longest, and fail over
    to the next one (chappe.voice.trunking)."""

    name = models.SlugField(max_length=50, unique=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=5060)
    transport = models.CharField(max_length=3, choices=[("udp", "UDP"), ("tcp", "TCP")],
                                 default="udp")
    # Digest credentials we present to the carrier (outbound) / expect from it (inbound).
    username = models.CharField(max_length=100, blank=True)
    password = models.CharField(max_length=100, blank=True)
    inbound_username = models.CharField(max_length=100, blank=True)
    inbound_password = models.CharField(max_length=100, blank=True)
    # Source addresses allowed to send us calls (empty: any).
    allowed_ips = models.JSONField(default=list, blank=True)
    # E.164 prefixes this trunk carries outbound calls to (empty: any number, as a last
    # resort behind every trunk with a matching prefix).
    number_prefixes = models.JSONField(default=list, blank=True,
                                       help_text=_('e.g. ["+33", "+336"]; empty: any number'))
    codecs = models.JSONField(default=list, blank=True, help_text=_('e.g. ["PCMA", "PCMU"]'))
    # Caps over both directions (0: none). Past them an inbound call gets 503 and an
    # outbound call goes to the next trunk.
    max_concurrent_calls = models.PositiveIntegerField(default=30)
    calls_per_second = models.PositiveIntegerField(default=10)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The lists are JSON typed by the operator (admin): check their items."""
        errors = {}
        prefixes = self.number_prefixes
        if not isinstance(prefixes, list) or not all(
                isinstance(p, str) and re.fullmatch(r"\+[0-9]{1,15}", p) for p in prefixes):
            errors["number_prefixes"] = _('A list of E.164 prefixes, e.g. ["+33", "+336"].')
        ips = self.allowed_ips
        try:
            if not isinstance(ips, list):
                raise ValueError
            for ip in ips:
                ipaddress.ip_address(ip)
        except ValueError:
            errors["allowed_ips"] = _('A list of IP addresses, e.g. ["192.0.2.10"].')
        if errors:
            raise ValidationError(errors)


class NumberType(models.TextChoices):
    GEOGRAPHIC = "geographic", _("Geographic")
    NATIONAL = "national", _("National (non-geographic)")
    MOBILE = "mobile", _("Mobile")
    TOLL_FREE = "toll_free", _("Toll-free")
    TIME2CHAT = "t2c_09", _("09 (Time2Chat)")


class NumberStatus(models.TextChoices):
    # In the catalogue, free to buy.
    AVAILABLE = "available", _("Available")
    # Rented by an account.
    RENTED = "rented", _("Rented")
    # Withdrawn by the operator (or ported out): not offered.
    WITHDRAWN = "withdrawn", _("Withdrawn")


class PhoneNumber(models.Model):
    """A number of the operator's catalogue (C-1). Not tenant-owned: a rental is."""

    e164 = models.CharField(max_length=16, unique=True)
    country = models.CharField(max_length=2)
    number_type = models.CharField(max_length=16, choices=NumberType.choices)
    monthly_price_micros = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="EUR")
    trunk = models.ForeignKey(Trunk, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="numbers")
    status = models.CharField(max_length=16, choices=NumberStatus.choices,
                              default=NumberStatus.AVAILABLE)

    class Meta:
        ordering = ["e164"]
        indexes = [models.Index(fields=["status", "country", "number_type"])]

    def __str__(self) -> str:
        return self.e164


class CallFlow(models.Model):
    """A named call flow; its definition lives in immutable versions."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="call_flows")
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def current(self) -> "CallFlowVersion | None":
        return self.versions.order_by("-version").first()


class CallFlowVersion(models.Model):
    """One immutable version of a flow definition (validated JSON: chappe.voice.flows)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="+")
    flow = models.ForeignKey(CallFlow, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["flow", "version"],
                                               name="callflow_version_unique")]

    def __str__(self) -> str:
        return f"{self.flow_id} v{self.version}"


class RentalStatus(models.TextChoices):
    # The account holds the number and pays for it every month.
    ACTIVE = "active", _("Active")
    # Prepaid month not paid (not enough credit): the number still belongs to the account
    # but takes no calls; paid again ⇒ active; unpaid after the grace period ⇒ released.
    SUSPENDED = "suspended", _("Suspended (unpaid)")
    # Given back to the catalogue.
    RELEASED = "released", _("Released")
    # Ported out to another operator at termination.
    PORTED_OUT = "ported_out", _("Ported out")


# The account still holds the number (it cannot be bought by anyone else).
RENTAL_HELD = (RentalStatus.ACTIVE, RentalStatus.SUSPENDED)


class NumberRental(models.Model):
    """An account's number (C-1): bought from the catalogue, assigned to a flow."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="number_rentals")
    number = models.ForeignKey(PhoneNumber, on_delete=models.PROTECT, related_name="rentals")
    status = models.CharField(max_length=16, choices=RentalStatus.choices,
                              default=RentalStatus.ACTIVE)
    flow = models.ForeignKey(CallFlow, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="numbers")
    monthly_price_micros = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # How the rental is billed: "subscription" (a line of the monthly invoice) or
    # "prepaid" (no contact-center subscription: each month paid in advance from credit,
    # docs/decisions/0019).
    billing = models.CharField(max_length=16, default="subscription")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # Prepaid: the instant the months paid so far run out (a local 1st of month, 00:00).
    paid_until = models.DateTimeField(null=True, blank=True, db_index=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    # Port-out (P-9): the holder's details for the porting request.
    rio = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(
            fields=["number"], condition=models.Q(status__in=["active", "suspended"]),
            name="number_held_once")]

    def __str__(self) -> str:
        return f"{self.number.e164}"


class AudioPrompt(models.Model):
    """An uploaded audio prompt, converted to 8 kHz mono 16-bit WAV."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="audio_prompts")
    name = models.CharField(max_length=200)
    path = models.CharField(max_length=500)  # under DATA_DIR
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    # A leg to an agent's registered phone (a queue's call): no carrier, never billed.
    INTERNAL = "internal", _("Internal")


class Disposition(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    VOICEMAIL = "voicemail", _("Voicemail left")
    TRANSFERRED = "transferred", _("Transferred")
    ABANDONED = "abandoned", _("Abandoned (caller hung up)")
    CANCELED = "canceled", _("Canceled before answer")
    BUSY = "busy", _("Busy")
    NO_ANSWER = "no_answer", _("No answer")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")
    # The caller left a queue asking to be called back.
    CALLBACK = "callback", _("Callback requested")


class CallRecord(models.Model):
    """One call leg (C-9, C-10): the proof of usage, kept 10 years."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT,
                                related_name="call_records")
    sip_call_id = models.CharField(max_length=255, db_index=True)
    # The inbound leg a transfer's outbound leg belongs to.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="legs")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    from_number = models.CharField(max_length=64)
    to_number = models.CharField(max_length=64)
    rental = models.ForeignKey(NumberRental, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="calls")
    flow_version = models.ForeignKey(CallFlowVersion, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(default=0)  # answered → ended, ceiling
    disposition = models.CharField(max_length=16, choices=Disposition.choices, blank=True)
    hangup_cause = models.CharField(max_length=64, blank=True)
    flow_path = models.JSONField(default=list, blank=True)
    digits = models.CharField(max_length=64, blank=True)
    # Every state transition: [{"at", "from", "to", "why"}].
    transitions = models.JSONField(default=list, blank=True)
    # The queue the call last waited in, the agent who answered it, and how long the
    # caller waited (the queue event log, by `sip_call_id`, tells the rest). Ids, not
    # keys: the agents app sits above this one.
    queue_id = models.UUIDField(null=True, blank=True)
    agent_id = models.UUIDField(null=True, blank=True)
    queue_wait_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Charged: an outbound leg per started second (`call_charge`), or the call of a TTS
    # voice message, charged as its message at acceptance (flow_path ["voice_message"]).
    billed = models.BooleanField(default=False)
    # The agent's wrap-up (issue 15): a disposition code of the account's list (its name
    # when chosen) and a note, on the inbound leg of a call an agent took.
    wrap_up_code = models.CharField(max_length=60, blank=True)
    wrap_up_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["account", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.direction} {self.from_number} → {self.to_number}"


class Voicemail(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="voicemails")
    call = models.OneToOneField(CallRecord, on_delete=models.PROTECT, related_name="voicemail")
    path = models.CharField(max_length=500)  # under DATA_DIR
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    listened = models.BooleanField(default=False)
    # When the users who asked for it were e-mailed (the job runs at least once).
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"voicemail {self.pk}"


class CallRecording(models.Model):
    """A conversation recorded in a queue that records its calls (the caller was told
    first): stereo WAV, the caller left and the agent right. Kept `CHAPPE_RECORDING_KEEP_DAYS` (the
    CNIL's six months for call recordings), then deleted with its file."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="call_recordings")
    call = models.OneToOneField(CallRecord, on_delete=models.PROTECT, related_name="recording")
    path = models.CharField(max_length=500)  # under DATA_DIR
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"recording {self.pk}"


class VoicemailAlert(models.Model):
    """A user who wants each new voicemail of the account e-mailed (opt-in, per user)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="+")
    user = models.OneToOneField("accounts.User", on_delete=models.CASCADE,
                                related_name="voicemail_alert")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"voicemail alert of {self.user_id}"
