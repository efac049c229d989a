"""smsmode HTTP API 1.6 with the exact request and reply forms of the reference
(`code | description | smsID`, the per-recipient codes, the DLR GET)."""

from datetime import datetime
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chappe.carriers.simulator.connector import simulator_inject_mo
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


def test_replies_pushed_to_notification_url_reponse_and_listed(raw_key, receiver, simulator):
    hook = receiver()
    query = urlencode({"accessToken": raw_key, "message": "Venez-vous ?", "classe_msg": "4",
                       "numero": "0600000001", "emetteur": "Chappe", "refClient": "inv-3",
                       "notification_url_reponse": hook.url("/mo")})
    _code, _d, sms_id = answer(sms(query))
    run_until(lambda: Message.objects.filter(status="delivered").exists(), simulator,
              "the message delivered")
    simulator_inject_mo(connector="simulator", from_number=DELIVERED, to="Chappe",
                        text="Oui, à 20 € près")
    mo = run_until(lambda: next((r for r in hook.requests if r.path == "/mo"), None),
                   simulator, "the reply pushed")
    assert mo.method == "GET"
    assert set(mo.query) == {"numero", "message", "emetteur", "date_reception", "smsID",
                             "refClient", "responseID"}
    assert (mo.query["emetteur"], mo.query["numero"]) == ("33600000001", "Chappe")
    assert mo.query["message"] == "Oui, à 20 € près"  # ISO-8859-15 on the wire
    assert "%A4" in mo.raw_query
    assert (mo.query["smsID"], mo.query["refClient"]) == (sms_id, "inv-3")
    assert mo.query["date_reception"] == "17032026-100000"
    listed = Client().get(f"/http/1.6/responseList.do?accessToken={raw_key}")
    [line] = listed.content.decode("iso-8859-15").splitlines()
    assert line.split(" | ")[2:6] == ["33600000001", "Oui, à 20 € près", "Chappe", sms_id]


def test_batch_csv_in_iso_8859_15(raw_key):
    csv_text = "0600000001,Été à 5 €,Chappe,b-1\n0600000002,Second,Chappe\n,empty,Chappe\n"
    upload = SimpleUploadedFile("batch.csv", csv_text.encode("iso-8859-15"), "text/csv")
    response = Client().post(f"/http/1.6/sendSMSBatch.do?accessToken={raw_key}",
                             {"file": upload})
    lines = response.content.decode("iso-8859-15").splitlines()
    assert [line.split(" | ")[0] for line in lines] == ["0", "0", "35"]
    first = Send.objects.get(pk=lines[0].split(" | ")[2])
    assert (first.text, first.reference) == ("Été à 5 €", "b-1")


def test_contacts_groups_sub_accounts_and_credit_transfer(raw_key, funded):
    added = Client().get("/http/1.6/addContact.do?" + urlencode({
        "accessToken": raw_key, "nom": "Martin", "prenom": "Zoé", "mobile": "0600000001",
        "groupes": "Clients"}))
    assert answer(added) == ["0", "Contact added"]
    to_group = sms(urlencode({"accessToken": raw_key, "message": "Hi", "groupe": "Clients",
                              "emetteur": "Chappe"}))
    assert answer(to_group)[0] == "0"
    assert Message.objects.get().recipient == DELIVERED
    created = answer(Client().get("/http/1.6/createSubAccount.do?" + urlencode(
        {"accessToken": raw_key, "societe": "Filiale"})))
    assert created[:2] == ["0", "Sub-account created"]
    sub_id, sub_token = created[2], created[3]
    moved = Client().get("/http/1.6/creditTransfert.do?" + urlencode(
        {"accessToken": raw_key, "targetPseudo": sub_id, "creditAmount": "10"}))
    assert answer(moved) == ["0", "Transfer done"]
    assert answer(Client().get(f"/http/1.6/credit.do?accessToken={sub_token}")) == ["10.00"]
    assert answer(Client().get(f"/http/1.6/credit.do?accessToken={raw_key}"))[0] == "89.96"
    stranger = Client().get("/http/1.6/creditTransfert.do?" + urlencode(
        {"accessToken": sub_token, "targetPseudo": funded.pk.hex, "creditAmount": "5"}))
    assert answer(stranger)[0] == "35"


def test_voice_message_and_sms_list(raw_key):
    voice = Client().get("/http/1.6/sendVoiceMessage.do?" + urlencode({
        "accessToken": raw_key, "message": "Votre code est 1 2 3", "numero": "0600000101",
        "language": "fr-FR", "title": "code"}))
    code, description, sms_id = answer(voice)
    assert (code, description) == ("0", "Accepted")
    send = Send.objects.get(pk=sms_id)
    assert (send.channel, send.tts_language, send.text) == ("tts", "fr", "Votre code est 1 2 3")
    too_long = Client().get("/http/1.6/sendVoiceMessage.do?" + urlencode({
        "accessToken": raw_key, "message": "x" * 161, "numero": "0600000101"}))
    assert answer(too_long)[0] == "35"
    bad_language = Client().get("/http/1.6/sendVoiceMessage.do?" + urlencode({
        "accessToken": raw_key, "message": "Bonjour", "numero": "0600000101",
        "language": "it-IT"}))
    assert answer(bad_language)[0] == "35"
    _c, _d, sent_id = answer(sms(urlencode({"accessToken": raw_key, "message": "A | B",
                                            "numero": "0600000001", "emetteur": "Chappe",
                                            "refClient": "l-1"})))
    listed = Client().get(f"/http/1.6/smsList.do?accessToken={raw_key}")
    [line] = listed.content.decode("iso-8859-15").splitlines()  # SMS only, not the TTS
    fields = line.split(" | ")
    assert fields[0] == sent_id
    assert fields[1] == "17032026-10:00"
    assert fields[2:4] == ["A / B", "33600000001"]
    assert fields[5] == "l-1"
