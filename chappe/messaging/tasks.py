"""Messaging jobs (thin: call a service)."""

from datetime import timedelta

from chappe.messaging.archive import history_retention_run
from chappe.messaging.rcs.agents import agents_deactivate_idle
from chappe.queue.registry import job_handler


@job_handler("messaging.rcs_agents_idle", every=timedelta(hours=6))
def rcs_agents_idle(payload: dict) -> None:
    """RCS agents with no send for 6 months: notice, then deactivation (M-15)."""
    agents_deactivate_idle()


@job_handler("messaging.history_retention", every=timedelta(hours=24))
def history_retention(payload: dict) -> None:
    """Archive messages past the active period, delete archive months past theirs (M-13);
    `{"dry_run": true}` only reports."""
    history_retention_run(dry_run=bool(payload.get("dry_run")))
