"""Enqueue, claim and run jobs from the `Job` table.

Claims are leases (`chappe.common.leases`): any number of workers share the queue without
double-processing. Delivery is at-least-once (a worker that dies after doing the work but
before marking it done leaves it to be retried when its lease expires), so handlers must
be idempotent.
"""

import contextvars
import logging
import os
import socket
import traceback
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from chappe.common.leases import lease_claim, lease_extend
from chappe.queue.models import Job, JobStatus
from chappe.queue.registry import JobRegistry, registry_discover

log = logging.getLogger(__name__)

# The job the current thread is running, for `job_heartbeat`.
_CURRENT: contextvars.ContextVar[Job | None] = contextvars.ContextVar("chappe_job", default=None)
LEASE = timedelta(minutes=5)


def periodic_enqueue(*, registry: JobRegistry, now: datetime | None = None) -> int:
    """Enqueue each periodic job for the current period. The unique key names the period,
    so however many workers call this, each period's job exists once."""
    now = now or timezone.now()
    enqueued = 0
    for name, every in registry.periodic.items():
        period = int(now.timestamp() // every.total_seconds())
        if job_enqueue(name=name, run_at=now, unique_key=f"{name}@{period}") is not None:
            enqueued += 1
    return enqueued


def job_enqueue(
    *,
    name: str,
    payload: dict[str, Any] | None = None,
    run_at: datetime | None = None,
    unique_key: str | None = None,
    max_attempts: int = 8,
) -> Job | None:
    """Write a job in the caller's transaction. With `unique_key`, a second enqueue of the
    same key is a no-op and returns None."""
    job = Job(
        name=name,
        payload=payload or {},
        run_at=run_at or timezone.now(),
        unique_key=unique_key,
        max_attempts=max_attempts,
    )
    if unique_key is None:
        job.save()
        return job
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError:
        return None
    return job


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_claim(*, worker: str, limit: int = 10, now: datetime | None = None) -> list[Job]:
    """Claim up to `limit` due jobs: pending ones, and running ones whose lease expired."""
    now = now or timezone.now()
    # A pending job has no lease; a running one is claimable again once its lease ran out.
    due = (Job.objects.filter(Q(status=JobStatus.PENDING, run_at__lte=now)
                              | Q(status=JobStatus.RUNNING)).order_by("run_at", "id"))
    return lease_claim(due, limit=limit, now=now, lease=LEASE, holder=worker,
                       updates={"status": JobStatus.RUNNING, "attempts": F("attempts") + 1})


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: 10 s, 20 s, 40 s … capped at one hour."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


def job_heartbeat() -> None:
    """Extend the running job's lease: long handlers (an import of a large file) call it
    between steps so no other worker takes the job over while it is alive."""
    job = _CURRENT.get()
    if job is not None:
        job.locked_until = timezone.now() + LEASE
        lease_extend(Job, [job.pk], until=job.locked_until, holder=job.locked_by)


def job_run(job: Job, *, registry: JobRegistry) -> bool:
    """Run one claimed job; record success, or schedule a retry / give up on failure."""
    try:
        handler = registry.handlers.get(job.name)
        if handler is None:
            raise LookupError(f"no handler registered for job {job.name!r}")
        token = _CURRENT.set(job)
        try:
            handler(job.payload)
        finally:
            _CURRENT.reset(token)
    except Exception:
        log.exception("job %s failed (attempt %s)", job, job.attempts)
        job.last_error = traceback.format_exc()[-4000:]
        if job.attempts >= job.max_attempts:
            job.status = JobStatus.FAILED
            job.finished_at = timezone.now()
        else:
            job.status = JobStatus.PENDING
            job.run_at = timezone.now() + retry_delay(job.attempts)
        job.locked_until = None
        job.save(update_fields=["status", "run_at", "last_error", "locked_until", "finished_at"])
        return False
    job.status = JobStatus.DONE
    job.finished_at = timezone.now()
    job.locked_until = None
    job.save(update_fields=["status", "finished_at", "locked_until"])
    return True


def jobs_run_due(*, worker: str | None = None, limit: int = 10,
                 registry: JobRegistry | None = None) -> int:
    """Claim and run one batch of due jobs; returns how many were run. The worker role
    passes the registry it built at start; without one, the installed apps' handlers are
    discovered for this call."""
    jobs = job_claim(worker=worker or worker_id(), limit=limit)
    if jobs:
        registry = registry or registry_discover()
    for job in jobs:
        job_run(job, registry=registry)  # type: ignore[arg-type]
    return len(jobs)
