"""Contact-center jobs (thin: load by id, call a service)."""

from datetime import timedelta

from chappe.callcenter.call_retention import call_records_expire
from chappe.callcenter.recordings import recordings_expire, voicemails_expire
from chappe.callcenter.rentals import rental_fees_run, rental_notice_send
from chappe.callcenter.voicemails import EMAIL_JOB, voicemail_email_send
from chappe.queue.registry import job_handler


@job_handler(EMAIL_JOB)
def voicemail_email(payload: dict) -> None:
    voicemail_email_send(voicemail_id=payload["voicemail"])


@job_handler("callcenter.rental_notice")
def rental_notice(payload: dict) -> None:
    rental_notice_send(rental_id=payload["rental"], kind=payload["kind"])


@job_handler("callcenter.rental_fees", every=timedelta(hours=1))
def rental_fees(payload: dict) -> None:
    """Renew prepaid rentals (each month once), suspend or release the unpaid ones."""
    rental_fees_run()


@job_handler("callcenter.recordings_expire", every=timedelta(hours=6))
def recordings_expire_job(payload: dict) -> None:
    """Delete the call recordings and the voicemails past their retentions."""
    recordings_expire()
    voicemails_expire()


@job_handler("callcenter.call_records_expire", every=timedelta(hours=24))
def call_records_expire_job(payload: dict) -> None:
    """Delete the call records 10 years past the invoice that billed them (C-10)."""
    call_records_expire(dry_run=bool(payload.get("dry_run")))
