"""The job table as a work queue (decision 0003): outbox semantics, dedupe, leases,
retries with back-off, and no double claim under concurrency (PostgreSQL)."""

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.roles import Role
from chappe.accounts.services import user_invite
from chappe.queue.jobs import (
    LEASE,
    job_claim,
    job_enqueue,
    job_heartbeat,
    job_run,
    jobs_run_due,
    periodic_enqueue,
    retry_delay,
)
from chappe.queue.models import Job, JobStatus
from chappe.queue.registry import JobRegistry, job_handler, registry_discover

CALLS: list[dict] = []


@job_handler("test.record")
def _record(payload: dict) -> None:
    CALLS.append(payload)


@job_handler("test.explode")
def _explode(payload: dict) -> None:
    raise RuntimeError("carrier unreachable")


REGISTRY = JobRegistry.of(_record, _explode)


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def run_due() -> int:
    return jobs_run_due(worker="w", registry=REGISTRY)


class _Rollback(Exception):
    pass


def _then_roll_back(work) -> None:
    with transaction.atomic():
        work()
        raise _Rollback


def test_an_enqueue_in_a_rolled_back_transaction_leaves_nothing(db):
    seen = []

    def work():
        job_enqueue(name="test.record", payload={"n": 1})
        seen.append(Job.objects.count())

    with pytest.raises(_Rollback):
        _then_roll_back(work)
    assert seen == [1]
    assert not Job.objects.exists()


def test_a_rolled_back_service_sends_no_e_mail(account):
    """The invitation and its e-mail job are one transaction (outbox)."""
    with pytest.raises(_Rollback):
        _then_roll_back(lambda: user_invite(actor=SYSTEM, account=account,
                                            email="x@example.com", role=Role.AGENT))
    assert not Job.objects.exists()
    assert run_due() == 0


def test_unique_key_dedupes_without_breaking_the_transaction(db):
    with transaction.atomic():
        first = job_enqueue(name="test.record", payload={"n": 1}, unique_key="k1")
        second = job_enqueue(name="test.record", payload={"n": 2}, unique_key="k1")
        # The caller's transaction is still usable after the swallowed conflict.
        other = job_enqueue(name="test.record", payload={"n": 3}, unique_key="k2")
    assert first is not None
    assert second is None
    assert other is not None
    assert sorted(Job.objects.values_list("payload__n", flat=True)) == [1, 3]
    # Without a key, nothing is deduplicated.
    job_enqueue(name="test.record", payload={"n": 1})
    job_enqueue(name="test.record", payload={"n": 1})
    assert Job.objects.count() == 4


def test_claim_marks_running_with_a_lease(db):
    now = timezone.now()
    due = job_enqueue(name="test.record", run_at=now - timedelta(seconds=1))
    later = job_enqueue(name="test.record", run_at=now + timedelta(hours=1))

    claimed = job_claim(worker="w1", now=now)

    assert [job.pk for job in claimed] == [due.pk]
    due.refresh_from_db()
    assert (due.status, due.locked_by, due.attempts) == (JobStatus.RUNNING, "w1", 1)
    assert due.locked_until == now + LEASE
    later.refresh_from_db()
    assert later.status == JobStatus.PENDING
    # A running job under lease is nobody else's.
    assert job_claim(worker="w2", now=now + LEASE - timedelta(seconds=1)) == []


def test_claim_respects_the_limit_and_order(db):
    now = timezone.now()
    made = [job_enqueue(name="test.record", run_at=now - timedelta(minutes=10 - i))
            for i in range(5)]
    claimed = job_claim(worker="w", limit=3, now=now)
    assert [j.pk for j in claimed] == [j.pk for j in made[:3]]
    assert Job.objects.filter(status=JobStatus.PENDING).count() == 2


def test_a_successful_run_is_done(db):
    job_enqueue(name="test.record", payload={"hello": "world"})
    assert run_due() == 1
    assert CALLS == [{"hello": "world"}]
    job = Job.objects.get()
    assert job.status == JobStatus.DONE
    assert job.finished_at is not None
    assert job.locked_until is None
    assert run_due() == 0


def test_failures_retry_with_back_off_then_fail(db):
    job_enqueue(name="test.explode", max_attempts=3)
    assert [retry_delay(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (10, 20, 40)]
    assert retry_delay(30) == timedelta(hours=1)

    now = timezone.now()
    for attempt, delay in ((1, 10), (2, 20)):
        [job] = job_claim(worker="w", now=now)
        assert job.attempts == attempt
        started = timezone.now()
        assert job_run(job, registry=REGISTRY) is False
        job.refresh_from_db()
        assert job.status == JobStatus.PENDING
        assert "carrier unreachable" in job.last_error
        assert job.locked_until is None
        assert started + timedelta(seconds=delay) <= job.run_at
        assert job.run_at <= timezone.now() + timedelta(seconds=delay)
        # Not due again before its back-off has passed.
        assert job_claim(worker="w", now=job.run_at - timedelta(seconds=1)) == []
        now = job.run_at

    [job] = job_claim(worker="w", now=now)
    assert job.attempts == 3
    assert job_run(job, registry=REGISTRY) is False
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.finished_at is not None
    assert job_claim(worker="w", now=now + timedelta(days=1)) == []


def test_an_unknown_job_name_fails_instead_of_vanishing(db):
    job_enqueue(name="test.nobody-handles-this", max_attempts=1)
    assert run_due() == 1
    job = Job.objects.get()
    assert job.status == JobStatus.FAILED
    assert "no handler registered" in job.last_error


def test_handlers_are_discovered_when_not_yet_imported():
    """A fresh process that never imported the apps' tasks modules finds every app's
    handlers, the periodic ones with their period."""
    script = ("import django, json; django.setup(); "
              "from chappe.queue.registry import registry_discover; r = registry_discover(); "
              "print(json.dumps({'handlers': sorted(r.handlers), "
              "'periodic': {k: v.total_seconds() for k, v in r.periodic.items()}}))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, env={**os.environ, "DJANGO_SETTINGS_MODULE":
                                          "config.settings"}).stdout
    found = json.loads(out.splitlines()[-1])
    assert {"accounts.send_invitation", "webhooks.deliver", "campaigns.launch",
            "contacts.import_run", "billing.invoice_email"} <= set(found["handlers"])
    assert found["periodic"]["accounts.services_close"] == 600
    assert "test.record" not in found["handlers"]  # test modules are not tasks modules


