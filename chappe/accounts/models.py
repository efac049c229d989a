"""Client accounts, sub-accounts, users, API keys, invitations and ordered services.

Every tenant-owned row has a non-null `account`; reads go through `selectors.py`, which
always scope by account.
"""

import uuid

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from chappe.accounts.roles import Role


class AccountStatus(models.TextChoices):
    # Usable; its services run unless one is suspended on its own.
    ACTIVE = "active", _("Active")
    # Nothing new is accepted; all data kept (P-1, P-8).
    SUSPENDED = "suspended", _("Suspended")
    # Closed (P-9): read-only until its data is purged.
    TERMINATED = "terminated", _("Terminated")


class SuspensionReason(models.TextChoices):
    """Why an account or a service was suspended (P-8, P-1)."""

    BREACH = "breach", _("Breach of the terms of service")
    ILLEGAL_USE = "illegal_use", _("Illegal use")
    FALSE_IDENTITY = "false_identity", _("False identity")
    NON_PAYMENT = "non_payment", _("Non-payment")
    LEGAL_ORDER = "legal_order", _("Legal order")
    MAINTENANCE = "maintenance", _("Maintenance or security")
    SUPPLIER_OUTAGE = "supplier_outage", _("Supplier outage")
    DOCUMENTS_REQUIRED = "documents_required", _("Supporting documents required")


def new_twilio_account_sid() -> str:
    return "AC" + uuid.uuid4().hex


class Account(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(_("company name"), max_length=200)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (continued)"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="FR")
    billing_email = models.EmailField(_("billing e-mail"), blank=True)
    dpo_name = models.CharField(_("data protection officer"), max_length=200, blank=True)
    dpo_email = models.EmailField(_("DPO e-mail"), blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Europe/Paris")
    default_country = models.CharField(_("default country"), max_length=2, default="FR")
    status = models.CharField(
        max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    suspension_reason = models.CharField(
        max_length=32, choices=SuspensionReason.choices, blank=True
    )
    status_note = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    terminated_at = models.DateTimeField(null=True, blank=True)
    # When a terminated account's data goes (P-9: 3 months after termination; at once
    # after an inactivity deletion, P-10). Set by `account_terminate`.
    purge_at = models.DateTimeField(null=True, blank=True)
    # The last login, API call or SMPP bind (P-10), written at most once an hour
    # (`accounts.activity`); None: nothing since the field exists (created_at counts).
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # The account's identity on the Twilio-compatible API (`/2010-04-01/Accounts/{sid}`,
    # issue 17): "AC" + 32 hex, drawn once, never changed. Not a secret (the API key is).
    twilio_account_sid = models.CharField(max_length=34, unique=True,
                                          default=new_twilio_account_sid, editable=False)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["parent", "name"])]

    def __str__(self) -> str:
        return self.name


class ServiceKind(models.TextChoices):
    MESSAGING = "messaging", _("Business messaging")
    CONTACT_CENTER = "contact_center", _("Cloud contact center")


class ServiceStatus(models.TextChoices):
    # Ordered and running.
    ACTIVE = "active", _("Active")
    # Refuses new work, data kept (P-8).
    SUSPENDED = "suspended", _("Suspended")
    # Ended (P-9); re-ordering starts a new period.
    TERMINATED = "terminated", _("Terminated")


class Service(models.Model):
    """A product line ordered by an account (P-4)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="services")
    kind = models.CharField(max_length=32, choices=ServiceKind.choices)
    status = models.CharField(
        max_length=16, choices=ServiceStatus.choices, default=ServiceStatus.ACTIVE
    )
    suspension_reason = models.CharField(
        max_length=32, choices=SuspensionReason.choices, blank=True
    )
    status_note = models.TextField(blank=True)
    ordered_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Termination asked with notice (P-9): effective at that date.
    termination_effective_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "kind"], name="one_service_per_kind")
        ]
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.account} · {self.get_kind_display()}"


class DocumentRequest(models.Model):
    """The operator asks an account for supporting documents (P-1)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="document_requests"
    )
    items = models.TextField(help_text=_("What is asked for, e.g. Kbis extract, ID."))
    suspend_until_received = models.BooleanField(default=False)
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.account} · {self.items[:60]}"


def _document_path(instance: "AccountDocument", filename: str) -> str:
    return f"accounts/{instance.account_id}/documents/{uuid.uuid4().hex}-{filename}"


class AccountDocument(models.Model):
    """A supporting document uploaded by the client."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="documents")
    request = models.ForeignKey(
        DocumentRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents"
    )
    file = models.FileField(upload_to=_document_path)
    description = models.CharField(max_length=200, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.description or self.file.name.rsplit("/", 1)[-1]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person. Client users belong to exactly one account; operator staff to none."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail"), unique=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.ADMINISTRATOR)
    language = models.CharField(max_length=8, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class ApiKey(models.Model):
    """A revocable API credential: only a hash is stored; the key is shown once (P-3)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.ADMINISTRATOR)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Invitation(models.Model):
    """An e-mailed invitation to join an account with a role."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=32, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_role_display()})"
