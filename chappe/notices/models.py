"""Notices, terms of service, sub-processors, recipients' requests, data breaches."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeKind(models.TextChoices):
    PRICE_CHANGE = "price_change", _("Price change")
    SERVICE_CHANGE = "service_change", _("Service change")
    MAINTENANCE = "maintenance", _("Planned maintenance")
    SUBPROCESSOR_CHANGE = "subprocessor_change", _("Change of sub-processors")
    TERMS = "terms", _("New terms of service")
    DATA_BREACH = "data_breach", _("Personal data breach")


class Notice(models.Model):
    """An announcement to every client (or to the accounts named): shown in the web app
    from its publication to its end, and e-mailed once (P-14, P-15)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=24, choices=NoticeKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    published_at = models.DateTimeField()
    # When the change applies (a maintenance: when it starts).
    effective_at = models.DateTimeField()
    # A maintenance's end; the banner goes then (else at `effective_at`).
    ends_at = models.DateTimeField(null=True, blank=True)
    # Applies at once whatever the notice period: a change the law imposes (P-16).
    legally_mandatory = models.BooleanField(default=False)
    # Empty: every account.
    accounts = models.ManyToManyField("accounts.Account", blank=True, related_name="+")
    emailed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


class TermsVersion(models.Model):
    """A version of the terms of service (P-16), in force from `effective_at`."""

    version = models.CharField(max_length=32, unique=True)
    text = models.TextField()
    published_at = models.DateTimeField()
    effective_at = models.DateTimeField()
    legally_mandatory = models.BooleanField(default=False)

    class Meta:
        ordering = ["-effective_at"]

    def __str__(self) -> str:
        return self.version


class TermsAcceptance(models.Model):
    """A client administrator accepted a version: who, when, from where (P-16)."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="terms_acceptances")
    terms = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL,
                             related_name="+")
    user_email = models.EmailField()  # kept when the user is deleted
    accepted_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "terms"],
                                               name="one_acceptance_per_version")]

    def __str__(self) -> str:
        return f"{self.account} · {self.terms} · {self.accepted_at:%Y-%m-%d}"


class SubProcessor(models.Model):
    """The published list of sub-processors (P-12)."""

    name = models.CharField(max_length=200)
    purpose = models.CharField(max_length=300)
    location = models.CharField(max_length=100)
    listed_from = models.DateTimeField()
    listed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubProcessorObjection(models.Model):
    """A client objects to a change of sub-processors within the objection window."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="+")
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="objections")
    user = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL,
                             related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "notice"],
                                               name="one_objection_per_notice")]

    def __str__(self) -> str:
        return f"{self.account} · {self.notice}"


class RequestStatus(models.TextChoices):
    FORWARDED = "forwarded", _("Forwarded to the client")
    ANSWERED = "answered", _("Answered by the client")


class RecipientRequest(models.Model):
    """A recipient's GDPR request the operator received about a client's data,
    forwarded to the client (the controller) and tracked until answered (P-12)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="recipient_requests")
    received_at = models.DateTimeField()
    requester = models.CharField(max_length=200, help_text=_("Who asks (number, e-mail)"))
    request = models.TextField()
    status = models.CharField(max_length=16, choices=RequestStatus.choices,
                              default=RequestStatus.FORWARDED)
    forwarded_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.account} · {self.requester}"


class DataBreach(models.Model):
    """A personal-data breach the operator notifies to the clients affected (P-12)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(help_text=_("Nature, data and people concerned, likely "
                                               "consequences, measures taken"))
    detected_at = models.DateTimeField()
    accounts = models.ManyToManyField("accounts.Account", related_name="+")
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at"]

    def __str__(self) -> str:
        return self.title
