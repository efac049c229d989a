"""The one conversation inbox through `/api/v1`: an RCS reply and a tap, a Time2Chat MO,
markers (unread, unanswered, RCS overdue after 72 h), answer in the same channel,
assignment."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from chappe.carriers.base import Inbound
from chappe.carriers.rcs_simulator.connector import CLICKS, REPLIES
from chappe.inbox.models import Conversation
from chappe.inbox.services import inbound_after
from chappe.messaging.models import Message
from chappe.messaging.services.replies import inbound_receive
from chappe.time2chat.services import t2c_number_owner
from tests.messaging.rcs.test_pipeline import CAROUSEL, run, send
from tests.time2chat.conftest import NUMBER

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
CUSTOMER = "+33612345678"


@pytest.fixture
def inbox_api(api_for, funded_account):
    return api_for(funded_account)


def test_rcs_reply_and_tap_land_in_the_inbox_and_overdue_after_72h(
        inbox_api, funded_account, launched_agent, fleet):
    with time_machine.travel(T0, tick=False):
        send(funded_account, launched_agent, [REPLIES, CLICKS], content=CAROUSEL)
        run(fleet)
        threads = inbox_api.get("/api/v1/conversations").json()
    by = {t["correspondent"]: t for t in threads}
    assert by[REPLIES]["channel"] == by[CLICKS]["channel"] == "rcs"
    assert by[REPLIES]["last_in_text"] == "Yes please"
    assert by[REPLIES]["unread"]
    assert by[REPLIES]["unanswered"]
    with time_machine.travel(T0 + timedelta(hours=71), tick=False):
        assert inbox_api.get("/api/v1/conversations?overdue=true").json() == []
    with time_machine.travel(T0 + timedelta(hours=72), tick=False):
        overdue = inbox_api.get("/api/v1/conversations?overdue=true").json()
        assert {t["correspondent"] for t in overdue} == {REPLIES, CLICKS}
        detail = inbox_api.get(f"/api/v1/conversations/{by[CLICKS]['id']}").json()
        assert [m["direction"] for m in detail["messages"]] == ["out", "in"]
        assert detail["messages"][1]["postback_data"] == "p0-0"
        answer = inbox_api.post(f"/api/v1/conversations/{by[CLICKS]['id']}/reply",
                                {"text": "Great choice!"})
        assert answer.status_code == 201, answer.json()
        again = inbox_api.get("/api/v1/conversations?overdue=true").json()
        assert {t["correspondent"] for t in again} == {REPLIES}
    reply = Message.objects.get(pk=answer.json()["recipients"][0]["message_id"])
    assert (reply.channel, reply.sender) == ("rcs", launched_agent.sender)


def test_a_time2chat_mo_is_kept_answered_from_the_09_number_and_assigned(
        inbox_api, funded_account, declaration, make_user):
    stored = inbound_receive(connector="sim", number_owner=t2c_number_owner, inbound=[Inbound(
        carrier_id="mo-1", from_number=CUSTOMER, to=NUMBER, text="Where is my parcel?",
        received_at=T0)])
    inbound_after(inbound=[], replies=stored)
    [thread] = inbox_api.get("/api/v1/conversations?channel=t2c").json()
    assert (thread["address"], thread["last_in_text"]) == (NUMBER, "Where is my parcel?")
    answer = inbox_api.post(f"/api/v1/conversations/{thread['id']}/reply",
                            {"text": "Tomorrow morning"})
    assert answer.status_code == 201, answer.json()
    assert answer.json()["recipients"][0]["sender"] == NUMBER
    user = make_user(funded_account, email="agent@acme.example")
    assigned = inbox_api.post(f"/api/v1/conversations/{thread['id']}/assign",
                              {"user_id": user.pk})
    assert assigned.json()["assigned_to"] == "agent@acme.example"
    assert not inbox_api.get("/api/v1/conversations?unanswered=true").json()


def test_assigning_to_another_accounts_user_is_refused(inbox_api, funded_account,
                                                       other_account, make_user):
    conversation = Conversation.objects.create(
        account=funded_account, correspondent=CUSTOMER, address="Shop", channel="sms",
        last_in_at=T0)
    stranger = make_user(other_account, email="x@other.example")
    response = inbox_api.post(f"/api/v1/conversations/{conversation.pk}/assign",
                              {"user_id": stranger.pk})
    assert response.status_code == 400
