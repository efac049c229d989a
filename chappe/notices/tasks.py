"""Notice jobs (thin: call a service)."""

from chappe.notices.mail import notice_email_send, recipient_request_email_send
from chappe.queue.registry import job_handler


@job_handler("notices.notice_email")
def notice_email(payload: dict) -> None:
    notice_email_send(notice_id=payload["notice"])


@job_handler("notices.recipient_request_email")
def recipient_request_email(payload: dict) -> None:
    recipient_request_email_send(request_id=payload["request"])
