"""Twilio list filters (To, From, DateSent and its bounds) and the redaction and delete of
a message that has left, through the Django test client."""

import base64
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from chappe.carriers.base import Inbound
from chappe.messaging.models import Message
from chappe.messaging.services.replies import inbound_receive
from tests.messaging.test_pipeline import run_gateway_once


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(datetime(2026, 3, 17, 9, 0, tzinfo=UTC), tick=True):
        yield


@pytest.fixture
def twilio(funded, raw_key):
    headers = {"Authorization": "Basic " + base64.b64encode(
        f"{funded.twilio_account_sid}:{raw_key}".encode()).decode()}
    base = f"/2010-04-01/Accounts/{funded.twilio_account_sid}/Messages"

    def call(method: str, path: str = ".json", data=None, idempotency: str = ""):
        extra = {"I-Twilio-Idempotency-Token": idempotency} if idempotency else {}
        return Client().generic(method, base + path, data or "",
                                "application/x-www-form-urlencoded",
                                headers={**headers, **extra})

    return call


def sids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["sid"] for m in response.json()["messages"]]


def test_filters_and_redaction(twilio, simulator):
    first = twilio("POST", data="To=%2B33600000001&From=Chappe&Body=One").json()["sid"]
    second = twilio("POST", data="To=%2B33600000002&From=Other&Body=Two").json()["sid"]
    assert sids(twilio("GET", ".json?DateSent=2026-03-17")) == []  # not sent yet
    run_gateway_once(simulator)
    assert sids(twilio("GET", ".json?DateSent=2026-03-17")) == [second, first]
    assert sids(twilio("GET", ".json?DateSent=2026-03-16")) == []
    assert sids(twilio("GET", ".json?DateSent%3E=2026-03-17")) == [second, first]
    assert sids(twilio("GET", ".json?DateSent%3C=2026-03-17")) == []
    assert sids(twilio("GET", ".json?To=%2B33600000001")) == [first]
    assert sids(twilio("GET", ".json?From=Other")) == [second]
    redacted = twilio("POST", f"/{first}.json", "Body=")
    assert redacted.status_code == 200
    assert redacted.json()["body"] == ""
    assert twilio("DELETE", f"/{second}.json").status_code == 204
    assert set(Message.objects.values_list("text", flat=True)) == {""}
    assert twilio("GET", f"/{second}.json").json()["body"] == ""


def test_a_parent_acts_on_its_sub_account_by_its_sid(funded, raw_key, make_account,
                                                     buy_credits):
    sub = make_account("Sub", parent=funded)
    buy_credits(sub, "10")
    headers = {"Authorization": "Basic " + base64.b64encode(
        f"{funded.twilio_account_sid}:{raw_key}".encode()).decode()}
    path = f"/2010-04-01/Accounts/{sub.twilio_account_sid}/Messages.json"
    created = Client().post(path, {"To": "+33600000001", "From": "Chappe", "Body": "Hi"},
                            headers=headers)
    assert created.status_code == 201, created.content
    assert created.json()["account_sid"] == sub.twilio_account_sid
    assert Message.objects.get().account == sub
    # Not the other way round: the sub-account's key on its parent's SID.
    from chappe.accounts.actor import SYSTEM
    from chappe.accounts.services import api_key_create

    _key, sub_raw = api_key_create(actor=SYSTEM, account=sub, name="sub")
    upward = Client().get(f"/2010-04-01/Accounts/{funded.twilio_account_sid}/Messages.json",
                          headers={"Authorization": "Basic " + base64.b64encode(
                              f"{sub.twilio_account_sid}:{sub_raw}".encode()).decode()})
    assert upward.status_code == 404


def test_the_idempotency_token_replays_the_create(twilio):
    body = "To=%2B33600000001&From=Chappe&Body=Once"

    def create(data: str, token: str):
        return twilio("POST", ".json", data, token)

    first, again = create(body, "tok-1"), create(body, "tok-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["sid"] == again.json()["sid"]
    assert Message.objects.count() == 1
    other = create("To=%2B33600000001&From=Chappe&Body=Different", "tok-1")
    assert (other.status_code, other.json()["code"]) == (409, 20409)
    assert Message.objects.count() == 1


def test_incoming_messages_are_listed_and_fetched(twilio, funded, simulator):
    sent = twilio("POST", data="To=%2B33600000001&From=Chappe&Body=Question").json()["sid"]
    run_gateway_once(simulator)
    inbound_receive(connector="test", inbound=[Inbound(
        carrier_id="mo-1", from_number="+33600000001", to="Chappe", text="Answer",
        received_at=timezone.now())])
    listed = twilio("GET", ".json").json()["messages"]
    assert [(m["direction"], m["status"]) for m in listed] == [
        ("inbound", "received"), ("outbound-api", "delivered")]
    reply_sid = listed[0]["sid"]
    assert listed[1]["sid"] == sent
    fetched = twilio("GET", f"/{reply_sid}.json").json()
    assert (fetched["from"], fetched["to"], fetched["body"]) == ("+33600000001", "Chappe",
                                                                "Answer")
    assert sids(twilio("GET", ".json?From=%2B33600000001")) == [reply_sid]
    page = twilio("GET", ".json?PageSize=1").json()
    assert sids(twilio("GET", page["next_page_uri"].split("/Messages", 1)[1])) == [sent]


def test_a_key_whose_role_may_not_send_or_read(funded):
    from chappe.accounts.actor import SYSTEM
    from chappe.accounts.roles import Role
    from chappe.accounts.services import api_key_create

    _key, agent = api_key_create(actor=SYSTEM, account=funded, name="agent", role=Role.AGENT)
    headers = {"Authorization": "Basic " + base64.b64encode(
        f"{funded.twilio_account_sid}:{agent}".encode()).decode()}
    base = f"/2010-04-01/Accounts/{funded.twilio_account_sid}/Messages.json"
    listed = Client().get(base, headers=headers)
    assert (listed.status_code, listed.json()["code"]) == (403, 20403)
    created = Client().post(base, {"To": "+33600000001", "From": "Chappe", "Body": "Hi"},
                            headers=headers)
    assert (created.status_code, created.json()["code"]) == (403, 20403)
    smsmode = Client().get(f"/http/1.6/sendSMS.do?accessToken={agent}&message=Hi"
                           "&numero=0600000001")
    assert smsmode.content.decode().startswith("32 | ")
    rest = Client().get("/sms/v1/messages", headers={"X-Api-Key": agent})
    assert rest.status_code == 403
    assert not Message.objects.exists()
