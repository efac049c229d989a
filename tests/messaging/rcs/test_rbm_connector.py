"""The RBM connector against a fake RBM API on 127.0.0.1: capability lookups, the JSON of
a rich send, and receipts and replies pushed to our webhook reaching the message and the
inbox; a bad signature and a garbage body refused in the one error shape."""

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from chappe.accounts.actor import SYSTEM
from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.models import Connector
from chappe.carriers.rbm.content import rbm_content
from chappe.carriers.rcs import RcsOutbound
from chappe.carriers.registry import config_stored, config_validate
from chappe.common.sealing import unseal
from chappe.messaging.models import Message, Reply
from chappe.messaging.rcs.content import CONTENT
from chappe.messaging.rcs.dispatch import rcs_dispatch
from chappe.messaging.rcs.send import rcs_send
from tests.messaging.rcs.test_content import card
from tests.ports import free_port

CAPABLE, NOT_CAPABLE = "+33612340001", "+33612340002"
# The fake answers a send to these 409 (sent already), 503 (busy), 400 (refused).
SENT_ALREADY, BUSY, REFUSED = "+33612340003", "+33612340004", "+33612340005"
ANSWERS = {SENT_ALREADY: 409, BUSY: 503, REFUSED: 400}
TOKEN, SECRET, AGENT = "ya29.test-token", "client-token-42", "acme_agent@rbm.goog"
CAROUSEL = {"type": "carousel", "cards": [card(0, 2), card(1, 2)],
            "suggestions": [{"type": "reply", "text": "Stop", "postback_data": "stop"}]}


class FakeRbm(BaseHTTPRequestHandler):
    """Capable: CAPABLE only. Records every request (method, path, query, headers, JSON)."""

    seen: list[dict] = []

    def _record(self) -> tuple[str, dict]:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.seen.append({"method": self.command, "path": parts.path,
                          "query": parse_qs(parts.query), "auth": self.headers["Authorization"],
                          "json": body})
        return parts.path, body

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self) -> None:
        path, _body = self._record()
        self._answer(200 if path == f"/v1/phones/{CAPABLE}/capabilities" else
                     503 if path == f"/v1/phones/{BUSY}/capabilities" else 404)

    def do_POST(self) -> None:
        path, _body = self._record()
        self._answer(ANSWERS.get(path.split("/")[3], 200))

    def log_message(self, *args) -> None:
        """Quiet."""


@pytest.fixture
def fake_rbm(settings):
    settings.CHAPPE_WEBHOOK_ALLOW_NETWORKS = "127.0.0.1/32"
    FakeRbm.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), FakeRbm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def rbm(db, fake_rbm, launched_agent):
    stored = config_stored(config_validate(type="rbm", config={
        "base_url": fake_rbm, "agents": {launched_agent.sender: AGENT},
        "token": TOKEN, "webhook_secret": SECRET}))
    Connector.objects.create(name="rbm", type="rbm", config=stored)
    return ConnectorFleet(process="test").refresh()["rbm"]


def signed(payload: dict, secret: str = SECRET) -> tuple[bytes, str]:
    data = base64.b64encode(json.dumps(payload).encode()).decode()
    body = json.dumps({"message": {"data": data, "messageId": "1"},
                       "subscription": "projects/rbm/subscriptions/acme"}).encode()
    return body, base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha512).digest()).decode()


def push(payload: dict, *, secret: str = SECRET):
    body, signature = signed(payload, secret)
    return Client().post("/carriers/rbm/rbm/events", body, content_type="application/json",
                         HTTP_X_GOOG_SIGNATURE=signature)


def user_event(**fields) -> dict:
    return {"senderPhoneNumber": CAPABLE, "agentId": AGENT, "messageId": "MxABC",
            "sendTime": "2026-03-02T09:00:00.123Z", **fields}


def test_the_secrets_are_stored_sealed(rbm):
    stored = Connector.objects.get(name="rbm").config
    assert TOKEN not in json.dumps(stored)
    assert SECRET not in json.dumps(stored)
    assert (unseal(stored["token"]), unseal(stored["webhook_secret"])) == (TOKEN, SECRET)


def test_capability_is_a_200_and_not_capable_a_404(rbm):
    assert rbm.capabilities([CAPABLE, NOT_CAPABLE]) == {CAPABLE: True, NOT_CAPABLE: False}
    lookup = FakeRbm.seen[0]
    assert (lookup["method"], lookup["auth"]) == ("GET", f"Bearer {TOKEN}")
    assert lookup["query"]["agentId"] == [AGENT]


def test_a_capability_lookup_that_fails_is_not_an_answer(rbm):
    assert rbm.capabilities([BUSY, CAPABLE]) == {CAPABLE: True}


def test_rbm_answers_to_a_send(rbm, launched_agent):
    def out(recipient, agent=launched_agent.sender):
        return RcsOutbound(f"m{recipient}", recipient, agent, {"type": "text", "text": "Hi"})

    results = rbm.submit_rich([out(SENT_ALREADY), out(BUSY), out(REFUSED),
                               out(CAPABLE, agent="rcs-unknown")])
    assert [(r.carrier_message_id, r.error_code, r.retry) for r in results] == [
        (f"m{SENT_ALREADY}", "", False), ("", "rbm_503", True), ("", "rbm_400", False),
        ("", "rbm_unknown_agent", False)]
    assert len([r for r in FakeRbm.seen if r["method"] == "POST"]) == 3


