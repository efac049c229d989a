"""Every input from the network is hostile: NUL bytes, huge numbers, oversized bodies,
bad encodings and bad credentials get a clear error in each adapter's own shape, never a
500; repeated authentication failures are throttled like every credential check."""

import base64
import json

import pytest
from django.test import Client

from chappe.api.compat import auth
from chappe.common.throttle import FailureThrottle
from chappe.messaging.models import Message


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def twilio_path(funded) -> str:
    return f"/2010-04-01/Accounts/{funded.twilio_account_sid}/Messages.json"


def twilio_error(response, status: int, code: int) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (body["code"], body["status"]) == (code, status)


def test_twilio_hostile_input(twilio_path, funded, raw_key, settings):
    client, auth_ = Client(), basic(funded.twilio_account_sid, raw_key)
    form = "application/x-www-form-urlencoded"
    cases = [
        (b"To=%2B33600000001&From=Chappe&Body=a%00b", 400, 21600),
        (b"To=%2B33600000001&From=Chappe&Body=%FF%FE", 400, 21600),
        (b"To=%2B33600000001&From=Chappe&Body=Hi&ValidityPeriod=" + b"9" * 50, 400, 21600),
        (b"To=" + b"1" * 500 + b"&From=Chappe&Body=Hi", 400, 21211),
        (b"To=%2B33600000001&From=Chappe&Body=" + b"a" * 1601, 400, 21617),
        (b"To=%2B33600000001&From=Chappe&Body=Hi&ScheduleType=fixed&SendAt=yesterday", 400,
         21600),
        (b"To=%2B33600000001&From=Chappe&Body=Hi&StatusCallback=http://169.254.169.254/x",
         400, 21600),
        (b"&".join(b"f%d=1" % n for n in range(500)), 400, 20001),
        (b"To=%2B33600000001&From=Chappe&Body=Hi&MediaUrl=https://example.com/a.png", 400,
         21620),
    ]
    for body, status, code in cases:
        twilio_error(client.generic("POST", twilio_path, body, form, headers=auth_),
                     status, code)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    twilio_error(client.generic("POST", twilio_path, b"Body=" + b"a" * 2000, form,
                                headers=auth_), 400, 20001)
    twilio_error(client.get(twilio_path + "?PageSize=" + "9" * 30, headers=auth_), 400, 21600)
    twilio_error(client.get(twilio_path + "?PageToken=PAzz", headers=auth_), 400, 20001)
    twilio_error(client.get(twilio_path + "?DateSent=2026-99-99", headers=auth_), 400, 21600)
    one = twilio_path.removesuffix(".json") + "/SM%00.json"
    twilio_error(client.get(one, headers=auth_), 404, 20404)
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"\xff\xfe").decode(), "Bearer x",
                   "Basic " + base64.b64encode(b"no-colon").decode()):
        twilio_error(client.get(twilio_path, headers={"Authorization": header}), 401, 20003)
    assert not Message.objects.exists()


def test_smsmode_rest_oversized_body(raw_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Client().generic("POST", "/sms/v1/messages", json.dumps(
        {"recipient": {"to": "+33600000001"}, "body": {"text": "a" * 5000}}),
        "application/json", headers={"X-Api-Key": raw_key})
    assert response.status_code == 400
    assert set(response.json()) == {"title", "message", "detail", "errorCode"}


def test_smsmode_http_unknown_operation_and_method(raw_key):
    assert Client().get("/http/1.6/nope.do").status_code == 404
    response = Client().delete(f"/http/1.6/sendSMS.do?accessToken={raw_key}")
    assert response.status_code == 405


def test_authentication_failures_are_throttled(monkeypatch, twilio_path, funded, raw_key):
    now = [1000.0]
    monkeypatch.setattr(auth, "THROTTLE", FailureThrottle(free=3, base=10.0, cap=60.0,
                                                          clock=lambda: now[0]))
    client = Client()
    wrong = basic(funded.twilio_account_sid, raw_key + "x")
    for _ in range(3):
        twilio_error(client.get(twilio_path, headers=wrong), 401, 20003)
    # Blocked now, even with the right token, for this address and this SID.
    blocked = client.get(twilio_path, headers=basic(funded.twilio_account_sid, raw_key))
    twilio_error(blocked, 429, 20429)
    assert blocked["Retry-After"] == "10"
    smsmode = client.get(f"/http/1.6/credit.do?accessToken={raw_key}")
    assert smsmode.content.decode().startswith("32 | ")
    rest = client.get("/sms/v1/messages", headers={"X-Api-Key": raw_key})
    assert rest.status_code == 429
    now[0] += 11
    ok = client.get(twilio_path, headers=basic(funded.twilio_account_sid, raw_key))
    assert ok.status_code == 200
