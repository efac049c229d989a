"""Prometheus metrics: request counters here, database gauges collected at scrape time."""

import time
from collections.abc import Iterator

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from chappe.carriers.smpp.metrics import SmppCollector

HTTP_REQUESTS = Counter(
    "chappe_http_requests_total", "HTTP requests served", ["method", "status"]
)
HTTP_LATENCY = Histogram(
    "chappe_http_request_duration_seconds", "HTTP request latency", ["method"]
)


def request_observe(method: str, status: int, seconds: float) -> None:
    """Count one answer given outside Django's request cycle (decision 0038)."""
    HTTP_LATENCY.labels(method).observe(seconds)
    HTTP_REQUESTS.labels(method, str(status)).inc()


class RequestMetricsMiddleware(MiddlewareMixin):
    """Counts and times requests. A `MiddlewareMixin` so that it serves async views
    without a thread of their own (an async hot path, decision 0028)."""

    def process_request(self, request: HttpRequest) -> None:
        request._metrics_start = time.perf_counter()  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        start = request._metrics_start  # type: ignore[attr-defined]
        request_observe(request.method or "", response.status_code, time.perf_counter() - start)
        return response


class DatabaseCollector(Collector):
    """Queue depths, account counts and refused status changes, read from the database
    on each scrape (every process of every machine writes them there)."""

    def describe(self) -> list:
        # Without describe(), registering would call collect() and query the database.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from chappe.accounts.models import Account
        from chappe.carriers.selectors import transitions_refused
        from chappe.queue.models import Job

        jobs = GaugeMetricFamily(
            "chappe_jobs", "Jobs in the work queue by status", labels=["status"]
        )
        for row in Job.objects.values("status").annotate(n=Count("id")):
            jobs.add_metric([row["status"]], row["n"])
        yield jobs
        accounts = GaugeMetricFamily(
            "chappe_accounts", "Client accounts by status", labels=["status"]
        )
        for row in Account.objects.values("status").annotate(n=Count("id")):
            accounts.add_metric([row["status"]], row["n"])
        yield accounts
        refused = CounterMetricFamily(
            "chappe_message_illegal_transitions",
            "Message status changes refused by the lifecycle (late or repeated receipts…)",
            labels=["from_status", "to_status"])
        for current, new, count in transitions_refused():
            refused.add_metric([current, new], count)
        yield refused


_collector = DatabaseCollector()
REGISTRY.register(_collector)
REGISTRY.register(SmppCollector())


def metrics_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def healthz_view(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers and its database connection works."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok\n", content_type="text/plain")
