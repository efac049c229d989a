"""Each front meets the content check on its own path: the web form, the API's fast path
outside Django (decision 0038, through the group commit), a compatibility API, TTS voice
messages. (The API through Django, SMPP's and the campaigns' acceptance: test_review.py.)"""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from chappe.accounts.actor import SYSTEM
from chappe.accounts.services import api_key_create
from chappe.messaging.content_policy import services
from chappe.messaging.content_policy.models import DomainKind
from chappe.messaging.models import Message, Send
from chappe.messaging.services.tts import tts_send
from tests.messaging.content_policy.test_review import shorteners_seeded
from tests.messaging.test_pipeline import DELIVERED
from tests.messaging.test_single_send_path import Served, json_headers
from tests.web.support import client_for


@pytest.fixture
def blocked(db):
    shorteners_seeded()
    services.domains_import_text(actor=SYSTEM, text="evil-colis.example\n",
                                 kind=DomainKind.BLOCKED, source="feed.txt")


@pytest.mark.django_db(transaction=True)
def test_the_fast_single_send_path_meets_the_check(funded_account, blocked):
    from chappe.messaging.group_commit import SmsGroupCommit

    batcher = SmsGroupCommit().start()
    try:
        served = Served(batcher)
        raw = api_key_create(actor=SYSTEM, account=funded_account, name="hot")[1]
        status, _headers, body = served.post(
            {"recipients": [DELIVERED], "text": "Suivi bit.ly/x", "sender": "Chappe"},
            headers=json_headers(raw))
        refused = served.post(
            {"recipients": [DELIVERED], "text": "evil-colis . example", "sender": "Chappe"},
            headers=json_headers(raw))
    finally:
        batcher.stop()
    assert (status, served.by_django) == (201, 0)
    assert json.loads(body)["recipients"][0]["status"] == "held_for_review"
    [row] = json.loads(refused[2])["recipients"]
    assert row["error"]["code"] == "content_blocked_domain"


@pytest.mark.django_db
def test_the_web_form_meets_the_check(funded_account, make_user, blocked):
    web = client_for(make_user(funded_account, email="ada@acme.example"))
    response = web.post(reverse("web:sms_send"), {
        "recipients": DELIVERED, "sender": "Chappe", "text": "Payez evil-colis.example",
        "kind": "transactional", "send_at": "", "reference": "", "max_segments": ""})
    assert response.status_code == 302
    page = web.get(response["Location"])
    assert [row.status for row in page.context["rows"]] == ["content_refused"]
    assert not Message.objects.filter(account=funded_account).exists()


@pytest.mark.django_db
def test_a_compatibility_api_meets_the_check(funded_account, price_list, blocked):
    raw = api_key_create(actor=SYSTEM, account=funded_account, name="compat")[1]
    response = Client().get("/http/1.6/sendSMS.do?" + urlencode({
        "accessToken": raw, "message": "Suivi bit.ly/x", "numero": "0600000001",
        "emetteur": "Chappe"}))
    assert response.status_code == 200
    [message] = Send.objects.get(account=funded_account).messages.all()
    assert message.status == "held_for_review"


@pytest.mark.django_db
def test_voice_messages_meet_the_check(funded_account, blocked):
    outcome = tts_send(actor=SYSTEM, account=funded_account, recipients=["+33612345601"],
                       text="Payez sur evil-colis point example", caller_id="+33189000001")
    assert outcome.recipients[0].status == "content_refused"
