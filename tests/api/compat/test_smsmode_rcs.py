"""smsmode's `POST /rcs/v1/messages` onto `rcs_send`: TEXT, CARD and CAROUSEL with their
suggestions, and its errors in smsmode's shape."""

import json

import pytest
from django.test import Client

from chappe.messaging.models import Message
from tests.messaging.rcs.conftest import draft_agent, launched_agent  # noqa: F401

CARD = {"title": "Red shoes", "description": "39 EUR",
        "media": {"fileUrl": "https://example.com/red.png", "height": "TALL"},
        "suggestions": [{"type": "REPLY", "text": "Yes", "postbackData": "yes"},
                        {"type": "OPEN_URL", "text": "Site", "postbackData": "site",
                         "url": "https://example.com"}]}


def post(raw_key, body):
    return Client().post("/rcs/v1/messages", json.dumps(body), content_type="application/json",
                         headers={"X-Api-Key": raw_key})


def test_a_carousel_is_accepted(raw_key, launched_agent):  # noqa: F811
    response = post(raw_key, {"recipient": {"to": "33600000205"}, "refClient": "order-7",
                              "body": {"type": "CAROUSEL", "contents": [CARD, CARD]}})
    assert response.status_code == 201, response.content
    assert response.json()["channel"]["type"] == "RCS"
    message = Message.objects.get(pk=response.json()["messageId"])
    assert message.channel == "rcs"
    assert message.send.rcs_content["cards"][0]["media"]["height"] == "tall"
    assert message.send.rcs_content["cards"][0]["suggestions"][1]["url"] == "https://example.com/"


@pytest.mark.parametrize(("body", "status"), [
    ({"recipient": {"to": "33600000205"}, "body": {"type": "CAROUSEL",
                                                   "contents": [CARD] * 11}}, 400),
    ({"recipient": {"to": "33600000205"}, "body": {"type": "CARD", "content": {
        **CARD, "suggestions": CARD["suggestions"] * 3}}}, 400),
    ({"recipient": {"to": "33600000205"}, "body": {"type": "VIDEO"}}, 400),
    ({"body": {"type": "TEXT", "text": "Hi"}}, 400),
])
def test_refusals_are_in_smsmodes_shape(raw_key, launched_agent, body, status):  # noqa: F811
    response = post(raw_key, body)
    assert response.status_code == status
    assert set(response.json()) == {"title", "message", "detail", "errorCode"}
    assert not Message.objects.exists()


def test_a_key_without_a_launched_agent_is_refused(raw_key, draft_agent):  # noqa: F811
    response = post(raw_key, {"recipient": {"to": "33600000205"},
                              "body": {"type": "TEXT", "text": "Hi"}})
    assert response.status_code == 403
    assert response.json()["errorCode"] == "CHANNEL_TYPE_MISMATCH"
