"""Webhooks never reach the platform's own network: a callback URL or default URL aimed
at loopback, private, link-local or reserved addresses is refused when saved and when
delivered, unless the operator allowed the network; the attempt log keeps a status code
or a failure class, never exception text (no port scanning through it)."""

import pytest

from chappe.webhooks.models import WebhookAttempt, WebhookStatus
from chappe.webhooks.services import EventDraft, webhook_deliver, webhooks_emit

INSIDE = ["http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://10.0.0.1/hook",
          "http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/x"]


@pytest.mark.parametrize("url", INSIDE)
def test_a_callback_url_inside_is_refused_naming_the_allow_list(api, url, settings):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = ""
    response = api.post("/api/v1/sms", {"recipients": ["+33600000001"], "text": "Hi",
                                        "sender": "Chappe", "callback_url": url})
    assert response.status_code == 400
    [message] = response.json()["error"]["details"]["callback_url"]
    assert "CHAPPE_WEBHOOK_ALLOW_NETWORKS" in message
    response = api.patch("/api/v1/webhooks/settings", {"default_url": url})
    assert response.status_code == 400
    assert "default_url" in response.json()["error"]["details"]


def test_the_allow_list_lets_a_local_receiver_be_saved(api, settings):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"
    response = api.patch("/api/v1/webhooks/settings", {"default_url": INSIDE[0]})
    assert response.status_code == 200


def _event(account, url):
    [event] = webhooks_emit([EventDraft(account_id=account.pk, url=url, type="message.status",
                                        payload={"status": "delivered"}, subject_id="m1")])
    return event


def test_an_event_aimed_inside_is_not_sent_and_logs_a_class(account, settings):
    """An event stored before the rules (or whose name now resolves inside) is refused at
    delivery: nothing leaves, the log says why in one word."""
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = ""
    event = _event(account, "http://127.0.0.1:9/hook")
    with pytest.raises(RuntimeError):
        webhook_deliver(event_id=str(event.id))
    attempt = WebhookAttempt.objects.get(event=event)
    assert (attempt.status_code, attempt.error) == (None, "refused_address")


def test_a_failed_connection_logs_no_exception_text(account, settings):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"
    event = _event(account, "http://127.0.0.1:9/hook")  # discard port: nothing listens
    with pytest.raises(RuntimeError):
        webhook_deliver(event_id=str(event.id))
    attempt = WebhookAttempt.objects.get(event=event)
    assert attempt.error == "connection_failed"
    event.refresh_from_db()
    assert event.status == WebhookStatus.PENDING
