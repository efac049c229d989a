"""README command 1 (`make up`) in a throw-away copy of the repository: it installs
everything into a fresh virtualenv, starts the platform and answers /healthz."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import smpplib.client
import smpplib.consts
import smpplib.exceptions
from django.db import connection

from tests.ports import free_port, free_port_block

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = re.compile(r"<!-- example: (?P<name>[\w-]+) -->\n```sh\n(?P<code>.*?)\n```", re.S)


def readme_examples() -> list[tuple[str, str]]:
    """The README's shell examples, each marked `<!-- example: name -->`."""
    return [(m["name"], m["code"]) for m in EXAMPLE.finditer((REPO / "README.md").read_text())]


def test_the_readme_examples_are_found_and_named_once():
    names = [name for name, _code in readme_examples()]
    assert len(names) == len(set(names))
    assert {"account", "sms", "stop", "campaign", "tts", "voicemail", "smpp", "smsmode-http",
            "smsmode-rest", "twilio"} <= set(names)


def _wait_for(condition, timeout: float, what: str):
    """Poll `condition` (a call to the running platform) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def _smpp_submit(port: int, system_id: str, password: str) -> int:
    """Bind as a transmitter with smpplib, submit one SMS; the submit_sm_resp status."""
    client = smpplib.client.Client("127.0.0.1", port, allow_unknown_opt_params=True)
    answers: list[int] = []
    client.set_message_sent_handler(lambda pdu: answers.append(pdu.status))
    for _ in range(30):  # the smpp-server role may still be starting
        try:
            client.connect()
            break
        except smpplib.exceptions.ConnectionError:
            time.sleep(1)
    try:
        client.bind_transmitter(system_id=system_id, password=password)
        client.send_message(source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                            source_addr="Chappe", dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                            destination_addr="33600000001", short_message=b"Hello")
        client.read_once()
        return answers[0]
    finally:
        client.disconnect()


@pytest.mark.slow
def test_make_up_starts_and_answers_healthz(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("command 1 runs on the embedded default; checked once, in the SQLite pass")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    checkout = tmp_path / "chappe"
    for name in files:
        source = REPO / name
        if source.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name)
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CHAPPE_", "DJANGO_", "VIRTUAL_ENV"))}
    env["CHAPPE_PORT"] = str(port)
    smpp_port = free_port()
    env["CHAPPE_SMPP_PORT"] = str(smpp_port)
    env["CHAPPE_VOICE_PORT"] = str(free_port())
    env["CHAPPE_SIP_SIM_PORT"] = str(free_port())
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen(["make", "up"], cwd=checkout, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        status = body = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(1)
        output = (tmp_path / "up.log").read_text()
        assert status == 200, f"/healthz never answered; make up printed:\n{output[-3000:]}"
        assert body.strip() == "ok"
        key = (checkout / "var" / "demo-api-key.txt").read_text().strip()
        assert key in output, "chappe up must print the demo API key"
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/account", headers=auth)
        with urllib.request.urlopen(request, timeout=5) as response:
            assert b"Demo Company" in response.read()
        # A newcomer's first send just works: funded demo account, simulator, gateway.
        body = json.dumps({"recipients": ["+33600000001"], "text": "Hello",
                           "sender": "Chappe"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/sms", data=body,
                                         headers=auth, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            message_id = json.loads(response.read())["recipients"][0]["message_id"]
        status = None
        for _ in range(60):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/sms/{message_id}", headers=auth)
            with urllib.request.urlopen(request, timeout=5) as response:
                status = json.loads(response.read())["status"]
            if status == "delivered":
                break
            time.sleep(0.5)
        assert status == "delivered"
        # A voice message too: the demo trunk leads to the voice carrier simulator.
        body = json.dumps({"recipients": ["+33600000101"], "text": "Bonjour"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/voice-messages",
                                         data=body, headers=auth, method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            voice_id = json.loads(response.read())["id"]
        for _ in range(120):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/voice-messages/{voice_id}", headers=auth)
            with urllib.request.urlopen(request, timeout=5) as response:
                status = json.loads(response.read())["calls"][0]["message_status"]
            if status == "delivered":
                break
            time.sleep(0.5)
        assert status == "delivered", output[-3000:]
        # And over SMPP with the demo credentials it printed.
        creds = json.loads((checkout / "var" / "demo-credentials.json").read_text())
        assert f"system_id demo / password {creds['smpp_password']}" in output
        assert _smpp_submit(smpp_port, "demo", creds["smpp_password"]) == 0
        _run_readme_examples(checkout, port, auth, env)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                raise
    # Ctrl-C stops the whole process tree: nothing listens on the port any more.
    with pytest.raises(urllib.error.URLError):
        _get(f"http://127.0.0.1:{port}/healthz")


def _api(port: int, auth: dict, path: str):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", headers=auth)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _run_readme_examples(checkout: Path, port: int, auth: dict, env: dict) -> None:
    """Each README example as written (only the ports are this test's), in the copy's
    directory; then what it promises, checked through the API."""
    checks = {
        "account": lambda out: "Demo Company" in out,
        "sms": lambda out: out.count('"message_id"') >= 2,
        "stop": lambda out: _wait_for(
            # The second recipient of the "sms" example: +33600000001, the number that
            # is always delivered, stays usable for the examples after this one.
            lambda: any(e["number"] == "+33612345678"
                        for e in _api(port, auth, "/opt-outs")["items"]),
            60, "the STOP to reach the red list"),
        "tts": lambda out: _wait_for(
            lambda: _api(port, auth, f"/voice-messages/{_first_id(out)}")["calls"][0][
                "message_status"] == "delivered", 90, "the voice message to be delivered"),
        # RCS (issue 19): +33600000205 taps the carousel's suggestion, which lands in the
        # inbox; +33600000202 is not RCS-capable and gets the SMS fallback.
        "rcs": lambda out: '"accepted": 2' in out and _wait_for(
            lambda: any(t["channel"] == "rcs" for t in _api(port, auth, "/conversations")),
            60, "the suggestion tap to reach the inbox"),
        "time2chat": lambda out: '"accepted": 1' in out,
        "smpp": lambda out: _wait_for(
            lambda: _api(port, auth, "/sms/" + re.search(r"message_id (\S+)", out).group(1))[
                "status"] == "delivered", 60, "the SMS sent over SMPP to be delivered"),
        "voicemail": lambda out: _wait_for(
            lambda: _api(port, auth, "/voicemails")["count"] >= 1, 90, "a voicemail"),
        "queue": lambda out: (lambda call: call["disposition"] == "answered"
                              and call["agent_id"] is not None)(json.loads(out)),
        # The compatibility APIs (issue 17; also run against a live server, each
        # outcome checked, by tests/api/compat/test_readme.py).
        "smsmode-http": lambda out: re.fullmatch(r"33600000001 (0|13|11)", out.strip()),
        "smsmode-rest": lambda out: '"messageId"' in out,
        "twilio": lambda out: re.match(r"SM[0-9a-f]{32} queued", out) is not None,
        "campaign": lambda out: _wait_for(
            lambda: (lambda p: p["recipients"] == 2
                     and p["delivered"] + p["failed"] + p["opted_out"] == 2)(
                _api(port, auth, f"/campaigns/{_first_id(out)}/progress")),
            90, "the campaign to finish"),
        # Call campaigns (issue 18; also run against a live server by
        # tests/dialer/test_readme.py): the Bloctel-listed consumer is excluded at launch
        # (the progress it printed last).
        "call-campaign": lambda out: (lambda p: p["contacts"] == 2
                                      and p["by_status"].get("excluded") == 1)(
            json.loads(out[out.rindex('{"state"'):])),
    }
    for name, code in readme_examples():
        script = (code.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
                  .replace("127.0.0.1:5060", f"127.0.0.1:{env['CHAPPE_VOICE_PORT']}")
                  .replace('"127.0.0.1", 2775', f'"127.0.0.1", {env["CHAPPE_SMPP_PORT"]}')
                  .replace("-p 5061", f"-p {free_port()}")
                  .replace("(5071, 5072)", f"({free_port()}, {free_port()})")
                  .replace("(16000, 16010)", f"({free_port_block()}, {free_port_block()})"))
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=checkout,
                                env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"README example {name}:\n{result.stderr}"
        # No answer in the API's error shape (a field named "error" may be null).
        assert '{"error": {' not in result.stdout, f"README example {name}:\n{result.stdout}"
        assert checks[name](result.stdout), f"README example {name}:\n{result.stdout}"


def _first_id(output: str) -> str:
    return re.search(r'"id": ?"([0-9a-f-]{36})"', output).group(1)
