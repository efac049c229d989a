"""Client-chosen URLs never reach the platform's own network (chappe/common/outbound_http.py):
refused when saved and when the request leaves, the connection made to the address that
was checked (no DNS rebinding), failures reported as a class, not as exception text."""

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from chappe.common import outbound_http
from chappe.common.outbound_http import UnsafeTarget, post, url_check

REFUSED = ["http://127.0.0.1/hook", "http://[::1]/hook", "http://10.0.0.1/hook",
           "http://169.254.169.254/latest/meta-data", "http://metadata.google.internal/x",
           "http://0.0.0.0:8000/", "http://224.0.0.1/", "http://[::ffff:127.0.0.1]/",
           "https://localhost/hook", "http://printer.local/", "http://100.64.0.1/",
           "http://192.168.1.10:8080/", "http://172.16.0.5/", "http://[fe80::1]/"]


@pytest.mark.parametrize("url", REFUSED)
def test_internal_targets_are_refused_when_saved(url, settings):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = ""
    with pytest.raises(UnsafeTarget, match="CHAPPE_WEBHOOK_ALLOW_NETWORKS"):
        url_check(url)


def test_public_targets_and_names_that_do_not_resolve_yet_pass(settings, monkeypatch):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = ""
    url_check("https://93.184.216.34/hook")
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({}))
    url_check("https://hooks.example.com/path")  # checked again at delivery


def test_a_name_resolving_inside_is_refused_when_saved(settings, monkeypatch):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = ""
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({"evil.example": "10.1.2.3"}))
    with pytest.raises(UnsafeTarget):
        url_check("https://evil.example/hook")


def test_the_operator_allow_list_opens_a_network(settings):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8, 10.20.0.0/16"
    url_check("http://127.0.0.1:9000/hook")
    url_check("http://10.20.3.4/hook")
    with pytest.raises(UnsafeTarget):
        url_check("http://10.21.0.1/hook")


def _resolver(names: dict[str, str]):
    calls: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        try:  # the connection itself looks up the literal address: answer with it
            ipaddress.ip_address(host)
            names.setdefault(host, host)
        except ValueError:
            calls.append(host)
        if host not in names:
            raise socket.gaierror("no such name")
        family = socket.AF_INET6 if ":" in names[host] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (names[host], port))]

    getaddrinfo.calls = calls
    return getaddrinfo


@pytest.fixture
def receiver():
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            seen.append({"host": self.headers["Host"], "body": self.rfile.read(length)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()


def test_delivery_goes_to_the_checked_address_resolved_once(receiver, settings, monkeypatch):
    port, seen = receiver
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"
    resolver = _resolver({"hooks.example": "127.0.0.1"})
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    outcome = post(f"http://hooks.example:{port}/in", content=b"{}", headers={}, timeout=5)
    assert outcome == outbound_http.Outcome(204)
    assert seen == [{"host": f"hooks.example:{port}", "body": b"{}"}]
    assert resolver.calls == ["hooks.example"]  # the connection used that one answer


def test_delivery_refuses_what_resolves_inside_now(receiver, settings, monkeypatch):
    """Saved while it resolved outside, it now points inside: nothing is sent."""
    port, seen = receiver
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = ""
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({"rebind.example": "127.0.0.1"}))
    outcome = post(f"http://rebind.example:{port}/in", content=b"{}", headers={}, timeout=5)
    assert outcome == outbound_http.Outcome(None, "refused_address")
    assert seen == []


def test_failures_are_reported_as_a_class_without_internals(settings, monkeypatch):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.0/8"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    assert post(f"http://127.0.0.1:{closed_port}/", content=b"", headers={},
                timeout=2) == outbound_http.Outcome(None, "connection_failed")
    monkeypatch.setattr(socket, "getaddrinfo", _resolver({}))
    assert post("https://nowhere.example/", content=b"", headers={},
                timeout=2) == outbound_http.Outcome(None, "dns_failure")
