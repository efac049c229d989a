"""Messaging jobs (thin: call a service)."""

from datetime import timedelta

from chappe.messaging.archive import history_retention_run
from chappe.queue.registry import job_handler


@job_handler("messaging.history_retention", every=timedelta(hours=24))
def history_retention(payload: dict) -> None:
    """Archive messages past the active period, delete archive months past theirs (M-13);
    `{"dry_run": true}` only reports."""
    history_retention_run(dry_run=bool(payload.get("dry_run")))
