"""Numbers (C-1), flows (C-3) through the API, the monthly rental on the contact-center
invoice, port-out export, per-second rating of outbound legs (C-9)."""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from chappe.accounts.actor import SYSTEM
from chappe.accounts.roles import Role
from chappe.billing.models import FeeCharge, Subscription, UsageRecord
from chappe.billing.periods import zone
from chappe.billing.services import invoice_run, plan_create, subscription_create
from chappe.callcenter.models import (
    CallFlowVersion,
    CallRecord,
    NumberRental,
    NumberStatus,
    PhoneNumber,
)
from chappe.callcenter.services import (
    DEMO_FLOW,
    call_charge,
    catalogue_number_add,
    demo_voice_setup,
)
from chappe.common.errors import ValidationFailed
from tests.billing.conftest import OPERATOR
from tests.conftest import require_tools

PARIS = zone("Europe/Paris")


@pytest.fixture
def catalogue(account, buy_credits):
    buy_credits(account, "20")  # a prepaid account pays each number's month in advance
    return [catalogue_number_add(e164=e164, number_type=kind, monthly_price_micros=2_000_000)
            for e164, kind in [("+33189000010", "geographic"), ("+33189000011", "geographic"),
                               ("+33800000010", "toll_free")]]


def test_catalogue_buy_assign_release(api, account, catalogue):
    listed = api.get("/api/v1/numbers/catalogue", {"number_type": "geographic"}).json()
    assert [n["e164"] for n in listed["items"]] == ["+33189000010", "+33189000011"]
    assert listed["items"][0]["monthly_price"] == "2.00"
    bought = api.post("/api/v1/numbers", {"number_id": catalogue[0].pk})
    assert bought.status_code == 201, bought.content
    rental = bought.json()
    assert rental["e164"] == "+33189000010"
    assert rental["status"] == "active"
    assert rental["billing"] == "prepaid"  # no contact-center subscription
    assert rental["rio"]
    # Gone from the catalogue; nobody can buy it twice.
    assert "+33189000010" not in api.get("/api/v1/numbers/catalogue").content.decode()
    assert api.post("/api/v1/numbers", {"number_id": catalogue[0].pk}).status_code == 404
    flow = api.post("/api/v1/call-flows", {"name": "Accueil", "definition": DEMO_FLOW}).json()
    assigned = api.patch(f"/api/v1/numbers/{rental['id']}", {"flow_id": flow["id"]})
    assert assigned.json()["flow_id"] == flow["id"]
    # A flow in use cannot be deleted.
    assert api.delete(f"/api/v1/call-flows/{flow['id']}").status_code == 409
    released = api.post(f"/api/v1/numbers/{rental['id']}/release", {})
    assert released.json()["status"] == "released"
    assert released.json()["flow_id"] is None
    assert PhoneNumber.objects.get(pk=catalogue[0].pk).status == NumberStatus.AVAILABLE
    # Released: no more changes.
    assert api.post(f"/api/v1/numbers/{rental['id']}/release", {}).status_code == 409
    assert api.delete(f"/api/v1/call-flows/{flow['id']}").status_code == 204


def test_port_out_export(api, account, catalogue):
    account.siret, account.address_line1 = "12345678900011", "1 rue de la Paix"
    account.postal_code, account.city = "75002", "Paris"
    account.save()
    api.post("/api/v1/numbers", {"number_id": catalogue[2].pk})
    response = api.get("/api/v1/number-port-out")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:6] == ["number", "country", "number_type", "holder", "siret", "address"]
    assert rows[1][:8] == ["+33800000010", "FR", "toll_free", account.name, "12345678900011",
                           "1 rue de la Paix", "75002", "Paris"]
    assert rows[1][9] == NumberRental.objects.get().rio
    released = api.post(f"/api/v1/numbers/{NumberRental.objects.get().pk}/release",
                        {"ported_out": True}).json()
    assert released["status"] == "ported_out"
    assert PhoneNumber.objects.get(pk=catalogue[2].pk).status == NumberStatus.WITHDRAWN