def test_a_carousel_is_sent_as_an_rbm_agent_message(funded_account, launched_agent, rbm):
    rcs_send(actor=SYSTEM.on(funded_account), account=funded_account,
             recipients=[CAPABLE, NOT_CAPABLE], agent_id=launched_agent.pk, content=CAROUSEL)
    rcs_dispatch(worker="test", connectors={"rbm": rbm})
    sent = Message.objects.get(recipient=CAPABLE)
    assert (sent.status, sent.carrier_message_id) == ("sent", str(sent.id))
    assert Message.objects.get(recipient=NOT_CAPABLE).error_code == "rcs_not_capable"
    [post] = [r for r in FakeRbm.seen if r["method"] == "POST"]
    assert post["path"] == f"/v1/phones/{CAPABLE}/agentMessages"
    assert post["query"] == {"messageId": [str(sent.id)], "agentId": [AGENT]}
    carousel = post["json"]["contentMessage"]["richCard"]["carouselCard"]
    assert carousel["cardWidth"] == "MEDIUM"
    first = CAROUSEL["cards"][0]
    assert carousel["cardContents"][0]["title"] == first["title"]
    assert carousel["cardContents"][0]["suggestions"][0] == {"reply": {
        "text": first["suggestions"][0]["text"],
        "postbackData": first["suggestions"][0]["postback_data"]}}
    assert post["json"]["contentMessage"]["suggestions"] == [
        {"reply": {"text": "Stop", "postbackData": "stop"}}]


def test_receipts_and_replies_pushed_to_the_webhook_reach_the_message_and_inbox(
        funded_account, launched_agent, rbm):
    rcs_send(actor=SYSTEM.on(funded_account), account=funded_account, recipients=[CAPABLE],
             agent_id=launched_agent.pk, content=CAROUSEL)
    rcs_dispatch(worker="test", connectors={"rbm": rbm})
    message = Message.objects.get()
    for kind, event_id in (("DELIVERED", "ev1"), ("READ", "ev2")):
        response = push(user_event(messageId=event_id, event={
            "eventType": kind, "eventId": event_id, "messageId": str(message.id)}))
        assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == "delivered"
    assert "read" in [e.status for e in message.history()]
    assert push(user_event(messageId="mo1", text="Yes please")).status_code == 200
    assert push(user_event(messageId="mo2", suggestionResponse={
        "postbackData": "stop", "text": "Stop", "type": "REPLY"})).status_code == 200
    assert push(user_event(messageId="mo2", suggestionResponse={  # a repeat: one reply
        "postbackData": "stop", "text": "Stop", "type": "REPLY"})).status_code == 200
    replies = {r.text: r for r in Reply.objects.filter(from_number=CAPABLE)}
    assert set(replies) == {"Yes please", "Stop"}
    assert replies["Yes please"].message_id == message.id


def test_a_bad_signature_is_refused(rbm):
    response = push(user_event(text="hi"), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert not Reply.objects.exists()


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"message": {"data": "%%%"}}',
                                  json.dumps({"message": {"data": base64.b64encode(
                                      b'{"senderPhoneNumber": 5}').decode()}}).encode(),
                                  signed(user_event(text="a\x00b"))[0],
                                  signed(user_event(senderPhoneNumber="not a number"))[0]])
def test_a_body_we_cannot_read_is_a_400(rbm, body):
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha512).digest())
    response = Client().post("/carriers/rbm/rbm/events", body, content_type="application/json",
                             HTTP_X_GOOG_SIGNATURE=signature.decode())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_an_unknown_connector_is_a_404(db):
    response = Client().post("/carriers/rbm/nope/events", b"{}", content_type="application/json")
    assert response.status_code == 404


def test_the_connection_test_asks_rbm(rbm):
    assert rbm.test(timeout=5).ok
    assert FakeRbm.seen[-1]["auth"] == f"Bearer {TOKEN}"


def test_every_suggestion_kind_and_a_horizontal_card_are_mapped():
    content = CONTENT.validate_python({
        "type": "card", "orientation": "horizontal", "image_alignment": "right",
        "card": {"title": "Shoe", "media": {"file_url": "https://cdn.example/s.png",
                                            "height": "tall"}},
        "suggestions": [
            {"type": "open_url", "text": "Site", "url": "https://acme.example/"},
            {"type": "dial", "text": "Call", "phone_number": "+33140000000"},
            {"type": "calendar_event", "text": "Book", "title": "Visit",
             "start_time": "2026-03-02T10:00:00+01:00", "end_time": "2026-03-02T11:00:00+01:00"},
            {"type": "show_location", "text": "Shop", "latitude": 48.85, "longitude": 2.35},
            {"type": "request_location", "text": "Where?", "postback_data": "loc"}]})
    message = rbm_content(content.model_dump(mode="json"))
    card = message["richCard"]["standaloneCard"]
    assert (card["cardOrientation"], card["thumbnailImageAlignment"]) == ("HORIZONTAL", "RIGHT")
    assert card["cardContent"] == {"title": "Shoe", "media": {
        "height": "TALL", "contentInfo": {"fileUrl": "https://cdn.example/s.png"}}}
    actions = [s["action"] for s in message["suggestions"]]
    assert actions[0]["openUrlAction"] == {"url": "https://acme.example/"}
    assert actions[1]["dialAction"] == {"phoneNumber": "+33140000000"}
    assert actions[2]["createCalendarEventAction"]["title"] == "Visit"
    assert actions[3]["viewLocationAction"]["latLong"] == {"latitude": 48.85, "longitude": 2.35}
    assert actions[4] == {"text": "Where?", "postbackData": "loc", "shareLocationAction": {}}
