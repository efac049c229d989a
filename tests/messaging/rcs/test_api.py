"""`/api/v1/rcs`: agents and messages through HTTP."""

import base64
from decimal import Decimal

import pytest

from chappe.messaging.models import Message
from tests.messaging.rcs.conftest import PROFILE, png
from tests.messaging.rcs.test_content import card

CAPABLE = "+33600000001"


@pytest.fixture
def rcs_api(api_for, funded_account):
    return api_for(funded_account)


def post_rcs(client, agent, content, **body):
    return client.post("/api/v1/rcs/messages", {"recipients": [CAPABLE], "agent_id": str(agent.pk),
                                                "content": content, **body})


def test_a_carousel_is_accepted_and_billed_as_one_rcs_message(rcs_api, launched_agent):
    response = post_rcs(rcs_api, launched_agent,
                        {"type": "carousel", "cards": [card(i, 4) for i in range(10)]},
                        fallback_text="Our new shoes: https://acme.example")
    assert response.status_code == 201, response.json()
    [row] = response.json()["recipients"]
    assert row["status"] == "queued"
    assert Decimal(row["price"]) == Decimal("0.03")
    message = Message.objects.get(pk=row["message_id"])
    assert (message.channel, message.sender, message.segments) == (
        "rcs", launched_agent.sender, 1)
    assert message.send.rcs_content["cards"][9]["title"] == "Card 9"
    assert message.send.fallback_text == "Our new shoes: https://acme.example"


@pytest.mark.parametrize(("content", "field"), [
    ({"type": "carousel", "cards": [card(i) for i in range(11)]}, "cards"),
    ({"type": "card", "card": card(suggestions=5)}, "suggestions"),
])
def test_content_over_the_limits_is_a_clear_4xx(rcs_api, launched_agent, content, field):
    response = post_rcs(rcs_api, launched_agent, content)
    assert response.status_code in (400, 422)
    assert field in str(response.json())
    assert not Message.objects.exists()


def test_a_send_through_an_agent_not_validated_is_refused(rcs_api, draft_agent):
    response = post_rcs(rcs_api, draft_agent, {"type": "text", "text": "Hi"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "rcs_agent_not_approved"
    assert not Message.objects.exists()


def test_the_client_creates_and_submits_an_agent(rcs_api):
    body = {**PROFILE, "logo": base64.b64encode(png(224, 224)).decode(),
            "banner": base64.b64encode(png(1440, 448)).decode()}
    created = rcs_api.post("/api/v1/rcs/agents", body)
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "draft"
    submitted = rcs_api.post(f"/api/v1/rcs/agents/{created.json()['id']}/submit")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "pending"
    assert {r["carrier"] for r in submitted.json()["reviews"]} == {
        "orange", "sfr", "bouygues", "free"}


def test_a_logo_of_the_wrong_size_is_refused(rcs_api):
    body = {**PROFILE, "logo": base64.b64encode(png(100, 100)).decode()}
    response = rcs_api.post("/api/v1/rcs/agents", body)
    assert response.status_code == 400
    assert "224" in str(response.json()["error"]["details"]["logo"])


def test_another_accounts_agent_is_not_found(api_for, other_account, launched_agent):
    response = api_for(other_account).get(f"/api/v1/rcs/agents/{launched_agent.pk}")
    assert response.status_code == 404
