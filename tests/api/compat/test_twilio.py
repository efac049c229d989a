"""The official `twilio` package, unchanged, against a live server: only
`client.api.base_url` points at Chappe."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from chappe.accounts.actor import SYSTEM
from chappe.accounts.services import api_key_create
from chappe.carriers.simulator.connector import simulator_inject_mo
from chappe.messaging.models import Message
from chappe.webhooks.services import webhook_settings_update
from tests.api.compat.conftest import DELIVERED, run_until

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 17, 10, 0, tzinfo=PARIS)
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def twilio(live_server, funded, raw_key) -> Client:
    client = Client(funded.twilio_account_sid, raw_key)
    client.api.base_url = live_server.url
    return client


def test_the_account_sid_is_stable_and_shown(funded, api_for):
    sid = funded.twilio_account_sid
    assert sid.startswith("AC")
    assert len(sid) == 34
    int(sid[2:], 16)
    body = api_for(funded).get("/api/v1/account").json()
    assert body["twilio_account_sid"] == sid
    funded.refresh_from_db()
    assert funded.twilio_account_sid == sid


def test_create_then_fetch_until_delivered(twilio, funded, simulator):
    message = twilio.messages.create(to="+33600000001", from_="Chappe", body="Hello")
    assert message.sid.startswith("SM")
    assert len(message.sid) == 34
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (DELIVERED, "Chappe", "Hello")
    assert message.account_sid == funded.twilio_account_sid
    assert message.num_segments == "1"
    assert message.price_unit == "EUR"
    assert message.date_created is not None
    assert message.uri == (f"/2010-04-01/Accounts/{funded.twilio_account_sid}/Messages/"
                           f"{message.sid}.json")

    def delivered():
        fetched = twilio.messages(message.sid).fetch()
        return fetched if fetched.status == "delivered" else None

    fetched = run_until(delivered, simulator, "the message delivered")
    assert float(fetched.price) < 0
    assert fetched.date_sent is not None
    assert fetched.error_code is None


def test_list_with_paging(twilio):
    sent = [twilio.messages.create(to=f"+336000000{n:02d}", from_="Chappe", body=f"n{n}").sid
            for n in range(10, 15)]
    page = twilio.messages.page(page_size=2)
    assert [m.sid for m in page] == sent[::-1][:2]
    listed = [m.sid for m in twilio.messages.list(page_size=2)]
    assert listed == sent[::-1]
    assert [m.sid for m in twilio.messages.list(to="+33600000012")] == [sent[2]]
    assert len(twilio.messages.list(limit=3, page_size=2)) == 3


def test_cancel_a_scheduled_message(twilio):
    send_at = datetime.now(tz=PARIS) + timedelta(hours=2)
    message = twilio.messages.create(to="+33600000001", from_="Chappe", body="Later",
                                     schedule_type="fixed", send_at=send_at)
    assert message.status == "scheduled"
    canceled = twilio.messages(message.sid).update(status="canceled")
    assert canceled.status == "canceled"
    assert Message.objects.get().status == "canceled"
    with pytest.raises(TwilioRestException) as error:
        twilio.messages(message.sid).update(status="canceled")
    assert error.value.code == 30409


def test_a_wrong_token_is_401_20003(live_server, funded, raw_key):
    for sid, token in ((funded.twilio_account_sid, raw_key + "x"),
                       (funded.twilio_account_sid, "nope"),
                       ("AC" + "0" * 32, raw_key)):
        client = Client(sid, token)
        client.api.base_url = live_server.url
        with pytest.raises(TwilioRestException) as error:
            client.messages.create(to="+33600000001", from_="Chappe", body="Hi")
        assert (error.value.status, error.value.code) == (401, 20003)
    assert not Message.objects.exists()


def test_errors_in_twilio_shape(twilio):
    cases = [({"to": "12", "body": "Hi"}, 21211), ({"to": "+33600000001", "body": ""}, 21602),
             ({"to": "+33600000001", "body": "a\x00b"}, 21600)]
    for fields, code in cases:
        with pytest.raises(TwilioRestException) as error:
            twilio.messages.create(from_="Chappe", **fields)
        assert (error.value.status, error.value.code) == (400, code), fields
    with pytest.raises(TwilioRestException) as error:
        twilio.messages("SM" + "0" * 32).fetch()
    assert (error.value.status, error.value.code) == (404, 20404)


def test_status_callbacks_validate_with_request_validator(twilio, raw_key, funded, receiver,
                                                          simulator):
    hook = receiver()
    url = hook.url("/twilio/status?x=1")
    message = twilio.messages.create(to="+33600000001", from_="Chappe", body="Hi",
                                     status_callback=url)
    final = run_until(lambda: next((r for r in hook.requests
                                    if r.form().get("MessageStatus") == "delivered"), None),
                      simulator, "the delivered status callback")
    form = final.form()
    assert form["MessageSid"] == message.sid
    assert form["AccountSid"] == funded.twilio_account_sid
    assert (form["From"], form["To"]) == ("Chappe", DELIVERED)
    validator = RequestValidator(raw_key)
    assert validator.validate(url, form, final.headers["X-Twilio-Signature"])
    assert not RequestValidator(raw_key + "x").validate(url, form,
                                                        final.headers["X-Twilio-Signature"])
    assert [r.form()["MessageStatus"] for r in hook.requests] == ["sent", "delivered"]


def test_an_incoming_message_is_answered_by_twiml(twilio, raw_key, funded, receiver,
                                                  simulator):
    twiml = b"<?xml version='1.0'?><Response><Message>Thanks, see you</Message></Response>"
    app = receiver(twiml, "text/xml")
    webhook_settings_update(actor=SYSTEM.on(funded), account=funded,
                            twilio_sms_url=app.url("/sms"))
    twilio.messages.create(to="+33600000001", from_="Chappe", body="Question?")
    run_gateway = run_until(lambda: Message.objects.filter(status="delivered").exists(),
                            simulator, "the first message delivered")
    assert run_gateway
    simulator_inject_mo(connector="simulator", from_number=DELIVERED, to="Chappe",
                        text="Yes please")
    answered = run_until(lambda: Message.objects.filter(text="Thanks, see you").first(),
                         simulator, "the TwiML reply accepted")
    assert (answered.recipient, answered.sender) == (DELIVERED, "Chappe")
    [incoming] = app.requests
    form = incoming.form()
    assert (form["From"], form["To"], form["Body"]) == (DELIVERED, "Chappe", "Yes please")
    assert form["AccountSid"] == funded.twilio_account_sid
    assert RequestValidator(raw_key).validate(app.url("/sms"), form,
                                              incoming.headers["X-Twilio-Signature"])


def test_another_accounts_key_never_reaches_these_messages(live_server, twilio, make_account,
                                                           funded):
    mine = twilio.messages.create(to="+33600000001", from_="Chappe", body="Mine")
    other = make_account("Other")
    _key, other_raw = api_key_create(actor=SYSTEM, account=other, name="other")
    theirs = Client(other.twilio_account_sid, other_raw)
    theirs.api.base_url = live_server.url
    with pytest.raises(TwilioRestException) as error:
        theirs.messages(mine.sid).fetch()
    assert (error.value.status, error.value.code) == (404, 20404)
    assert theirs.messages.list() == []
    with pytest.raises(TwilioRestException):
        theirs.messages(mine.sid).update(status="canceled")
    # Their key with our SID: refused at authentication.
    crossed = Client(funded.twilio_account_sid, other_raw)
    crossed.api.base_url = live_server.url
    with pytest.raises(TwilioRestException) as error:
        crossed.messages(mine.sid).fetch()
    assert (error.value.status, error.value.code) == (401, 20003)
    assert Message.objects.get(pk=Message.objects.get().pk).status == "queued"