def test_rentals_are_billed_by_the_contact_center_subscription(api, account, catalogue,
                                                                 price_list):
    plan = plan_create(actor=OPERATOR, code="cc", name="Contact center",
                       service_kind="contact_center", price_list=price_list)
    subscription_create(actor=OPERATOR, account=account, plan=plan,
                        started_at=datetime(2025, 1, 1, tzinfo=PARIS))
    for number in catalogue[:2]:
        assert api.post("/api/v1/numbers", {"number_id": number.pk}).json()["billing"] \
            == "subscription"
    assert Subscription.objects.get(account=account).numbers == [
        {"country": "FR", "number_type": "geographic", "count": 2}]
    [invoice] = invoice_run(month=date(2025, 1, 1), now=datetime(2025, 2, 1, 1, tzinfo=PARIS))
    lines = {line.description: (line.quantity, line.amount_micros)
             for line in invoice.lines.all()}
    assert lines["Phone numbers FR geographic"] == ("2", 4_000_000)  # 2 x 2.00 EUR
    rental = NumberRental.objects.filter(account=account).first()
    api.post(f"/api/v1/numbers/{rental.pk}/release", {})
    assert Subscription.objects.get(account=account).numbers == [
        {"country": "FR", "number_type": "geographic", "count": 1}]


def test_flows_are_validated_and_versioned(api):
    invalid = dict(DEMO_FLOW, start="nowhere")
    response = api.post("/api/v1/call-flows", {"name": "Bad", "definition": invalid})
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"start": ["no node named 'nowhere'"]}
    check = api.post("/api/v1/call-flows/validate", {"definition": invalid})
    assert check.status_code == 400
    ok = api.post("/api/v1/call-flows/validate", {"definition": DEMO_FLOW}).json()
    assert ok["valid"] is True
    assert ok["definition"]["nodes"]["menu"]["max_retries"] == 2
    flow = api.post("/api/v1/call-flows", {"name": "Accueil", "definition": DEMO_FLOW}).json()
    assert flow["version"] == 1
    changed = {**DEMO_FLOW, "start": "menu"}
    updated = api.patch(f"/api/v1/call-flows/{flow['id']}", {"definition": changed}).json()
    assert updated["version"] == 2
    assert updated["definition"]["start"] == "menu"
    # The same definition again: no new version. A rename only: none either.
    api.patch(f"/api/v1/call-flows/{flow['id']}", {"definition": changed})
    renamed = api.patch(f"/api/v1/call-flows/{flow['id']}", {"name": "Standard"}).json()
    assert (renamed["version"], renamed["name"]) == (2, "Standard")
    versions = api.get(f"/api/v1/call-flows/{flow['id']}/versions").json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["definition"]["start"] == "welcome"  # history kept
    assert CallFlowVersion.objects.count() == 2
    schema = api.get("/api/v1/call-flows/schema").json()
    assert "nodes" in schema["properties"]


def test_agents_cannot_manage_flows_or_numbers(api_for, account, catalogue):
    agent = api_for(account, Role.AGENT)
    assert agent.post("/api/v1/call-flows", {"name": "x", "definition": DEMO_FLOW}) \
        .status_code == 403
    assert agent.post("/api/v1/numbers", {"number_id": catalogue[0].pk}).status_code == 403
    assert agent.get("/api/v1/calls").status_code == 200


def test_suspended_contact_center_cannot_buy(api, account, catalogue):
    from chappe.accounts.services import service_suspend

    service_suspend(actor=SYSTEM, service=account.services.get(kind="contact_center"),
                    reason="maintenance", note="")
    response = api.post("/api/v1/numbers", {"number_id": catalogue[0].pk})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "service_suspended"
    assert not NumberRental.objects.filter(account=account).exists()
    assert not UsageRecord.objects.filter(account=account).exists()
    assert not FeeCharge.objects.filter(account=account).exists()


def test_demo_voice_setup_is_idempotent(account, buy_credits):
    buy_credits(account, "10")
    first = demo_voice_setup(account=account)
    again = demo_voice_setup(account=account)
    assert first.pk == again.pk
    assert first.flow is not None
    assert first.number.e164 == "+33189000001"
    assert NumberRental.objects.filter(account=account).count() == 1


@pytest.mark.parametrize(("duration", "billed", "micros"), [
    (timedelta(seconds=1), 1, 200),            # 0.012 EUR/min = 200 micros a second
    (timedelta(seconds=59), 59, 11_800),
    (timedelta(seconds=60), 60, 12_000),
    (timedelta(seconds=61), 61, 12_200),
    (timedelta(seconds=60, milliseconds=1), 61, 12_200),  # a started second
])
def test_outbound_legs_are_rated_per_started_second(account, price_list, buy_credits,
                                                    duration, billed, micros):
    buy_credits(account, Decimal("10"))
    answered = datetime(2026, 1, 5, 10, tzinfo=PARIS)
    record = CallRecord.objects.create(
        account=account, sip_call_id="out-1", direction="outbound", from_number="+33189000001",
        to_number="+33145000000", started_at=answered, answered_at=answered,
        ended_at=answered + duration)
    charge = call_charge(record=record)
    assert (charge.record.billed_quantity, charge.amount_micros) == (billed, micros)
    assert charge.record.destination_country == "FR"
    assert call_charge(record=record).replayed  # exactly once
    assert UsageRecord.objects.filter(account=account).count() == 1
    record.refresh_from_db()
    assert record.billed


