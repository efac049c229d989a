"""Support jobs (thin: call a service)."""

from datetime import timedelta

from chappe.queue.registry import job_handler
from chappe.support.mail import answer_email_send, inbox_poll
from chappe.support.services import sla_sweep


@job_handler("support.inbox", every=timedelta(minutes=2))
def inbox(payload: dict) -> None:
    """Tickets sent by e-mail (the support maildir)."""
    inbox_poll()


@job_handler("support.sla", every=timedelta(minutes=15))
def sla(payload: dict) -> None:
    """Flag the incidents not acknowledged in time (C-12)."""
    sla_sweep()


@job_handler("support.answer_email")
def answer_email(payload: dict) -> None:
    answer_email_send(message_id=payload["message"])
