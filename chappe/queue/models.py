"""The durable work queue: a table, claimed with SKIP LOCKED (ARCHITECTURE "the spine").

A service that needs work done after its change writes a Job in the same transaction
(transactional outbox); a worker claims it only after that commit, so nothing promised is
lost and nothing is done for a change that rolled back.
"""

from django.db import models


class JobStatus(models.TextChoices):
    # Waiting for its run_at.
    PENDING = "pending"
    # Claimed by a worker until locked_until; reclaimed after that if the worker died.
    RUNNING = "running"
    # Finished successfully.
    DONE = "done"
    # Gave up after max_attempts; kept for the operator to inspect and retry.
    FAILED = "failed"


class Job(models.Model):
    name = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    # Deduplicates enqueues of the same work (e.g. one e-mail per invitation).
    unique_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    run_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    locked_by = models.CharField(max_length=100, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "run_at"], name="job_claim_idx")]

    def __str__(self) -> str:
        return f"{self.name}#{self.pk} ({self.status})"