def test_mobile_destinations_use_their_price(account, price_list, buy_credits):
    buy_credits(account, Decimal("10"))
    answered = datetime(2026, 1, 5, 10, tzinfo=PARIS)
    record = CallRecord.objects.create(
        account=account, sip_call_id="out-2", direction="outbound", from_number="+33189000001",
        to_number="+33612345678", started_at=answered, answered_at=answered,
        ended_at=answered + timedelta(seconds=30))
    assert call_charge(record=record).amount_micros == 30_000  # 0.06 EUR/min


def test_unanswered_and_inbound_legs_are_not_billed(account):
    now = datetime(2026, 1, 5, 10, tzinfo=PARIS)
    unanswered = CallRecord.objects.create(account=account, sip_call_id="o", direction="outbound",
                                           from_number="+33189000001", to_number="+33145000000",
                                           started_at=now)
    assert call_charge(record=unanswered) is None
    inbound = CallRecord.objects.create(account=account, sip_call_id="i", direction="inbound",
                                        from_number="+33145000000", to_number="+33189000001",
                                        started_at=now, answered_at=now, ended_at=now)
    with pytest.raises(ValidationFailed):
        call_charge(record=inbound)


def test_audio_prompts_are_uploaded_converted_and_usable_in_flows(api, account, settings,
                                                                  tmp_path):
    import subprocess

    require_tools("sox")
    settings.DATA_DIR = tmp_path
    source = tmp_path / "hello.wav"
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", str(source), "synth", "2", "sine",
                    "440"], check=True)
    with source.open("rb") as handle:
        response = api.client.post("/api/v1/audio-prompts", {"file": handle, "name": "Hello"},
                                   headers=api.headers)
    assert response.status_code == 201, response.content
    prompt = response.json()
    assert prompt["duration_ms"] == 2000
    flow = {"start": "p", "nodes": {"p": {"type": "play", "prompt": {"audio_id": prompt["id"]}}}}
    assert api.post("/api/v1/call-flows", {"name": "Audio", "definition": flow}).status_code \
        == 201
    unknown = {"start": "p", "nodes": {"p": {"type": "play",
                                             "prompt": {"audio_id": "nope"}}}}
    bad = api.post("/api/v1/call-flows/validate", {"definition": unknown})
    assert bad.status_code == 400
    assert "audio_id" in bad.json()["error"]["details"]
    garbage = tmp_path / "x.wav"
    garbage.write_bytes(b"not audio" * 100)
    with garbage.open("rb") as handle:
        refused = api.client.post("/api/v1/audio-prompts", {"file": handle},
                                  headers=api.headers)
    assert refused.status_code == 400
    # A recording a flow plays cannot be deleted; once the flow is gone, it can.
    in_use = api.delete(f"/api/v1/audio-prompts/{prompt['id']}")
    assert in_use.status_code == 409
    assert "Audio" in in_use.json()["error"]["message"]
    audio_flow = api.get("/api/v1/call-flows").json()["items"][0]
    assert api.delete(f"/api/v1/call-flows/{audio_flow['id']}").status_code == 204
    assert api.delete(f"/api/v1/audio-prompts/{prompt['id']}").status_code == 204


def test_call_history_filters_and_csv(api, account):
    when = datetime(2026, 1, 5, 10, tzinfo=PARIS)
    for index, (direction, number) in enumerate([("inbound", "+33600000001"),
                                                  ("outbound", "+33600000002")]):
        CallRecord.objects.create(account=account, sip_call_id=f"c{index}", direction=direction,
                                  from_number=number, to_number="+33189000001",
                                  started_at=when + timedelta(days=index), disposition="answered",
                                  flow_path=["welcome", "menu"])
    assert api.get("/api/v1/calls", {"direction": "outbound"}).json()["count"] == 1
    assert api.get("/api/v1/calls", {"number": "+33600000001"}).json()["count"] == 1
    since = (when + timedelta(hours=1)).isoformat()
    assert api.get("/api/v1/calls", {"since": since}).json()["count"] == 1
    response = api.get("/api/v1/calls.csv", {"direction": "inbound"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "direction", "from", "to"]
    assert len(rows) == 2
    assert rows[1][2] == "+33600000001"
    assert rows[1][10] == "welcome/menu"
