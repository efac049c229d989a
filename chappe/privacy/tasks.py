"""Privacy jobs (thin: call a service)."""

from datetime import timedelta

from chappe.privacy.purge import accounts_purge_due
from chappe.queue.registry import job_handler


@job_handler("privacy.termination_purge", every=timedelta(hours=6))
def termination_purge(payload: dict) -> None:
    """Purge the accounts terminated 3 months ago or more (P-9); `{"dry_run": true}` only
    reports."""
    accounts_purge_due(dry_run=bool(payload.get("dry_run")))
