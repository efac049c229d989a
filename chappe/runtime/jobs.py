"""Enqueue, claim and run jobs from the `Job` table.

Claiming uses `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL so any number of workers
share the queue without double-processing; SQLite has no row locks, but its IMMEDIATE
transactions serialize claimers, which is enough for the single worker of embedded mode.
Delivery is at-least-once (a worker that dies after doing the work but before marking it
done leaves it to be retried when its lease expires), so handlers must be idempotent.
"""

import contextvars
import logging
import os
import socket
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from chappe.runtime.models import Job, JobStatus

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
# The job the current thread is running, for `job_heartbeat`.
_CURRENT: contextvars.ContextVar[Job | None] = contextvars.ContextVar("chappe_job", default=None)
_HANDLERS: dict[str, Handler] = {}
_PERIODIC: dict[str, timedelta] = {}
LEASE = timedelta(minutes=5)


def job_handler(name: str, *, every: timedelta | None = None) -> Callable[[Handler], Handler]:
    """Register a job handler under `name` (handlers live in each app's `tasks.py`).

    With `every`, workers also enqueue it once per period (see `periodic_enqueue`)."""

    def register(func: Handler) -> Handler:
        _HANDLERS[name] = func
        if every is not None:
            _PERIODIC[name] = every
        return func

    return register


def periodic_enqueue(*, now: datetime | None = None) -> int:
    """Enqueue each periodic job for the current period. The unique key names the period,
    so however many workers call this, each period's job exists once."""
    now = now or timezone.now()
    enqueued = 0
    for name, every in _PERIODIC.items():
        period = int(now.timestamp() // every.total_seconds())
        if job_enqueue(name=name, run_at=now, unique_key=f"{name}@{period}") is not None:
            enqueued += 1
    return enqueued


def load_handlers() -> dict[str, Handler]:
    autodiscover_modules("tasks")
    return _HANDLERS


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
    with transaction.atomic():
        due = Job.objects.filter(run_at__lte=now, status=JobStatus.PENDING) | Job.objects.filter(
            status=JobStatus.RUNNING, locked_until__lt=now
        )
        due = due.order_by("run_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        jobs = list(due[:limit])
        for job in jobs:
            job.status = JobStatus.RUNNING
            job.locked_by = worker
            job.locked_until = now + LEASE
            job.attempts += 1
        Job.objects.bulk_update(jobs, ["status", "locked_by", "locked_until", "attempts"])
    return jobs


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: 10 s, 20 s, 40 s … capped at one hour."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


def job_heartbeat() -> None:
    """Extend the running job's lease: long handlers (an import of a large file) call it
    between steps so no other worker takes the job over while it is alive."""
    job = _CURRENT.get()
    if job is not None:
        job.locked_until = timezone.now() + LEASE
        Job.objects.filter(pk=job.pk, locked_by=job.locked_by).update(
            locked_until=job.locked_until)


def job_run(job: Job) -> bool:
    """Run one claimed job; record success, or schedule a retry / give up on failure."""
    try:
        # Handlers register when their app's tasks module is imported: make sure it was.
        handler = _HANDLERS.get(job.name) or load_handlers().get(job.name)
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


def jobs_run_due(*, worker: str | None = None, limit: int = 10) -> int:
    """Claim and run one batch of due jobs; returns how many were run."""
    jobs = job_claim(worker=worker or worker_id(), limit=limit)
    for job in jobs:
        job_run(job)
    return len(jobs)
