"""Lifecycle jobs (thin: call a service)."""

from datetime import timedelta

from chappe.lifecycle.export import export_build
from chappe.lifecycle.mail import notice_email_send
from chappe.lifecycle.notices import inactivity_sweep, terminations_due
from chappe.queue.registry import job_handler


@job_handler("lifecycle.terminations", every=timedelta(hours=1))
def terminations(payload: dict) -> None:
    """End the contracts whose notice is over (P-9)."""
    terminations_due()


@job_handler("lifecycle.inactivity", every=timedelta(hours=6))
def inactivity(payload: dict) -> None:
    """Notify and delete the accounts idle for 24 months (P-10)."""
    inactivity_sweep()


@job_handler("lifecycle.export_build")
def export_bundle_build(payload: dict) -> None:
    export_build(bundle_id=payload["bundle"])


@job_handler("lifecycle.notice_email")
def notice_email(payload: dict) -> None:
    notice_email_send(notice_id=payload["notice"])
