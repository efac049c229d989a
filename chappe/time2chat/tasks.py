"""Time2Chat jobs (thin: call a service)."""

from datetime import timedelta

from chappe.queue.registry import job_handler
from chappe.time2chat.services import t2c_quarantine_release


@job_handler("time2chat.quarantine_release", every=timedelta(hours=6))
def quarantine_release(payload: dict) -> None:
    """09 numbers whose quarantine is over go back to the catalogue."""
    t2c_quarantine_release()
