"""The SMS API end to end through HTTP (Django test client, real API keys)."""

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.roles import Role
from chappe.accounts.services import service_suspend
from chappe.billing.models import UsageRecord
from chappe.billing.selectors import balance_summary
from chappe.messaging.models import Message, ProtectedSender, Send, SenderAuthorisation
from tests.messaging.test_pipeline import DELIVERED, UNDELIVERED, run_gateway_once


def balance(account) -> Decimal:
    [eur] = balance_summary(account=account)
    return Decimal(eur["usable_micros"]) / 1_000_000


@pytest.fixture
def sms_api(api_for, funded_account):
    return api_for(funded_account)


def post_sms(client, **body):
    body.setdefault("sender", "Chappe")
    body.setdefault("text", "Hello")
    headers = body.pop("headers", {})
    return client.post("/api/v1/sms", body, headers=headers)


def test_send_answers_per_recipient_with_price_and_segments(sms_api, funded_account):
    before = balance(funded_account)
    response = post_sms(sms_api, recipients=["06 00 00 00 01", "+33600000001", "12"],
                        reference="order-42")
    assert response.status_code == 201, response.json()
    body = response.json()
    first, duplicate, invalid = body["recipients"]
    assert first["status"] == "queued"
    assert first["number"] == DELIVERED
    assert first["country"] == "FR"
    assert (first["encoding"], first["segments"]) == ("gsm7", 1)
    assert Decimal(first["price"]) == Decimal("0.045")
    assert duplicate["status"] == "duplicate"
    assert duplicate["error"]["code"] == "duplicate"
    assert invalid["status"] == "invalid"
    assert invalid["error"]["code"].startswith("invalid_number")
    assert body["accepted"] == 1
    assert balance(funded_account) == before - Decimal("0.045")


