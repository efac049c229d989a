"""smsmode HTTP API 1.6 with the exact request and reply forms of the reference
(`code | description | smsID`, the per-recipient codes, the DLR GET)."""

from datetime import datetime
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from chappe.messaging.models import Message, Send
from tests.api.compat.conftest import DELIVERED, UNDELIVERED, run_until

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 17, 10, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def sms(query: str, method: str = "GET", body: bytes = b"", content_type: str = ""):
    client = Client()
    if method == "GET":
        return client.get(f"/http/1.6/sendSMS.do?{query}")
    return client.generic("POST", "/http/1.6/sendSMS.do", body,
                          content_type or "application/x-www-form-urlencoded")


def answer(response) -> list[str]:
    assert response.status_code == 200, response.content
    charset = response["Content-Type"].split("charset=")[1]
    return response.content.decode(charset).split(" | ")


def test_accepted_answers_code_0_and_a_sms_id(raw_key, funded):
    response = sms(urlencode({"accessToken": raw_key, "message": "Bonjour",
                              "numero": "0600000001", "emetteur": "Chappe"}))
    code, description, sms_id = answer(response)
    assert (code, description) == ("0", "Accepted")
    send = Send.objects.get(account=funded)
    assert sms_id == send.id.hex
    [message] = send.messages.all()
    assert (message.recipient, message.sender, message.text) == (DELIVERED, "Chappe", "Bonjour")


def test_a_bad_token_is_code_32(raw_key):
    for token in ("", "nope", raw_key + "x", "chp_" + "a" * 300):
        response = sms(urlencode({"accessToken": token, "message": "Hi",
                                  "numero": "0600000001"}))
        assert answer(response)[:2] == ["32", "Authentication error"]
    assert not Message.objects.exists()


@pytest.mark.parametrize(("params", "missing"), [
    ({"numero": "0600000001"}, "message"),
    ({"message": "Hi"}, "numero or groupe"),
    ({"message": "  ", "numero": "0600000001"}, "message"),
])
def test_a_missing_parameter_is_code_35(raw_key, params, missing):
    response = sms(urlencode({"accessToken": raw_key, **params}))
    assert answer(response) == ["35", f"Missing parameter: {missing}"]
    assert not Message.objects.exists()


def test_insufficient_credit_is_code_33(account, price_list):
    from chappe.accounts.actor import SYSTEM
    from chappe.accounts.services import api_key_create

    _key, raw = api_key_create(actor=SYSTEM, account=account, name="poor")
    response = sms(urlencode({"accessToken": raw, "message": "Hi", "numero": "0600000001"}))
    assert answer(response) == ["33", "Insufficient credit"]
    assert not Message.objects.exists()


def test_iso_8859_15_text_arrives_intact_euro_and_accents(raw_key):
    text = "Promo été : 10 € sur les crêpes, àéèùç œ"
    query = (f"accessToken={quote(raw_key)}&numero=0600000001&emetteur=Chappe"
             f"&message={quote(text.encode('iso-8859-15'))}")
    assert "%A4" in query  # € is 0xA4 in ISO-8859-15 (¤ in Latin-1)
    assert answer(sms(query))[0] == "0"
    assert Message.objects.get().text == text


def test_utf8_with_classe_msg_9(raw_key):
    text = "Привет 👋 €"
    query = urlencode({"accessToken": raw_key, "numero": "0600000001", "classe_msg": "9",
                       "message": text}, encoding="utf-8")
    assert answer(sms(query))[0] == "0"
    message = Message.objects.get()
    assert (message.text, message.encoding) == (text, "ucs2")


def test_post_form_and_more_than_300_recipients_need_post(raw_key):
    numbers = ",".join(f"+336{n:08d}" for n in range(10, 311))
    query = urlencode({"accessToken": raw_key, "message": "Hi", "numero": numbers})
    assert answer(sms(query))[0] == "35"
    body = query.encode()
    code, _description, sms_id = answer(sms("", method="POST", body=body))
    assert code == "0"
    assert Send.objects.get(pk=sms_id).messages.count() == 301


def test_hostile_input_gets_code_35_never_a_500(raw_key):
    nul = urlencode({"accessToken": raw_key, "message": "a\x00b", "numero": "0600000001"})
    assert answer(sms(nul))[0] == "35"
    bad_utf8 = f"accessToken={quote(raw_key)}&numero=0600000001&classe_msg=9&message=%FF%FE"
    assert answer(sms(bad_utf8))[0] == "35"
    huge = urlencode({"accessToken": raw_key, "message": "Hi", "numero": "0600000001",
                      "nbr_msg": "9" * 40})
    assert answer(sms(huge))[0] == "35"
    bad_date = urlencode({"accessToken": raw_key, "message": "Hi", "numero": "0600000001",
                          "date_envoi": "32132026-25:99"})
    assert answer(sms(bad_date))[0] == "35"
    assert not Message.objects.exists()


def test_scheduled_send_report_and_delete(raw_key):
    query = urlencode({"accessToken": raw_key, "message": "Later", "numero": "0600000001",
                       "date_envoi": "18032026-09:30", "refClient": "order-7"})
    _code, _d, sms_id = answer(sms(query))
    message = Message.objects.get()
    assert message.due_at == datetime(2026, 3, 18, 9, 30, tzinfo=PARIS)
    report = Client().get(f"/http/1.6/compteRendu.do?accessToken={raw_key}&smsID={sms_id}")
    assert answer(report) == ["33600000001 10"]  # 10: programmed
    deleted = Client().get(f"/http/1.6/deleteSMS.do?accessToken={raw_key}&smsID={sms_id}")
    assert answer(deleted) == ["0", "Deleted"]
    message.refresh_from_db()
    assert message.status == "canceled"
    unknown = Client().get(f"/http/1.6/deleteSMS.do?accessToken={raw_key}&smsID={'0' * 32}")
    assert answer(unknown) == ["61", "SMS not found"]


def test_credit_answers_the_usable_balance(raw_key):
    response = Client().get(f"/http/1.6/credit.do?accessToken={raw_key}")
    assert answer(response) == ["100.00"]


def test_delivery_reports_pushed_as_smsmode_get(raw_key, receiver, simulator):
    hook = receiver()
    query = urlencode({"accessToken": raw_key, "message": "Hi", "emetteur": "Chappe",
                       "numero": "0600000001,0600000002", "refClient": "réf-1",
                       "notification_url": hook.url("/dlr?client=1")}, encoding="iso-8859-15")
    _code, _d, sms_id = answer(sms(query))

    def finals():
        got = {r.query["numero"]: r for r in hook.requests if r.query.get("statut") in
               ("11", "35")}
        return got if len(got) == 2 else None

    reports = run_until(finals, simulator, "both final delivery reports")
    delivered, undelivered = reports["33600000001"], reports["33600000002"]
    assert (delivered.method, delivered.path) == ("GET", "/dlr")
    assert set(delivered.query) == {"client", "numero", "date_reception", "statut", "smsID",
                                    "refClient", "cost", "mcc_mnc"}
    assert (delivered.query["statut"], undelivered.query["statut"]) == ("11", "35")
    assert delivered.query["smsID"] == sms_id
    assert delivered.query["refClient"] == "réf-1"
    assert delivered.query["date_reception"] == "2026-03-17 10:00:00"
    assert float(delivered.query["cost"]) > 0
    report = Client().get(f"/http/1.6/compteRendu.do?accessToken={raw_key}&smsID={sms_id}")
    assert answer(report) == ["33600000001 11", "33600000002 35"]
    assert Message.objects.get(recipient=UNDELIVERED).status == "undelivered"
