"""Signed webhooks to a real local HTTP receiver that fails, then recovers."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from chappe.queue.jobs import jobs_run_due
from chappe.queue.models import Job, JobStatus
from chappe.webhooks.models import WebhookEvent, WebhookStatus
from chappe.webhooks.services import EventDraft, webhook_settings_for, webhooks_emit
from chappe.webhooks.signing import EVENT_HEADER, HEADER, sign, verify


class Receiver:
    """Answers 500 to the first `failures` requests, then 200; keeps what it accepted,
    de-duplicated by event id as a careful receiver would."""

    def __init__(self, secret: str, failures: int = 0) -> None:
        self.secret, self.failures = secret, failures
        self.requests: list[dict] = []
        self.accepted: dict[str, dict] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = verify(receiver.secret, body, self.headers.get(HEADER, ""))
                receiver.requests.append({"event": self.headers[EVENT_HEADER], "valid": valid})
                if not valid:
                    self.send_response(401)
                elif len(receiver.requests) <= receiver.failures:
                    self.send_response(500)
                else:
                    receiver.accepted.setdefault(self.headers[EVENT_HEADER], json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver_for(account, settings):
    # The receivers listen on loopback, which the operator must allow (it is refused
    # by default: tests/webhooks/test_ssrf.py).
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"
    made = []

    def make(failures: int = 0) -> Receiver:
        receiver = Receiver(webhook_settings_for(account=account).secret, failures)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


def _emit(account, url: str) -> WebhookEvent:
    [event] = webhooks_emit([EventDraft(account_id=account.pk, url=url, type="message.status",
                                        payload={"status": "delivered"}, subject_id="m1")])
    return event


def _run_due_now() -> None:
    Job.objects.filter(status=JobStatus.PENDING).update(run_at=timezone.now())
    jobs_run_due()


def test_signed_delivery_is_verified_by_the_receiver(account, receiver_for):
    receiver = receiver_for()
    event = _emit(account, receiver.url)
    jobs_run_due()
    event.refresh_from_db()
    assert event.status == WebhookStatus.DELIVERED
    assert receiver.requests == [{"event": str(event.id), "valid": True}]
    assert receiver.accepted[str(event.id)]["data"] == {"status": "delivered"}


def test_retries_until_the_receiver_recovers_with_a_stable_event_id(account, receiver_for):
    receiver = receiver_for(failures=2)
    event = _emit(account, receiver.url)
    jobs_run_due()
    job = Job.objects.get(name="webhooks.deliver")
    assert job.status == JobStatus.PENDING
    assert job.run_at > timezone.now()
    _run_due_now()
    _run_due_now()
    event.refresh_from_db()
    assert event.status == WebhookStatus.DELIVERED
    assert [r["event"] for r in receiver.requests] == [str(event.id)] * 3
    assert list(event.attempt_log.values_list("status_code", flat=True)) == [500, 500, 200]
    assert len(receiver.accepted) == 1


def test_gives_up_after_the_retry_window(account, receiver_for):
    receiver = receiver_for(failures=1000)
    event = _emit(account, receiver.url)
    WebhookEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(hours=24, seconds=1))
    jobs_run_due()
    event.refresh_from_db()
    assert event.status == WebhookStatus.FAILED
    assert Job.objects.get(name="webhooks.deliver").status == JobStatus.DONE


def test_unreachable_receiver_is_an_attempt_with_an_error(account):
    event = _emit(account, "http://127.0.0.1:9/nothing-listens-here")
    jobs_run_due()
    attempt = event.attempt_log.get()
    assert attempt.status_code is None
    assert attempt.error


def test_signature_rejects_tampering_and_old_timestamps():
    body = b'{"a":1}'
    now = int(time.time())
    header = sign("whsec_x", body, now)
    assert verify("whsec_x", body, header, now=now)
    assert not verify("whsec_x", b'{"a":2}', header, now=now)
    assert not verify("whsec_y", body, header, now=now)
    assert not verify("whsec_x", body, header, now=now + 301)
    assert not verify("whsec_x", body, "garbage", now=now)


def test_settings_events_and_attempts_through_the_api(api, account, receiver_for):
    settings = api.get("/api/v1/webhooks/settings").json()
    assert settings["secret"].startswith("whsec_")
    receiver = receiver_for(failures=1)
    assert api.patch("/api/v1/webhooks/settings", {"default_url": "ftp://x"}).status_code == 400
    updated = api.patch("/api/v1/webhooks/settings", {"default_url": receiver.url}).json()
    assert updated["default_url"] == receiver.url
    event = _emit(account, receiver.url)
    jobs_run_due()
    detail = api.get(f"/api/v1/webhooks/events/{event.id}").json()
    assert detail["status"] == "pending"
    assert [a["status_code"] for a in detail["attempt_log"]] == [500]
    _run_due_now()
    detail = api.get(f"/api/v1/webhooks/events/{event.id}").json()
    assert detail["status"] == "delivered"
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 200]
    listed = api.get("/api/v1/webhooks/events", {"status": "delivered"}).json()
    assert [e["id"] for e in listed["items"]] == [str(event.id)]
    # A redelivery keeps the event id, so the receiver can tell it is the same event.
    assert api.post(f"/api/v1/webhooks/events/{event.id}/redeliver").status_code == 200
    _run_due_now()
    assert [r["event"] for r in receiver.requests] == [str(event.id)] * 3
    rotated = api.patch("/api/v1/webhooks/settings", {"rotate_secret": True}).json()
    assert rotated["secret"] != settings["secret"]