def test_idempotency_key_replays_and_refuses_a_different_body(sms_api):
    headers = {"Idempotency-Key": "abc-1"}
    first = post_sms(sms_api, recipients=[DELIVERED], headers=headers)
    again = post_sms(sms_api, recipients=[DELIVERED], headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["send_id"] == first.json()["send_id"]
    assert again.json()["replayed"] is True
    assert Message.objects.count() == 1
    assert UsageRecord.objects.count() == 1
    other = post_sms(sms_api, recipients=[UNDELIVERED], headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"


def test_insufficient_credit_accepts_nothing(api_for, account, price_list):
    response = post_sms(api_for(account), recipients=[DELIVERED, UNDELIVERED])
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credit"
    assert not Send.objects.exists()
    assert not Message.objects.exists()
    assert not UsageRecord.objects.exists()


def test_suspended_service_refuses_with_the_reason(sms_api, funded_account):
    service_suspend(actor=SYSTEM, service=funded_account.services.get(kind="messaging"),
                    reason="non_payment")
    response = post_sms(sms_api, recipients=[DELIVERED])
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "service_suspended"
    assert error["details"]["reason"] == "non_payment"


def test_roles_without_send_permission_get_403(api_for, funded_account):
    response = post_sms(api_for(funded_account, Role.AGENT), recipients=[DELIVERED])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(("body", "field"), [
    ({"recipients": []}, "recipients"),
    ({"recipients": [DELIVERED], "text": ""}, "text"),
    ({"recipients": [DELIVERED], "reference": "x" * 41}, "reference"),
    ({"recipients": [DELIVERED], "callback_url": "ftp://x"}, "callback_url"),
    ({"recipients": [DELIVERED], "send_at": "2026-12-01T09:00:00"}, "send_at"),
    ({"recipients": [DELIVERED], "kind": "spam"}, "kind"),
])
def test_bad_input_is_a_400_naming_the_field(sms_api, body, field):
    response = post_sms(sms_api, **body)
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert any(field in key for key in error["details"]), error


def test_max_segments_is_enforced(sms_api):
    response = post_sms(sms_api, recipients=[DELIVERED], text="a" * 161, max_segments=1)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "too_many_segments"
    assert error["details"]["segments"] == 2


def test_marketing_gets_the_stop_mention_counted_in_segments(sms_api):
    response = post_sms(sms_api, recipients=[DELIVERED], kind="marketing", text="a" * 150)
    row = response.json()["recipients"][0]
    assert row["segments"] == 2  # 150 + "\nSTOP au 36034" > 160
    message = Message.objects.get()
    assert message.text.endswith("STOP au 36034")


def test_sender_adapted_for_france_is_recorded(sms_api):
    response = post_sms(sms_api, recipients=[DELIVERED], sender="My Shop!")
    row = response.json()["recipients"][0]
    assert row["sender"] == "MyShop"
    assert row["sender_note"]


def test_forbidden_sender_is_reported_per_recipient(sms_api):
    response = post_sms(sms_api, recipients=[DELIVERED], sender="0612345678")
    row = response.json()["recipients"][0]
    assert row["status"] == "sender_rejected"
    assert row["error"]["code"] == "sender_all_digits"
    assert not Message.objects.exists()


def test_read_with_history_list_filter_and_export(sms_api, simulator):
    post_sms(sms_api, recipients=[DELIVERED, UNDELIVERED], reference="ref-9")
    run_gateway_once(simulator)
    delivered = Message.objects.get(recipient=DELIVERED)
    detail = sms_api.get(f"/api/v1/sms/{delivered.id}").json()
    assert [e["status"] for e in detail["history"]] == ["accepted", "queued", "sent",
                                                        "delivered"]
    assert detail["reference"] == "ref-9"
    listed = sms_api.get("/api/v1/sms", {"status": "undelivered"}).json()
    assert [m["recipient"] for m in listed["items"]] == [UNDELIVERED]
    assert sms_api.get("/api/v1/sms", {"reference": "nope"}).json()["count"] == 0
    export = sms_api.get("/api/v1/sms/export", {"reference": "ref-9"})
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].startswith("id,send_id")
    assert len(lines) == 3


def test_cancel_a_scheduled_message_gives_the_credit_back(sms_api, funded_account):
    before = balance(funded_account)
    send_at = (timezone.now() + timedelta(hours=3)).isoformat()
    row = post_sms(sms_api, recipients=[DELIVERED], send_at=send_at).json()["recipients"][0]
    assert row["status"] == "scheduled"
    assert balance(funded_account) < before
    response = sms_api.delete(f"/api/v1/sms/{row['message_id']}")
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert balance(funded_account) == before
    again = sms_api.delete(f"/api/v1/sms/{row['message_id']}")
    assert again.status_code == 409
    assert balance(funded_account) == before  # reversed once only


@pytest.mark.django_db(transaction=True)  # as in production: the service's own transaction
def test_cancel_a_whole_scheduled_send(sms_api, funded_account):
    before = balance(funded_account)
    send_at = (timezone.now() + timedelta(days=1)).isoformat()
    body = post_sms(sms_api, recipients=[DELIVERED, UNDELIVERED], send_at=send_at).json()
    response = sms_api.delete(f"/api/v1/sms/sends/{body['send_id']}")
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["recipients"]} == {"canceled"}
    assert balance(funded_account) == before


