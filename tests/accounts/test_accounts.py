"""Accounts and sub-accounts (P-1, P-2), ordered services (P-4), suspension (P-8),
termination (P-9) and their audit trail (P-13)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import (
    Account,
    AccountStatus,
    ApiKey,
    Service,
    ServiceKind,
    ServiceStatus,
    User,
)
from chappe.accounts.roles import Role
from chappe.accounts.services import (
    account_create,
    account_documents_received,
    account_documents_request,
    account_reactivate,
    account_suspend,
    account_terminate,
    api_key_create,
    service_reactivate,
    service_require,
    service_suspend,
    service_terminate,
    services_close_due,
    user_invite,
)
from chappe.accounts.validation import siret_is_valid
from chappe.audit.models import AuditEntry
from chappe.common.errors import (
    Conflict,
    PermissionDenied,
    ServiceRefused,
    ValidationFailed,
)
from tests.conftest import ApiClient

MESSAGING, CONTACT_CENTER = ServiceKind.MESSAGING, ServiceKind.CONTACT_CENTER


@pytest.fixture
def operator(db) -> Actor:
    staff = User.objects.create_user("ops@operator.example", "correct-horse-battery-9",
                                     is_staff=True)
    return Actor(account=None, user=staff, is_operator=True, ip="198.51.100.4",
                 user_agent="back-office")


def actions(account: Account) -> list[str]:
    return list(AuditEntry.objects.filter(account=account).order_by("created_at", "id")
                .values_list("action", flat=True))


# --- sub-accounts through the API -------------------------------------------------------


@pytest.fixture
def parent(make_account) -> Account:
    account = make_account("Parent", timezone="America/Martinique", country="MQ",
                           default_country="MQ")
    service_terminate(actor=SYSTEM, service=account.services.get(kind=CONTACT_CENTER),
                      immediate=True)
    return account


def test_a_sub_account_inherits_time_zone_countries_and_live_services(parent, api_for):
    api = api_for(parent)
    response = api.post("/api/v1/subaccounts", {"name": "  Shop Fort-de-France "})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Shop Fort-de-France"
    assert body["parent_id"] == str(parent.pk)
    assert (body["timezone"], body["country"], body["default_country"]) == (
        "America/Martinique", "MQ", "MQ")
    sub = Account.objects.get(pk=body["id"])
    # Only the parent's running services are carried over, each active on the sub.
    assert {(s.kind, s.status) for s in sub.services.all()} == {(MESSAGING, "active")}
    entry = AuditEntry.objects.get(action="subaccount.create")
    assert (entry.account_id, entry.target_id) == (parent.pk, str(sub.pk))

    listed = api.get("/api/v1/subaccounts").json()
    assert [item["id"] for item in listed["items"]] == [str(sub.pk)]
    assert api.get(f"/api/v1/subaccounts/{sub.pk}").json()["name"] == "Shop Fort-de-France"


def test_a_sub_account_can_override_inherited_values(parent, api_for):
    response = api_for(parent).post(
        "/api/v1/subaccounts", {"name": "Tokyo", "timezone": "Asia/Tokyo", "country": "jp"})
    assert response.status_code == 201, response.content
    assert (response.json()["timezone"], response.json()["country"]) == ("Asia/Tokyo", "JP")
    assert response.json()["default_country"] == "MQ"


def test_sub_account_creation_is_validated(parent, api_for):
    response = api_for(parent).post("/api/v1/subaccounts",
                                    {"name": "Bad", "timezone": "Mars/Olympus_Mons"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert set(response.json()["error"]["details"]) == {"timezone"}
    assert not parent.children.exists()


def test_sub_account_patch(parent, api_for):
    sub = account_create(actor=SYSTEM, name="Sub", parent=parent)
    response = api_for(parent).patch(f"/api/v1/subaccounts/{sub.pk}", {
        "city": "Le Lamentin", "siret": "732 829 320 00074", "vat_number": "fr 40 303265045",
    })
    assert response.status_code == 200, response.content
    sub.refresh_from_db()
    assert (sub.city, sub.siret, sub.vat_number) == (
        "Le Lamentin", "73282932000074", "FR40303265045")
    entry = AuditEntry.objects.get(action="account.update", account=sub)
    assert entry.details == {"fields": ["city", "siret", "vat_number"]}


@pytest.mark.parametrize(
    ("patch", "bad_fields"),
    [
        ({"siret": "12345678901234"}, {"siret"}),
        ({"siret": "1234"}, {"siret"}),
        ({"timezone": "Europe/Atlantis"}, {"timezone"}),
        ({"country": "XX"}, {"country"}),
        ({"country": "FRA"}, {"country"}),  # too long for the schema
        ({"default_country": "zz"}, {"default_country"}),
        ({"billing_email": "billing-at-acme"}, {"billing_email"}),
        ({"vat_number": "12"}, {"vat_number"}),
        ({"name": ""}, {"name"}),
        ({"name": "   "}, {"name"}),
        ({"siret": "00000000000001", "timezone": "Nowhere", "country": "QQ",
          "dpo_email": "dpo"}, {"siret", "timezone", "country", "dpo_email"}),
    ],
)
def test_sub_account_patch_validation_lists_every_bad_field(parent, api_for, patch, bad_fields):
    sub = account_create(actor=SYSTEM, name="Sub", parent=parent)
    before = Account.objects.filter(pk=sub.pk).values().get()

    response = api_for(parent).patch(f"/api/v1/subaccounts/{sub.pk}", patch)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["details"]) == bad_fields
    assert all(isinstance(m, list) and m for m in error["details"].values())
    assert Account.objects.filter(pk=sub.pk).values().get() == before


def test_siret_check_digits():
    assert siret_is_valid("73282932000074")
    assert not siret_is_valid("73282932000075")
    # La Poste: its establishments use a digit sum; its head office passes Luhn.
    assert siret_is_valid("35600000049837")
    assert siret_is_valid("35600000000048")
    assert not siret_is_valid("35600000049838")
    assert not siret_is_valid("7328293200007A")


def test_terminating_a_sub_account_revokes_its_keys_and_cascades(parent, api_for):
    api = api_for(parent)
    sub = account_create(actor=SYSTEM, name="Sub", parent=parent)
    grandchild = account_create(actor=SYSTEM, name="Grandchild", parent=sub)
    sub_client = api_for(sub)
    grandchild_client = api_for(grandchild)
    sub_user = User.objects.create_user("s@sub.example", "correct-horse-battery-9", account=sub,
                                        role=Role.AGENT)
    # An administrator keeps a read-only access to export the data until the purge (P-9).
    sub_admin = User.objects.create_user("a@sub.example", "correct-horse-battery-9",
                                         account=sub, role=Role.ADMINISTRATOR)
    invitation, _ = user_invite(actor=SYSTEM, account=grandchild, email="g@gc.example",
                                role=Role.AGENT)
    sibling = account_create(actor=SYSTEM, name="Sibling", parent=parent)
    sibling_client = api_for(sibling)
    assert sub_client.get("/api/v1/account").status_code == 200

    response = api.delete(f"/api/v1/subaccounts/{sub.pk}")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "terminated"
    for account in (sub, grandchild):
        account.refresh_from_db()
        assert account.status == AccountStatus.TERMINATED
        assert account.terminated_at is not None
        assert not account.api_keys.filter(revoked_at__isnull=True).exists()
        assert set(account.services.values_list("status", flat=True)) == {"terminated"}
        assert "account.terminate" in actions(account)
    sub_user.refresh_from_db()
    invitation.refresh_from_db()
    sub_admin.refresh_from_db()
    assert not sub_user.is_active
    assert sub_admin.is_active
    assert invitation.revoked_at is not None
    for client in (sub_client, grandchild_client):
        response = client.get("/api/v1/account")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
    # Nothing else stops.
    parent.refresh_from_db()
    assert parent.status == AccountStatus.ACTIVE
    assert sibling_client.get("/api/v1/account").status_code == 200

    again = api.delete(f"/api/v1/subaccounts/{sub.pk}")
    assert again.status_code == 409


def test_a_terminated_sub_account_stays_readable_but_takes_no_writes(parent, api_for):
    sub = account_create(actor=SYSTEM, name="Sub", parent=parent)
    account_terminate(actor=SYSTEM, account=sub)
    as_sub = {"X-Account-Id": str(sub.pk)}
    api = api_for(parent)

    assert api.get("/api/v1/account", headers=as_sub).json()["status"] == "terminated"
    for method, path, body in [
        ("post", "/api/v1/api-keys", {"name": "revive"}),
        ("patch", "/api/v1/account", {"city": "Paris"}),
        ("post", "/api/v1/invitations", {"email": "x@example.com", "role": "agent"}),
    ]:
        response = api.request(method, path, body, headers=as_sub)
        assert response.status_code == 403, (path, response.content)
        assert response.json()["error"]["code"] == "account_terminated"
    assert not ApiKey.objects.filter(account=sub, revoked_at__isnull=True).exists()
    with pytest.raises(ServiceRefused):
        account_create(actor=SYSTEM, name="Child", parent=sub)


def test_only_the_parent_or_operator_terminates(account, make_account, make_user):
    other = make_account("Other")
    client_admin = Actor(account=other, user=make_user(other))
    with pytest.raises(PermissionDenied):
        account_terminate(actor=client_admin, account=account)
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


# --- the account itself -----------------------------------------------------------------


def test_account_patch(api, account):
    response = api.patch("/api/v1/account", {
        "name": "Acme SAS", "vat_number": "fr 40 303265045", "dpo_email": "dpo@acme.example",
        "timezone": "Europe/Brussels",
    }, REMOTE_ADDR="192.0.2.77")
    assert response.status_code == 200, response.content
    account.refresh_from_db()
    assert (account.name, account.vat_number, account.dpo_email, account.timezone) == (
        "Acme SAS", "FR40303265045", "dpo@acme.example", "Europe/Brussels")
    entry = AuditEntry.objects.get(action="account.update", account=account)
    assert entry.details == {"fields": ["dpo_email", "name", "timezone", "vat_number"]}
    assert entry.ip == "192.0.2.77"

    # A patch that changes nothing records nothing.
    assert api.patch("/api/v1/account", {"name": "Acme SAS"}).status_code == 200
    assert AuditEntry.objects.filter(action="account.update").count() == 1


def test_account_patch_validation_error_shape(api, account):
    response = api.patch("/api/v1/account", {"siret": "11111111111111", "timezone": "UTC+2"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "validation_error"
    assert set(body["error"]["details"]) == {"siret", "timezone"}


# --- services -----------------------------------------------------------------------------


def test_services_are_listed_and_ordered(api, account):
    listed = api.get("/api/v1/services").json()
    assert sorted(s["kind"] for s in listed) == ["contact_center", "messaging"]

    Service.objects.filter(account=account, kind=CONTACT_CENTER).delete()
    response = api.post("/api/v1/services", {"kind": "contact_center"})
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "active"
    assert service_require(account=account, kind=CONTACT_CENTER).kind == CONTACT_CENTER
    assert AuditEntry.objects.filter(action="service.order", account=account,
                                     details__kind="contact_center").exists()

    again = api.post("/api/v1/services", {"kind": "contact_center"})
    assert again.status_code == 409
    unknown = api.post("/api/v1/services", {"kind": "fax"})
    assert unknown.status_code == 400
    assert set(unknown.json()["error"]["details"]) == {"kind"}


def test_giving_notice_ends_the_service_one_calendar_month_later(api, account):
    with time_machine.travel(datetime(2027, 1, 31, 10, tzinfo=ZoneInfo("Europe/Paris")),
                             tick=False):
        response = api.delete("/api/v1/services/messaging")
    assert response.status_code == 200, response.content
    service = account.services.get(kind=MESSAGING)
    assert service.termination_effective_at == datetime(
        2027, 2, 28, 10, tzinfo=ZoneInfo("Europe/Paris"))
    assert response.json()["termination_effective_at"] is not None
    # Still usable during the notice period.
    assert service_require(account=account, kind=MESSAGING) == service
    assert AuditEntry.objects.filter(action="service.terminate", target_id=str(service.pk))\
        .exists()

    # A second notice must not push the end date back.
    second = api.delete("/api/v1/services/messaging")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "notice_given"

    # Once the date has passed the service refuses work, and may be ordered again.
    Service.objects.filter(pk=service.pk).update(
        termination_effective_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ServiceRefused) as refused:
        service_require(account=account, kind=MESSAGING)
    assert refused.value.code == "service_terminated"
    reordered = api.post("/api/v1/services", {"kind": "messaging"})
    assert reordered.status_code == 201, reordered.content
    assert reordered.json()["termination_effective_at"] is None
    assert service_require(account=account, kind=MESSAGING).status == ServiceStatus.ACTIVE


def test_service_require_names_the_reason(account, operator):
    messaging = account.services.get(kind=MESSAGING)
    assert service_require(account=account, kind=MESSAGING) == messaging

    service_suspend(actor=operator, service=messaging, reason="non_payment")
    with pytest.raises(ServiceRefused) as refused:
        service_require(account=account, kind=MESSAGING)
    assert refused.value.code == "service_suspended"
    assert refused.value.status == 403
    assert "Non-payment" in refused.value.message
    assert refused.value.details == {"service": "messaging", "reason": "non_payment"}
    # The other service is not affected (P-4: each is suspended on its own).
    assert service_require(account=account, kind=CONTACT_CENTER).kind == CONTACT_CENTER

    service_reactivate(actor=operator, service=messaging)
    assert service_require(account=account, kind=MESSAGING) == messaging

    account_suspend(actor=operator, account=account, reason="false_identity", note="ID check")
    for kind in (MESSAGING, CONTACT_CENTER):
        with pytest.raises(ServiceRefused) as refused:
            service_require(account=account, kind=kind)
        assert refused.value.code == "account_suspended"
        assert "False identity" in refused.value.message
        assert refused.value.details["reason"] == "false_identity"


def test_service_require_when_not_ordered_or_terminated(account, operator):
    account.services.filter(kind=CONTACT_CENTER).delete()
    with pytest.raises(ServiceRefused) as refused:
        service_require(account=account, kind=CONTACT_CENTER)
    assert refused.value.code == "service_not_ordered"
    assert refused.value.details == {"service": "contact_center"}

    service_terminate(actor=operator, service=account.services.get(kind=MESSAGING),
                      immediate=True)
    with pytest.raises(ServiceRefused) as refused:
        service_require(account=account, kind=MESSAGING)
    assert refused.value.code == "service_terminated"

    account_terminate(actor=operator, account=account)
    with pytest.raises(ServiceRefused) as refused:
        service_require(account=account, kind=MESSAGING)
    assert refused.value.code == "account_terminated"


def test_a_suspended_parent_stops_its_sub_accounts(account, operator):
    sub = account_create(actor=SYSTEM, name="Sub", parent=account)
    grandchild = account_create(actor=SYSTEM, name="Grandchild", parent=sub)
    assert service_require(account=grandchild, kind=MESSAGING).account == grandchild

    account_suspend(actor=operator, account=account, reason="non_payment")

    for child in (sub, grandchild):
        with pytest.raises(ServiceRefused) as refused:
            service_require(account=child, kind=MESSAGING)
        assert refused.value.code == "account_suspended"
        assert refused.value.details == {"account": str(account.pk), "reason": "non_payment"}
        assert "Non-payment" in refused.value.message
    # The sub-accounts themselves keep their own status (and data).
    sub.refresh_from_db()
    assert sub.status == AccountStatus.ACTIVE

    account_reactivate(actor=operator, account=account)
    assert service_require(account=grandchild, kind=MESSAGING).account == grandchild


def test_a_suspended_account_keeps_its_data_and_reads(api, account, operator):
    account_suspend(actor=operator, account=account, reason="legal_order", note="Court")
    body = api.get("/api/v1/account").json()
    assert (body["status"], body["suspension_reason"], body["status_note"]) == (
        "suspended", "legal_order", "Court")
    assert api.get("/api/v1/services").status_code == 200


# --- P-1: supporting documents --------------------------------------------------------


def test_documents_request_suspends_until_received(api, account, operator):
    request = account_documents_request(actor=operator, account=account,
                                        items="Kbis extract less than 3 months old",
                                        suspend=True)
    account.refresh_from_db()
    assert (account.status, account.suspension_reason) == ("suspended", "documents_required")
    with pytest.raises(ServiceRefused) as refused:
        service_require(account=account, kind=MESSAGING)
    assert refused.value.code == "account_suspended"
    assert "Supporting documents required" in refused.value.message

    # The client uploads the document through the API while suspended.
    upload = api.client.post("/api/v1/account/documents?description=Kbis",
                             {"file": SimpleUploadedFile("kbis.pdf", b"%PDF-1.4")},
                             headers=api.headers)
    assert upload.status_code == 201, upload.content
    assert upload.json()["name"] == "kbis.pdf"
    assert account.documents.get().request == request
    account.refresh_from_db()
    assert account.status == "suspended"  # the operator has not checked it yet

    account_documents_received(actor=operator, request=request)
    account.refresh_from_db()
    assert (account.status, account.suspension_reason) == ("active", "")
    assert service_require(account=account, kind=MESSAGING).kind == MESSAGING
    assert actions(account)[-5:] == [
        "account.documents_request", "account.suspend", "account.document_upload",
        "account.documents_received", "account.reactivate",
    ]
    for entry in AuditEntry.objects.filter(account=account, action__in=[
            "account.documents_request", "account.documents_received"]):
        assert entry.is_operator
        assert entry.actor_label == "ops@operator.example"
        assert entry.ip == "198.51.100.4"

    with pytest.raises(Conflict):
        account_documents_received(actor=operator, request=request)


def test_documents_received_keeps_other_suspensions(account, operator):
    first = account_documents_request(actor=operator, account=account, items="ID", suspend=True)
    second = account_documents_request(actor=operator, account=account, items="Kbis",
                                       suspend=True)
    account_documents_received(actor=operator, request=first)
    account.refresh_from_db()
    assert account.status == "suspended"  # still waiting for the second
    account_suspend(actor=operator, account=account, reason="non_payment")
    account_documents_received(actor=operator, request=second)
    account.refresh_from_db()
    assert (account.status, account.suspension_reason) == ("suspended", "non_payment")


def test_documents_request_without_suspension(account, operator):
    account_documents_request(actor=operator, account=account, items="VAT certificate")
    account.refresh_from_db()
    assert account.status == "active"
    with pytest.raises(ValidationFailed):
        account_documents_request(actor=operator, account=account, items="  ")


# --- suspension is the operator's -------------------------------------------------------


def test_only_the_operator_suspends_and_reactivates(account, make_user, operator):
    admin = Actor(account=account, user=make_user(account), ip="192.0.2.1")
    service = account.services.get(kind=MESSAGING)
    attempts = [
        lambda: account_suspend(actor=admin, account=account, reason="breach"),
        lambda: service_suspend(actor=admin, service=service, reason="breach"),
        lambda: account_documents_request(actor=admin, account=account, items="ID",
                                          suspend=True),
        lambda: service_terminate(actor=admin, service=service, immediate=True),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied) as denied:
            attempt()
        assert denied.value.code == "permission_denied"
    account.refresh_from_db()
    service.refresh_from_db()
    assert (account.status, service.status) == ("active", "active")

    account_suspend(actor=operator, account=account, reason="breach")
    service_suspend(actor=operator, service=service, reason="maintenance")
    for attempt in (lambda: account_reactivate(actor=admin, account=account),
                    lambda: service_reactivate(actor=admin, service=service)):
        with pytest.raises(PermissionDenied):
            attempt()
    account.refresh_from_db()
    assert account.status == "suspended"


def test_suspension_and_reactivation_are_audited(account, operator):
    service = account.services.get(kind=MESSAGING)
    account_suspend(actor=operator, account=account, reason="breach", note="spam complaints")
    account_reactivate(actor=operator, account=account, note="remedied")
    service_suspend(actor=operator, service=service, reason="supplier_outage")
    service_reactivate(actor=operator, service=service)

    entries = list(AuditEntry.objects.filter(account=account, action__in=[
        "account.suspend", "account.reactivate", "service.suspend", "service.reactivate",
    ]).order_by("created_at", "id"))
    assert [e.action for e in entries] == [
        "account.suspend", "account.reactivate", "service.suspend", "service.reactivate"]
    assert entries[0].details == {"reason": "breach", "note": "spam complaints"}
    assert entries[2].details == {"reason": "supplier_outage", "note": ""}
    assert entries[2].target_id == str(service.pk)
    for entry in entries:
        assert entry.is_operator
        assert (entry.ip, entry.user_agent) == ("198.51.100.4", "back-office")


def test_suspension_state_errors(account, operator):
    with pytest.raises(ValidationFailed) as invalid:
        account_suspend(actor=operator, account=account, reason="boredom")
    assert set(invalid.value.details) == {"reason"}
    with pytest.raises(Conflict):
        account_reactivate(actor=operator, account=account)
    account_terminate(actor=operator, account=account)
    with pytest.raises(Conflict):
        account_suspend(actor=operator, account=account, reason="breach")


def test_operator_account_creation_is_audited(operator):
    account = account_create(actor=operator, name="NewCo", siret="732 829 320 00074")
    assert account.siret == "73282932000074"
    entry = AuditEntry.objects.get(action="account.create")
    assert (entry.account_id, entry.is_operator, entry.actor_label) == (
        account.pk, True, "ops@operator.example")
    with pytest.raises(PermissionDenied):
        account_create(actor=Actor(account=account), name="Self-made")


def test_api_keys_of_a_terminated_account_stop(account):
    _key, raw = api_key_create(actor=SYSTEM, account=account, name="k")
    client = ApiClient(raw)
    assert client.get("/api/v1/account").status_code == 200
    account_terminate(actor=SYSTEM, account=account)
    assert client.get("/api/v1/account").status_code == 401


def test_a_parents_suspended_service_stops_its_sub_accounts(make_account):
    parent = make_account("Parent Co")
    child = make_account("Child Co", parent=parent)
    service_require(account=child, kind="messaging")
    service_suspend(actor=SYSTEM, service=parent.services.get(kind="messaging"),
                    reason="non_payment")
    with pytest.raises(ServiceRefused) as refused:
        service_require(account=child, kind="messaging")
    assert refused.value.code == "service_suspended"
    assert refused.value.details["account"] == str(parent.pk)
    service_require(account=child, kind="contact_center")  # the other service still runs


def test_terminating_a_sub_account_is_in_the_parents_trail(make_account):
    parent = make_account("Parent Co")
    child = make_account("Child Co", parent=parent)
    account_terminate(actor=SYSTEM, account=child)
    assert AuditEntry.objects.filter(account=parent, action="subaccount.terminate",
                                     target_id=str(child.pk)).exists()


def test_a_service_whose_notice_is_over_is_closed_by_the_sweep(account):
    service = account.services.get(kind=MESSAGING)
    service_terminate(actor=SYSTEM, service=service)
    assert services_close_due() == 0  # notice still running
    assert services_close_due(now=timezone.now() + timedelta(days=31)) == 1
    service.refresh_from_db()
    assert service.status == ServiceStatus.TERMINATED
    assert AuditEntry.objects.filter(action="service.close", target_id=str(service.pk)).exists()
    assert services_close_due(now=timezone.now() + timedelta(days=32)) == 0
