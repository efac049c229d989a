"""Agents' jobs (thin: call a service)."""

from datetime import timedelta

from django.utils import timezone

from chappe.agents.rollups import rollups_run
from chappe.agents.services.licence_fees import licence_fees_run
from chappe.queue.registry import job_handler


@job_handler("agents.licence_fees", every=timedelta(hours=1))
def licence_fees(payload: dict) -> None:
    """Pay this month of the licences of accounts without a subscription."""
    licence_fees_run()


@job_handler("agents.statistics_rollup", every=timedelta(minutes=5))
def statistics_rollup(payload: dict) -> None:
    """Roll up the queue log's settled hours (chappe.agents.rollups)."""
    rollups_run(now=timezone.now())