def test_a_sent_message_cannot_be_canceled(sms_api, simulator):
    row = post_sms(sms_api, recipients=[DELIVERED]).json()["recipients"][0]
    run_gateway_once(simulator)
    response = sms_api.delete(f"/api/v1/sms/{row['message_id']}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_sent"


def test_edit_a_scheduled_message_rerates_a_longer_text(sms_api, funded_account):
    send_at = (timezone.now() + timedelta(hours=3)).isoformat()
    row = post_sms(sms_api, recipients=[DELIVERED], send_at=send_at).json()["recipients"][0]
    before = balance(funded_account)
    later = (timezone.now() + timedelta(hours=5)).isoformat()
    response = sms_api.patch(f"/api/v1/sms/{row['message_id']}",
                             {"text": "b" * 200, "send_at": later})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["segments"] == 2
    assert Decimal(body["price"]) == Decimal("0.090")
    assert balance(funded_account) == before - Decimal("0.045")
    assert body["history"][-1]["detail"] == "edited"


def test_simulated_stop_reply_through_the_api(sms_api, funded_account, simulator):
    post_sms(sms_api, recipients=[DELIVERED], kind="marketing")
    run_gateway_once(simulator)
    response = sms_api.post("/api/v1/simulator/replies",
                            {"from": DELIVERED, "to": "36034", "text": "STOP"})
    assert response.status_code == 202
    run_gateway_once(simulator)
    replies = sms_api.get("/api/v1/sms/replies").json()
    assert replies["items"][0]["is_stop"] is True
    nobody = sms_api.post("/api/v1/simulator/replies",
                          {"from": "+33612345678", "to": "36034", "text": "STOP"})
    assert nobody.status_code == 404


def test_protected_senders_from_the_operator_lists(sms_api, funded_account):
    ProtectedSender.objects.create(name="AMELI", level="si")
    ProtectedSender.objects.create(name="La Poste", level="isa")
    forbidden = post_sms(sms_api, recipients=[DELIVERED], sender="Ameli").json()
    assert forbidden["recipients"][0]["error"]["code"] == "sender_forbidden"
    needs_auth = post_sms(sms_api, recipients=[DELIVERED], sender="LaPoste").json()
    assert needs_auth["recipients"][0]["error"]["code"] == "sender_authorisation_required"
    SenderAuthorisation.objects.create(account=funded_account, name="LAPOSTE",
                                       valid_until=timezone.localdate() + timedelta(days=30))
    allowed = post_sms(sms_api, recipients=[DELIVERED], sender="LaPoste").json()
    assert allowed["recipients"][0]["status"] == "queued"
    SenderAuthorisation.objects.update(valid_until=timezone.localdate() - timedelta(days=1))
    expired = post_sms(sms_api, recipients=[DELIVERED], sender="LaPoste").json()
    assert expired["recipients"][0]["status"] == "sender_rejected"


def test_edit_a_whole_scheduled_send(sms_api):
    send_at = (timezone.now() + timedelta(hours=3)).isoformat()
    body = post_sms(sms_api, recipients=[DELIVERED, UNDELIVERED], send_at=send_at).json()
    later = timezone.now() + timedelta(hours=6)
    response = sms_api.patch(f"/api/v1/sms/sends/{body['send_id']}",
                             {"send_at": later.isoformat(), "text": "Rendez-vous décalé"})
    assert response.status_code == 200, response.json()
    assert {r["status"] for r in response.json()["recipients"]} == {"scheduled"}
    for message in Message.objects.all():
        assert message.text == "Rendez-vous décalé"
        assert abs((message.due_at - later).total_seconds()) < 1
        assert message.expires_at - message.due_at == timedelta(hours=24)


def test_sending_windows_and_validity_come_from_settings(sms_api, settings):
    settings.CHAPPE_SENDING_WINDOWS = {"FR": {"start": "00:00", "end": "23:59",
                                              "weekdays": list(range(7)),
                                              "public_holidays_allowed": True}}
    settings.CHAPPE_SMS_VALIDITY_HOURS = 48
    row = post_sms(sms_api, recipients=[DELIVERED], kind="marketing").json()["recipients"][0]
    message = Message.objects.get(pk=row["message_id"])
    paris = timezone.localtime(timezone.now(), ZoneInfo("Europe/Paris"))
    if (paris.hour, paris.minute) != (23, 59):  # the one closed minute of this window
        assert row["status"] == "queued"
    assert message.expires_at - message.due_at == timedelta(hours=48)


def test_sender_rules_come_from_settings(sms_api, settings):
    settings.CHAPPE_SENDER_RULES = {"FR": {"alphanumeric_allowed": False,
                                           "fallback_sender": "36034"}}
    row = post_sms(sms_api, recipients=[DELIVERED], sender="Chappe").json()["recipients"][0]
    assert (row["status"], row["sender"]) == ("queued", "36034")
    assert row["sender_note"]
