"""The campaign API: drafts, preview, estimate, launch, progress, pause, resume, cancel —
with the one error shape, and 404 for another account's campaigns."""

import pytest

from chappe.contacts.services import contact_list_create, custom_field_create
from tests.campaigns.conftest import deliver_all, run_jobs


@pytest.fixture
def client(api_for, funded_account):
    return api_for(funded_account)


@pytest.fixture
def audience(actor, funded_account, make_contacts):
    custom_field_create(actor=actor, account=funded_account, key="tier", label="Tier",
                        type="text")
    customers = contact_list_create(actor=actor, account=funded_account, name="Clients")
    contacts = make_contacts(5, first_names=["Zoé", "", "Łukasz"], contact_list=customers)
    contacts[0].custom = {"tier": "Gold"}
    contacts[0].save()
    return {"list": customers, "contacts": contacts}


def _create(client, audience, **body):
    payload = {"name": "Soldes", "sender": "Boutique", "list_ids": [str(audience["list"].pk)],
               "text": "Bonjour {first_name|client} ({tier|standard})", **body}
    return client.post("/api/v1/campaigns", payload)


def test_create_read_change_and_delete_a_draft(client, audience):
    response = _create(client, audience, numbers=["06 99 99 99 99"])
    assert response.status_code == 201, response.content
    campaign = response.json()
    assert (campaign["status"], campaign["kind"], campaign["stop_mention"]) == (
        "draft", "marketing", True)
    assert campaign["list_ids"] == [str(audience["list"].pk)]
    assert campaign["pasted_numbers"] == 1
    url = f"/api/v1/campaigns/{campaign['id']}"
    assert client.get(url).json()["name"] == "Soldes"
    listed = client.get("/api/v1/campaigns").json()
    assert [c["id"] for c in listed["items"]] == [campaign["id"]]
    changed = client.patch(url, {"name": "Soldes d'été", "filters": [
        {"field": "custom:tier", "op": "eq", "value": "gold"}]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["filters"] == [{"field": "custom:tier", "op": "eq", "value": "gold"}]
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


def test_errors_use_the_one_shape(client, audience):
    response = _create(client, audience, text="Bonjour {prenom}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "{prenom}" in error["details"]["text"][0]
    response = _create(client, audience, list_ids=["5f1f1b8e-0000-4000-8000-000000000000"])
    assert response.json()["error"]["details"] == {"list_ids": ["Unknown list."]}
    response = _create(client, audience, kind="marketing", stop_mention=False)
    assert "stop_mention" in response.json()["error"]["details"]


def test_preview_and_estimate(client, audience):
    campaign = _create(client, audience, kind="transactional", stop_mention=False).json()
    rows = client.get(f"/api/v1/campaigns/{campaign['id']}/preview?limit=10").json()
    texts = {row["number"]: (row["text"], row["encoding"], row["price"]) for row in rows}
    first, second, third = audience["contacts"][:3]
    assert texts[first.mobile] == ("Bonjour Zoé (Gold)", "gsm7", "0.045")
    assert texts[second.mobile] == ("Bonjour client (standard)", "gsm7", "0.045")
    assert texts[third.mobile] == ("Bonjour Łukasz (standard)", "ucs2", "0.045")
    estimate = client.get(f"/api/v1/campaigns/{campaign['id']}/estimate").json()
    assert (estimate["recipients"], estimate["billable"], estimate["segments"]) == (5, 5, 5)
    assert estimate["encodings"] == {"gsm7": 4, "ucs2": 1}
    assert estimate["cost"] == "0.225"
    assert estimate["available_credit"] == "1000"
    assert estimate["short_of_credit"] is False
    assert estimate["by_country"] == [{"country": "FR", "recipients": 5, "segments": 5,
                                       "cost": "0.225", "priced": True}]


def test_launch_follow_progress_to_delivered(client, audience, simulator):
    campaign = _create(client, audience).json()
    url = f"/api/v1/campaigns/{campaign['id']}"
    response = client.post(f"{url}/launch")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "launching"
    assert client.patch(url, {"name": "Too late"}).json()["error"]["code"] == "campaign_state"
    run_jobs(limit=3)
    progress = client.get(f"{url}/progress").json()
    assert (progress["status"], progress["processed"], progress["launch_percent"]) == (
        "running", 5, 100)
    deliver_all()
    progress = client.get(f"{url}/progress").json()
    assert (progress["status"], progress["delivered"], progress["percent"]) == (
        "completed", 5, 100)
    assert progress["series"][-1]["delivered"] == 5
    detail = client.get(url).json()
    assert (detail["messages"], detail["cost"]) == (5, "0.225")


def test_pause_resume_and_cancel(client, audience):
    campaign = _create(client, audience).json()
    url = f"/api/v1/campaigns/{campaign['id']}"
    client.post(f"{url}/launch")
    run_jobs(limit=2)
    assert client.post(f"{url}/pause").json()["status"] == "paused"
    assert client.post(f"{url}/pause").json()["error"]["code"] == "campaign_state"
    assert client.post(f"{url}/resume").json()["status"] == "running"
    assert client.post(f"{url}/cancel").json()["status"] == "canceling"
    run_jobs()
    progress = client.get(f"{url}/progress").json()
    assert (progress["status"], progress["canceled"], progress["waiting"]) == ("canceled", 5, 0)


def test_launch_without_credit_is_402(api_for, account, buy_credits, actor):
    buy_credits(account, "1")
    client = api_for(account)
    campaign = client.post("/api/v1/campaigns", {
        "name": "Big", "sender": "Shop", "text": "Hello", "kind": "transactional",
        "stop_mention": False, "numbers": [f"+3361{i:07d}" for i in range(40)]}).json()
    response = client.post(f"/api/v1/campaigns/{campaign['id']}/launch")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credit"


def test_another_accounts_campaign_is_404(client, audience, make_account, api_for):
    campaign = _create(client, audience).json()
    stranger = api_for(make_account("Stranger"))
    for method, suffix in [("get", ""), ("patch", ""), ("delete", ""), ("get", "/preview"),
                           ("get", "/estimate"), ("post", "/launch"), ("post", "/pause"),
                           ("post", "/resume"), ("post", "/cancel"), ("get", "/progress")]:
        url = f"/api/v1/campaigns/{campaign['id']}{suffix}"
        response = getattr(stranger, method)(url, {}) if method == "patch" else \
            getattr(stranger, method)(url)
        assert response.status_code == 404, (method, suffix)
        assert response.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/campaigns/{campaign['id']}").json()["status"] == "draft"

