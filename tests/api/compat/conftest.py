"""Fixtures of the compatibility APIs' tests: a funded account with a raw API key, the
simulator carrier, a local receiver of callbacks, and ways to run the gateway and the
webhook jobs until a condition holds (never a sleep)."""

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.services import api_key_create
from chappe.api.compat import auth
from chappe.common.throttle import FailureThrottle
from chappe.queue.jobs import jobs_run_due
from chappe.queue.models import Job, JobStatus
from tests.billing.conftest import buy_credits, operator, price_list  # noqa: F401
from tests.messaging.conftest import simulator  # noqa: F401
from tests.messaging.test_pipeline import run_gateway_once

DELIVERED, UNDELIVERED, SILENT = "+33600000001", "+33600000002", "+33600000003"


@pytest.fixture(autouse=True)
def _fresh_throttle(monkeypatch):
    """Each test starts with no failure recorded (the throttle is per process)."""
    monkeypatch.setattr(auth, "THROTTLE", FailureThrottle(free=5, base=1.0, cap=60.0))


@pytest.fixture
def funded(account, buy_credits):  # noqa: F811
    buy_credits(account, "100")
    return account


@pytest.fixture
def raw_key(funded) -> str:
    _key, raw = api_key_create(actor=SYSTEM, account=funded, name="compat")
    return raw


class Received:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.headers, self.body = method, headers, body
        parts = urlsplit(path)
        self.path, self.raw_query = parts.path, parts.query
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True,
                                    encoding=self._charset()))

    def _charset(self) -> str:
        return "iso-8859-15"

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


class Receiver:
    """A local HTTP server keeping every request; answers `answer` (200)."""

    def __init__(self, answer: bytes = b"", content_type: str = "text/plain") -> None:
        self.requests: list[Received] = []
        self.answer, self.content_type = answer, content_type
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                receiver.requests.append(Received(self.command, self.path,
                                                  dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Type", receiver.content_type)
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return self.base + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    # Callbacks to loopback: the operator must allow it (refused by default).
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"
    made: list[Receiver] = []

    def make(answer: bytes = b"", content_type: str = "text/plain") -> Receiver:
        made.append(Receiver(answer, content_type))
        return made[-1]

    yield make
    for r in made:
        r.close()


def run_jobs() -> None:
    """Every pending job now (webhook deliveries), the back-off skipped."""
    Job.objects.filter(status=JobStatus.PENDING).update(run_at=timezone.now())
    jobs_run_due(worker="compat-test")


def run_until(condition: Callable[[], Any], simulator, what: str, rounds: int = 20) -> Any:  # noqa: F811
    """Run the gateway and the jobs until `condition()` holds (a bounded number of rounds:
    each one does work, none waits)."""
    for _ in range(rounds):
        if value := condition():
            return value
        run_gateway_once(simulator)
        run_jobs()
    if value := condition():
        return value
    pytest.fail(f"not reached after {rounds} rounds: {what}")
