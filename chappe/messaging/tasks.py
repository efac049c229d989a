"""Messaging jobs (thin: call a service)."""

from datetime import timedelta

from chappe.messaging.rcs.agents import agents_deactivate_idle
from chappe.queue.registry import job_handler


@job_handler("messaging.rcs_agents_idle", every=timedelta(hours=6))
def rcs_agents_idle(payload: dict) -> None:
    """RCS agents with no send for 6 months: notice, then deactivation (M-15)."""
    agents_deactivate_idle()
