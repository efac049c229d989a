"""Termination notices (P-9, P-10) and export bundles (P-9)."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeKind(models.TextChoices):
    # The client ends the contract: effective one calendar month later.
    CLIENT = "client", _("Termination with notice by the client")
    # The operator ends the contract: effective one calendar month later.
    OPERATOR = "operator", _("Termination with notice by the operator")
    # A formal notice of a breach: the contract ends 30 days later unless remedied.
    BREACH = "breach", _("Formal notice of a breach")
    # 24 months without activity: the account is deleted 15 days later unless it is used.
    INACTIVITY = "inactivity", _("Deletion for inactivity")


class NoticeStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    # Withdrawn, the breach remedied, or activity resumed.
    CANCELLED = "cancelled", _("Cancelled")
    EXECUTED = "executed", _("Executed")


class TerminationNotice(models.Model):
    """A notice that ends the account at `effective_at` unless cancelled before."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="termination_notices")
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    status = models.CharField(max_length=16, choices=NoticeStatus.choices,
                              default=NoticeStatus.RUNNING)
    reason = models.TextField(blank=True)
    given_at = models.DateTimeField()
    given_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    effective_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    close_note = models.TextField(blank=True)
    # When the notice e-mail went out (sent by a job, once).
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-given_at"]
        indexes = [models.Index(fields=["status", "effective_at"])]
        constraints = [models.UniqueConstraint(
            fields=["account"], condition=models.Q(status="running"),
            name="one_running_notice_per_account")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.account}"


class BundleStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    BUILDING = "building", _("Building")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


def _bundle_path(instance: "ExportBundle", filename: str) -> str:
    return f"exports/{instance.account_id}/{filename}"


class ExportBundle(models.Model):
    """Everything of an account in one zip (contacts, messages, calls, recordings,
    voicemails, invoices) with a manifest, built by a job (`lifecycle.export_build`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE,
                                related_name="export_bundles")
    requested_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=BundleStatus.choices,
                              default=BundleStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    file = models.FileField(upload_to=_bundle_path, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"export {self.pk} · {self.account}"
