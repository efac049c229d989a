"""Kannel 1.4.5 (Debian `kannel`: bearerbox + smsbox) as a real third-party ESME of the
SMPP server: a long text sent through smsbox's sendsms reaches us in UDH parts with
registered_delivery on the first part only, and Kannel's delivery report comes back to
its dlr-url — which needs our receipt under the first part's id."""

import http.server
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chappe.carriers.services import simulator_ensure
from chappe.messaging.models import Message
from chappe.smpp_server.models import SmppSubmission
from tests.ports import free_port
from tests.processes import wait_for
from tests.protocol.smppclient import deliver_all

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True),
              pytest.mark.tools("bearerbox", "smsbox")]
LONG = "Kannel cuts this text in parts and asks for a receipt on the first one. " * 4


class _Reports(http.server.BaseHTTPRequestHandler):
    """Kannel's dlr-url calls, kept in the server's `reports`."""

    def do_GET(self) -> None:
        self.server.reports.append(dict(urllib.parse.parse_qsl(  # type: ignore[attr-defined]
            urllib.parse.urlsplit(self.path).query)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def reports() -> Iterator[tuple[int, list[dict[str, str]]]]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Reports)
    httpd.reports = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], httpd.reports  # type: ignore[attr-defined]
    httpd.shutdown()


def _kannel_config(path: Path, *, smpp_port: int, ports: dict[str, int]) -> Path:
    config = path / "kannel.conf"
    config.write_text(f"""
group = core
admin-port = {ports["admin"]}
admin-interface = 127.0.0.1
admin-password = adminpw
smsbox-port = {ports["smsbox"]}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
dlr-storage = internal
log-file = "{path}/bearerbox.log"
log-level = 1

group = smsc
smsc = smpp
smsc-id = chappe
host = 127.0.0.1
port = {smpp_port}
transceiver-mode = true
smsc-username = acme
smsc-password = pw123
system-type = "VMA"
interface-version = 34
source-addr-ton = 5
source-addr-npi = 0
dest-addr-ton = 1
dest-addr-npi = 1
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports["smsbox"]}
sendsms-port = {ports["sendsms"]}
sendsms-interface = 127.0.0.1
log-file = "{path}/smsbox.log"
log-level = 1

group = sendsms-user
username = tester
password = testpw
concatenation = true
max-messages = 5
""")
    return config


def test_kannel_long_message_gets_its_delivery_report(server, credentials, tmp_path,
                                                      reports):
    simulator_ensure(config={"latency_ms": 0})
    ports = {name: free_port() for name in ("admin", "smsbox", "sendsms")}
    config = _kannel_config(tmp_path, smpp_port=server.port, ports=ports)
    boxes = [subprocess.Popen([box, str(config)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for box in ("bearerbox",)]
    try:
        def bound() -> bool:
            if boxes[0].poll() is not None:
                pytest.fail("bearerbox stopped:\n"
                            + (tmp_path / "bearerbox.log").read_text()[-2000:])
            return any(s.system_id == "acme" and s.mode for s in list(server.sessions))

        wait_for(bound, 20, "Kannel's bearerbox to bind")
        boxes.append(subprocess.Popen(["smsbox", str(config)], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        dlr_port, received = reports
        query = urllib.parse.urlencode({
            "username": "tester", "password": "testpw", "from": "Acme",
            "to": "33612345678", "text": LONG, "dlr-mask": "1",
            "dlr-url": f"http://127.0.0.1:{dlr_port}/dlr?type=%d&id=%I&answer=%A"})

        def sendsms() -> bool:
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms?{query}",
                        timeout=5) as response:
                    return response.status == 202
            except OSError:  # smsbox still starting
                return False

        wait_for(sendsms, 20, "smsbox to take the sendsms request")
        wait_for(lambda: SmppSubmission.objects.exists(), 20,
                 "the long message to be accepted from its parts")
        message = Message.objects.get()
        assert message.text == LONG
        submission = SmppSubmission.objects.get()
        assert submission.registered_delivery == 1  # asked on the first part only
        assert submission.receipt_ids.startswith("part-")
        deliver_all()
        wait_for(lambda: any(r.get("type") == "1" for r in received), 30,
                 "Kannel to call its dlr-url with the delivery report")
        report = next(r for r in received if r.get("type") == "1")
        assert "stat:DELIVRD" in report["answer"]
    finally:
        for box in reversed(boxes):
            box.terminate()
        for box in boxes:
            try:
                box.wait(timeout=15)
            except subprocess.TimeoutExpired:
                box.kill()