def test_two_handlers_for_one_name_are_refused():
    @job_handler("test.record")
    def impostor(payload: dict) -> None: ...

    with pytest.raises(ValueError, match="two handlers"):
        JobRegistry.of(_record, impostor)


def test_an_expired_lease_is_reclaimed(db):
    job_enqueue(name="test.record")
    now = timezone.now()
    [first] = job_claim(worker="crashed", now=now)

    assert job_claim(worker="w2", now=now + LEASE) == []  # lease not yet expired
    [again] = job_claim(worker="w2", now=now + LEASE + timedelta(seconds=1))

    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.locked_by, again.attempts, again.status) == ("w2", 2, JobStatus.RUNNING)
    assert again.locked_until == now + LEASE + timedelta(seconds=1) + LEASE


# --- concurrency (PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED) ---------------------------


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent claiming needs row locks (PostgreSQL)"
)


def _in_thread(target, results, errors):
    def run():
        try:
            results.append(target())
        except Exception as exc:  # pragma: no cover - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


@pytest.mark.postgres
@postgres_only
def test_a_claim_in_progress_is_skipped_not_shared(transactional_db):
    """While one worker holds its claim open, another gets the other jobs, not the same."""
    for n in range(6):
        job_enqueue(name="test.record", payload={"n": n})
    first_claimed = threading.Event()
    second_done = threading.Event()
    results: list[list[int]] = []
    errors: list[Exception] = []

    def slow_worker():
        with transaction.atomic():  # keeps the row locks until the other has claimed
            claimed = [j.pk for j in job_claim(worker="slow", limit=3)]
            first_claimed.set()
            assert second_done.wait(10), "the second claimer waited on the rows this one holds"
        return claimed

    def fast_worker():
        assert first_claimed.wait(10)
        try:
            return [j.pk for j in job_claim(worker="fast", limit=6)]
        finally:
            second_done.set()

    threads = [_in_thread(slow_worker, results, errors), _in_thread(fast_worker, results, errors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    slow, fast = (results if len(results[0]) == 3 else results[::-1])
    assert len(slow) == 3
    assert len(fast) == 3
    assert not set(slow) & set(fast)
    assert set(slow) | set(fast) == set(Job.objects.values_list("pk", flat=True))


@pytest.mark.postgres
@postgres_only
def test_concurrent_workers_never_get_the_same_job(transactional_db):
    Job.objects.bulk_create(
        Job(name="test.record", payload={"n": n}, run_at=timezone.now()) for n in range(60)
    )
    start = threading.Barrier(4)
    results: list[list[int]] = []
    errors: list[Exception] = []

    def worker():
        start.wait(10)
        mine: list[int] = []
        while batch := job_claim(worker=threading.current_thread().name, limit=4):
            mine.extend(j.pk for j in batch)
        return mine

    threads = [_in_thread(worker, results, errors) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    claimed = [pk for mine in results for pk in mine]
    assert len(claimed) == len(set(claimed)) == 60
    assert Job.objects.filter(status=JobStatus.RUNNING, attempts=1).count() == 60


def test_periodic_jobs_are_enqueued_once_per_period(db):
    registry = registry_discover()
    at = datetime(2026, 11, 26, 10, 3, tzinfo=UTC)
    first = periodic_enqueue(registry=registry, now=at)
    assert first >= 2  # at least the services sweep and the billing daily guard
    # A second worker, same period: nothing new.
    assert periodic_enqueue(registry=registry, now=at) == 0
    assert Job.objects.filter(name="accounts.services_close").count() == 1
    later = periodic_enqueue(registry=registry, now=datetime(2026, 11, 26, 10, 14, tzinfo=UTC))
    assert later >= 1
    assert Job.objects.filter(name="accounts.services_close").count() == 2


def test_a_long_job_keeps_its_lease_with_heartbeats(db):
    seen = {}

    @job_handler("tests.long")
    def long_job(payload):
        job = Job.objects.get(name="tests.long")
        Job.objects.filter(pk=job.pk).update(locked_until=timezone.now())  # nearly expired
        job_heartbeat()
        seen["locked_until"] = Job.objects.get(pk=job.pk).locked_until

    job_enqueue(name="tests.long")
    [job] = job_claim(worker="w1")
    assert job_run(job, registry=JobRegistry.of(long_job))
    assert seen["locked_until"] > timezone.now() + LEASE - timedelta(seconds=5)
    job_heartbeat()  # outside a job: nothing to extend, no error
