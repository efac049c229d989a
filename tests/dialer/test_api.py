"""The call-campaigns API: a campaign from draft to launch with a Bloctel scrub imported
and exported over HTTP, progress and log, dispositions, consent, hostile input."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from chappe.dialer import services
from chappe.dialer.models import CallCampaign, Outcome

pytestmark = pytest.mark.django_db
MONDAY_11 = datetime(2026, 3, 16, 10, tzinfo=UTC)  # 11:00 in Paris


def upload(api, path, content: bytes, name="list.txt"):
    return api.client.post(path, {"file": SimpleUploadedFile(name, content)},
                           headers=api.headers)


@pytest.fixture
def draft(api, queue, caller_ids, data_dir):
    response = api.post("/api/v1/call-campaigns", {
        "name": "Spring offer", "queue_id": str(queue.pk), "caller_id": "01 62 00 00 01",
        "mode": "predictive", "lines_per_agent": 2, "script": "Hello, this is Acme…",
        "numbers": ["0612345678", "+33612345679"],
        "retry_rules": {"busy": {"count": 1, "delay_minutes": 15}},
        "daily_windows": [{"start": "10:00", "end": "12:30"}]})
    assert response.status_code == 201, response.json()
    return response.json()


def test_campaign_lifecycle_over_http(api, draft):
    assert draft["caller_id"] == "+33162000001"
    assert draft["abandon_cap_percent"] == "3.00"
    assert [d["code"] for d in draft["dispositions"] if d["refusal"]] == ["refused"]
    path = f"/api/v1/call-campaigns/{draft['id']}"
    with time_machine.travel(MONDAY_11, tick=False):
        refused = api.post(f"{path}/launch")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "bloctel_scrub_required"
        export = api.get("/api/v1/bloctel/export")
        assert export.status_code == 200
        assert export.content.decode() == "0612345678\n0612345679\n"
        scrub = upload(api, "/api/v1/bloctel/scrubs", b"number;name\n06 12 34 56 78;x\n",
                       "bloctel.csv")
        assert scrub.status_code == 201, scrub.json()
        assert (scrub.json()["numbers"], scrub.json()["lines"]) == (1, 2)
        launched = api.post(f"{path}/launch")
        assert launched.json()["state"] == "running"
        assert api.post(f"{path}/pause").json()["state"] == "paused"
        assert api.post(f"{path}/resume").json()["state"] == "running"
        progress = api.get(f"{path}/progress").json()
    assert progress["by_status"] == {"excluded": 1, "pending": 1}
    assert progress["by_rule"] == {"C-5 bloctel": 1}
    assert api.get(f"{path}/log").json()["items"][0]["rule"] == "C-5 bloctel"
    assert api.patch(path, {"name": "Too late"}).status_code == 409
    assert api.post(f"{path}/stop").json()["state"] == "stopped"


def test_disposition_with_a_callback(api, draft, admin_actor):
    campaign = CallCampaign.objects.get(pk=draft["id"])
    with time_machine.travel(MONDAY_11, tick=False):
        services.bloctel_import(actor=admin_actor, account=campaign.account, data=b"0100000000",
                                filename="b.txt")
        campaign = services.call_campaign_launch(actor=admin_actor, campaign=campaign)
        dials = services.dials_claim(campaign=campaign, now=MONDAY_11, limit=1, holder="t")
        assert dials, list(campaign.log.values_list("rule", "details"))
        dial = dials[0]
        services.dial_finish(attempt_id=dial.attempt_id, outcome=Outcome.ANSWERED,
                             now=MONDAY_11, answered_at=MONDAY_11)
        later = (MONDAY_11 + timedelta(days=1)).isoformat()
        unknown = api.post(f"/api/v1/call-attempts/{dial.attempt_id}/disposition",
                           {"code": "nope"})
        assert unknown.status_code == 400
        done = api.post(f"/api/v1/call-attempts/{dial.attempt_id}/disposition",
                        {"code": "interested", "callback_at": later})
    assert done.status_code == 200, done.json()
    contact = campaign.contacts.get(number=dial.number)
    assert (contact.status, contact.next_attempt_at.isoformat()) == ("pending", later)


def test_consent_and_contracts(api):
    consent = api.post("/api/v1/call-consents", {
        "number": "06 12 34 56 78", "given_at": "2026-01-02T10:00:00+01:00",
        "source": "web form", "proof": "form 77 from 192.0.2.1"})
    assert consent.status_code == 201, consent.json()
    assert consent.json()["number"] == "+33612345678"
    withdrawn = api.post(f"/api/v1/call-consents/{consent.json()['id']}/withdraw")
    assert withdrawn.json()["withdrawn_at"] is not None
    assert api.post("/api/v1/call-contracts", {"number": "nope", "reference": "x"}) \
        .status_code == 400
    assert api.get("/api/v1/dialer-policy").json() == {"opt_in": True}
    assert api.request("put", "/api/v1/dialer-policy", {"opt_in": False}).json() == \
        {"opt_in": False}


@pytest.mark.parametrize("body", [
    {"name": "x", "queue_id": "not-a-uuid", "caller_id": "0162000001"},
    {"name": "x", "queue_id": "00000000-0000-0000-0000-000000000000", "caller_id": "0162000001"},
    {"name": "x", "caller_id": "0162000001", "lines_per_agent": 9},
    {"name": "x", "caller_id": "0612999999"},
    {"name": "x", "caller_id": "0162000001", "abandon_cap_percent": "12"},
    {"name": "x", "caller_id": "0162000001", "daily_windows": [{"start": "20:00",
                                                               "end": "21:00"}]},
    {"name": "x", "caller_id": "0162000001", "retry_rules": {"sad": {"count": 1,
                                                                     "delay_minutes": 1}}},
])
def test_invalid_campaigns_are_refused(api, queue, caller_ids, body):
    body = {"queue_id": str(queue.pk), **body}
    response = api.post("/api/v1/call-campaigns", body)
    assert response.status_code in (400, 404, 422), response.content
    assert "error" in response.json()


def test_a_file_without_numbers_is_refused(api, data_dir):
    response = upload(api, "/api/v1/bloctel/scrubs", b"hello\nworld\n")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"



def test_a_queue_used_by_a_call_campaign_is_not_deleted(api, draft, queue):
    response = api.delete(f"/api/v1/queues/{queue.pk}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "queue_in_use"
