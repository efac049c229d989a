"""The worker role: runs due jobs from the queue until told to stop."""

import logging
import time

from django.db import close_old_connections

from chappe.common.stopping import stop_on_signals
from chappe.queue.jobs import jobs_run_due, periodic_enqueue, worker_id
from chappe.queue.registry import registry_discover

log = logging.getLogger("chappe.worker")
PERIODIC_CHECK_SECONDS = 30.0


def run_worker(*, poll_seconds: float = 1.0) -> None:
    registry = registry_discover()
    stop = stop_on_signals()
    me = worker_id()
    log.info("worker %s ready with %d job handlers", me, len(registry.handlers))
    last_periodic = 0.0
    while not stop.is_set():
        close_old_connections()
        try:
            if time.monotonic() - last_periodic > PERIODIC_CHECK_SECONDS:
                periodic_enqueue(registry=registry)
                last_periodic = time.monotonic()
            ran = jobs_run_due(worker=me, registry=registry)
        except Exception:
            log.exception("job claim failed; retrying")
            ran = 0
        if not ran:
            stop.wait(poll_seconds)
    log.info("worker %s stopped", me)
