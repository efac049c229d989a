"""smsmode REST v1: `POST /sms/v1/messages` → 201 `{"messageId", …}`, get, list with
`page`/`pageSize`, cancel (DELETE) and edit (PATCH) scheduled messages, callbacks with
`status.value`, errors `{title, message, detail, errorCode}`."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from chappe.accounts.actor import SYSTEM
from chappe.accounts.services import api_key_create
from chappe.carriers.simulator.connector import simulator_inject_mo
from chappe.messaging.models import Message
from tests.api.compat.conftest import DELIVERED, run_until

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 17, 10, 0, tzinfo=PARIS)
ERROR_KEYS = {"title", "message", "detail", "errorCode"}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=True):  # ticking: creation order is newest-first order
        yield


def call(method: str, path: str, key: str, body=None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    return Client().generic(method, path, data, content_type="application/json",
                            headers={"X-Api-Key": key, "Accept": "application/json"})


def post(key: str, **body):
    body.setdefault("recipient", {"to": "+33600000001"})
    body.setdefault("body", {"text": "Hello"})
    body.setdefault("from", "Chappe")
    return call("POST", "/sms/v1/messages", key, body)


def test_send_answers_201_with_the_message_id(raw_key):
    response = post(raw_key, refClient="order-1")
    assert response.status_code == 201, response.content
    body = response.json()
    message = Message.objects.get()
    assert body["messageId"] == str(message.id)
    assert body["status"]["value"] == "ENROUTE"
    assert body["refClient"] == "order-1"
    assert body["recipient"] == {"to": DELIVERED}
    assert body["price"]["amount"] > 0
    got = call("GET", f"/sms/v1/messages/{message.id}", raw_key)
    assert got.json()["messageId"] == str(message.id)


def test_a_bad_key_is_401_in_smsmode_shape(raw_key):
    for key in ("", "nope", raw_key + "x"):
        response = post(key)
        assert response.status_code == 401
        assert set(response.json()) == ERROR_KEYS
    assert not Message.objects.exists()


def test_a_missing_field_is_400(raw_key):
    response = call("POST", "/sms/v1/messages", raw_key, {"from": "Chappe"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["detail"] == "recipient.to, body.text"


def test_insufficient_credit_is_402(account, price_list):
    _key, raw = api_key_create(actor=SYSTEM, account=account, name="poor")
    response = post(raw)
    assert response.status_code == 402
    assert response.json()["errorCode"] == "INSUFFICIENT_CREDIT"


def test_hostile_bodies_are_400_never_500(raw_key):
    cases = [b"not json", b"[1, 2]", b'{"body": {"text": "a\\u0000b"}, "recipient": '
             b'{"to": "+33600000001"}}', b"\xff\xfe", json.dumps({
                 "recipient": {"to": "+33600000001"}, "body": {"text": "Hi"},
                 "sentDate": "2026-03-18T10:00:00+99:00"}).encode(),
             json.dumps({"recipient": {"to": 10 ** 30}, "body": {"text": "Hi"}}).encode()]
    for raw in cases:
        response = call("POST", "/sms/v1/messages", raw_key, raw=raw)
        assert response.status_code == 400, (raw, response.content)
        assert set(response.json()) == ERROR_KEYS
    assert call("GET", "/sms/v1/messages/not-a-uuid", raw_key).status_code == 404
    assert call("GET", "/sms/v1/messages?page=" + "9" * 40, raw_key).status_code == 400


def test_list_pages(raw_key):
    for n in range(3):
        post(raw_key, recipient={"to": f"+3360000001{n}"})
    first = call("GET", "/sms/v1/messages?page=1&pageSize=2", raw_key).json()
    second = call("GET", "/sms/v1/messages?page=2&pageSize=2", raw_key).json()
    assert (len(first["items"]), len(second["items"])) == (2, 1)
    assert first["totalItems"] == 3
    assert second["items"][0]["recipient"]["to"] == "+33600000010"


def test_edit_and_cancel_a_scheduled_message(raw_key):
    created = post(raw_key, sentDate="2026-03-18T09:00:00+01:00").json()
    assert created["status"]["value"] == "SCHEDULED"
    path = f"/sms/v1/messages/{created['messageId']}"
    edited = call("PATCH", path, raw_key, {"body": {"text": "Changed"},
                                           "sentDate": "2026-03-18T11:00:00+01:00"})
    assert edited.status_code == 200, edited.content
    assert edited.json()["body"]["text"] == "Changed"
    canceled = call("DELETE", path, raw_key)
    assert canceled.status_code == 200
    assert canceled.json()["status"]["value"] == "CANCELLED"
    again = call("DELETE", path, raw_key)
    assert again.status_code == 409
    assert set(again.json()) == ERROR_KEYS


def test_callbacks_in_smsmode_form(raw_key, receiver, simulator):
    hook = receiver()
    created = post(raw_key, refClient="r-9", callbackUrlStatus=hook.url("/status"),
                   callbackUrlMo=hook.url("/mo")).json()
    run_until(lambda: any(json.loads(r.body)["status"]["value"] == "DELIVERED"
                          for r in hook.requests if r.path == "/status"),
              simulator, "the DELIVERED callback")
    statuses = [json.loads(r.body) for r in hook.requests if r.path == "/status"]
    assert [s["status"]["value"] for s in statuses] == ["ENROUTE", "DELIVERED"]
    delivered = statuses[-1]
    assert delivered["messageId"] == created["messageId"]
    assert delivered["recipient"] == {"to": DELIVERED}
    assert delivered["refClient"] == "r-9"
    assert hook.requests[-1].method == "POST"
    simulator_inject_mo(connector="simulator", from_number=DELIVERED, to="Chappe",
                        text="Réponse €")
    mo = run_until(lambda: next((json.loads(r.body) for r in hook.requests
                                 if r.path == "/mo"), None), simulator, "the MO callback")
    assert mo["from"] == DELIVERED
    assert mo["originMessageId"] == created["messageId"]
    assert mo["body"] == {"type": "TEXT", "text": "Réponse €"}
