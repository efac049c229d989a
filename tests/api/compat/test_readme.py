"""The README's examples of the compatibility APIs, run as written (only the port is
this test's) against a live server, with the demo key file in place; then what each
promises, checked in the database. (tests/runtime/test_command_one.py runs them too,
against `make up` in a fresh copy, in the slow pass.)"""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from chappe.messaging.models import Message
from tests.runtime.test_command_one import readme_examples

VENV = Path(sys.executable).parent.parent
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(datetime(2026, 3, 17, 10, 0, tzinfo=ZoneInfo("Europe/Paris")),
                             tick=True):
        yield


@pytest.fixture
def demo_dir(tmp_path, raw_key) -> Path:
    """A directory laid out as the README assumes: var/demo-api-key.txt and .venv."""
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo-api-key.txt").write_text(raw_key + "\n")
    (tmp_path / ".venv").symlink_to(VENV)
    return tmp_path


def run_example(name: str, live_server, directory: Path) -> subprocess.CompletedProcess:
    [code] = [code for example, code in readme_examples() if example == name]
    port = live_server.url.rsplit(":", 1)[1]
    script = code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PIP_"))}
    env["PIP_NO_INDEX"] = "1"  # the client is installed already: no registry call here
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=directory,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{name}:\n{result.stdout}\n{result.stderr}"
    return result


def test_smsmode_http_example(live_server, demo_dir, funded):
    result = run_example("smsmode-http", live_server, demo_dir)
    assert result.stderr.startswith("0 | Accepted | ")
    assert result.stdout.strip() == "33600000001 0"
    message = Message.objects.get()
    assert message.text == "Bonjour à tous, 5 €"
    assert message.sender == "Chappe"


def test_smsmode_rest_example(live_server, demo_dir, funded):
    result = run_example("smsmode-rest", live_server, demo_dir)
    message = Message.objects.get()
    assert f'"messageId": "{message.id}"' in result.stdout
    assert message.send.reference == "order-42"


def test_twilio_example(live_server, demo_dir, funded):
    result = run_example("twilio", live_server, demo_dir)
    message = Message.objects.get()
    sid = "SM" + message.id.hex
    assert result.stdout.splitlines() == [f"{sid} queued", f"{sid} +33600000001 queued"]
    assert message.text == "Hello from twilio-python"
