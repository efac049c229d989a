from chappe.queue.registry import job_handler
from chappe.webhooks.services import webhook_deliver


@job_handler("webhooks.deliver")
def deliver(payload: dict) -> None:
    webhook_deliver(event_id=payload["event"])
