"""The worker role: runs due jobs from the queue until told to stop."""

import logging
import signal
import time

from django.db import close_old_connections

from chappe.runtime.jobs import jobs_run_due, load_handlers, periodic_enqueue, worker_id

log = logging.getLogger("chappe.worker")
PERIODIC_CHECK_SECONDS = 30.0


def run_worker(*, poll_seconds: float = 1.0) -> None:
    handlers = load_handlers()
    stopping = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    me = worker_id()
    log.info("worker %s ready with %d job handlers", me, len(handlers))
    last_periodic = 0.0
    while not stopping:
        close_old_connections()
        try:
            if time.monotonic() - last_periodic > PERIODIC_CHECK_SECONDS:
                periodic_enqueue()
                last_periodic = time.monotonic()
            ran = jobs_run_due(worker=me)
        except Exception:
            log.exception("job claim failed; retrying")
            ran = 0
        if not ran:
            time.sleep(poll_seconds)
    log.info("worker %s stopped", me)
