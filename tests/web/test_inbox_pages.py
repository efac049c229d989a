"""The inbox and the RCS composer in the web app (Django test client)."""

import json

from django.urls import reverse

from chappe.carriers.base import Inbound
from chappe.inbox.models import Conversation
from chappe.inbox.services import inbound_after
from chappe.messaging.models import Message
from chappe.messaging.services.replies import inbound_receive
from chappe.time2chat.services import t2c_number_owner
from tests.messaging.rcs.conftest import draft_agent, launched_agent  # noqa: F401
from tests.messaging.rcs.test_content import card
from tests.time2chat.conftest import NUMBER, declaration, t2c_rental  # noqa: F401


def test_compose_sends_a_carousel_and_shows_errors(web, funded_account, launched_agent):  # noqa: F811
    page = web.get(reverse("web:rcs_compose"))
    assert page.status_code == 200
    assert b"rcs_preview.js" in page.content
    too_many = {"type": "carousel", "cards": [card(i) for i in range(11)]}
    refused = web.post(reverse("web:rcs_compose"), {
        "agent": str(launched_agent.pk), "recipients": "+33600000205",
        "content": json.dumps(too_many)})
    assert refused.status_code == 200
    body = refused.content.decode()
    assert "content.cards" in body
    sent = web.post(reverse("web:rcs_compose"), {
        "agent": str(launched_agent.pk), "recipients": "+33600000205",
        "content": json.dumps({"type": "carousel", "cards": [card(0, 1), card(1)]}),
        "fallback_text": "See acme.example"})
    assert sent.status_code == 302
    assert Message.objects.get().channel == "rcs"


def test_a_time2chat_thread_is_read_answered_and_assigned(web, admin, funded_account,
                                                          declaration):  # noqa: F811
    stored = inbound_receive(connector="sim", number_owner=t2c_number_owner, inbound=[
        Inbound(carrier_id="mo-1", from_number="+33612345678", to=NUMBER, text="Hello?",
                received_at=funded_account.created_at)])
    inbound_after(inbound=[], replies=stored)
    listing = web.get(reverse("web:inbox") + "?show=unanswered")
    assert "Hello?" in listing.content.decode()
    conversation = Conversation.objects.get()
    url = reverse("web:inbox_thread", args=[conversation.pk])
    assert web.post(url, {"text": "Hi! How can we help?"}).status_code == 302
    assert web.post(url, {"assign": "1", "user_id": str(admin.pk)}).status_code == 302
    conversation.refresh_from_db()
    assert conversation.assigned_to == admin
    assert Message.objects.get().sender == NUMBER
    assert "Hello?" not in web.get(reverse("web:inbox") + "?show=unanswered").content.decode()
