"""The red list (M-5): add, remove (audited, with a reason), import, export, its effect
on sends, and the client's written choice to manage it."""

import csv
import io

import pytest

from chappe.accounts.actor import SYSTEM
from chappe.accounts.roles import Role
from chappe.audit.models import AuditEntry
from chappe.carriers.base import Inbound
from chappe.common.errors import Conflict, PermissionDenied, ValidationFailed
from chappe.contacts.models import OptOut
from chappe.contacts.selectors import opted_out_numbers, red_list_policy_get
from chappe.contacts.services import (
    opt_out_add,
    opt_out_remove,
    opt_outs_import,
    red_list_policy_set,
)
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.replies import inbound_receive
from tests.contacts.conftest import csv_bytes, xlsx_bytes

NUMBER = "+33612345678"
STATEMENT = "Acme chooses to manage its opt-out list itself and takes responsibility."


def send(account, recipients):
    return sms_send(actor=SYSTEM.on(account), account=account, recipients=recipients,
                    text="Hello", sender="Acme")


def test_add_and_remove_change_what_sms_send_does(actor, funded_account):
    entry = opt_out_add(actor=actor, account=funded_account, number="06 12 34 56 78",
                        source="manual", note="asked by phone")
    assert (entry.number, entry.source, entry.responsible, entry.added_by) == (
        NUMBER, "manual", "platform", actor.label)
    assert opt_out_add(actor=actor, account=funded_account, number=NUMBER,
                       source="api") == entry  # once
    outcome = send(funded_account, [NUMBER, "+33698765432"])
    assert [r.status for r in outcome.recipients] == ["opted_out", "queued"]

    with pytest.raises(ValidationFailed) as caught:
        opt_out_remove(actor=actor, opt_out=entry, reason=" ")
    assert "reason" in caught.value.details
    opt_out_remove(actor=actor, opt_out=entry, reason="Customer subscribed again in store")
    assert not OptOut.objects.exists()
    removal = AuditEntry.objects.get(action="opt_out.remove")
    assert removal.details["reason"] == "Customer subscribed again in store"
    assert removal.actor_label == actor.label
    assert NUMBER not in removal.target_label
    assert AuditEntry.objects.filter(action="opt_out.add").count() == 1
    assert [r.status for r in send(funded_account, [NUMBER]).recipients] == ["queued"]


def test_bad_numbers_and_permissions(actor, account, make_user):
    from chappe.accounts.actor import Actor

    with pytest.raises(ValidationFailed):
        opt_out_add(actor=actor, account=account, number="12", source="manual")
    agent = Actor(account=account, user=make_user(account, role=Role.AGENT))
    with pytest.raises(PermissionDenied):
        opt_out_add(actor=agent, account=account, number=NUMBER, source="manual")


def test_stop_replies_while_the_platform_manages_the_list(actor, funded_account):
    send(funded_account, [NUMBER])
    from django.utils import timezone

    inbound_receive(connector="t", inbound=[Inbound(carrier_id="mo-1", from_number=NUMBER,
                                                   to="Acme", text="STOP",
                                                   received_at=timezone.now())])
    entry = OptOut.objects.get()
    assert (entry.source, entry.responsible, entry.added_by) == ("stop_reply", "platform", "")
    with pytest.raises(Conflict) as caught:
        opt_out_remove(actor=actor, opt_out=entry, reason="They called us")
    assert caught.value.code == "platform_managed"
    # The operator can.
    opt_out_remove(actor=SYSTEM.on(funded_account), opt_out=entry, reason="Recipient asked")
    assert not OptOut.objects.exists()


def test_self_managed_red_list(actor, funded_account):
    with pytest.raises(ValidationFailed):
        red_list_policy_set(actor=actor, account=funded_account, self_managed=True,
                            statement="ok")
    policy = red_list_policy_set(actor=actor, account=funded_account, self_managed=True,
                                 statement=STATEMENT)
    assert (policy.self_managed, policy.decided_by, policy.decided_by_user) == (
        True, actor.label, actor.user)
    assert policy.decided_at is not None
    assert AuditEntry.objects.get(action="red_list.policy").details == {
        "self_managed": True, "statement": STATEMENT}

    send(funded_account, [NUMBER])
    from django.utils import timezone

    inbound_receive(connector="t", inbound=[Inbound(carrier_id="mo-1", from_number=NUMBER,
                                                   to="Acme", text="stop",
                                                   received_at=timezone.now())])
    entry = OptOut.objects.get()
    assert (entry.source, entry.responsible) == ("stop_reply", "client")  # still added
    opt_out_remove(actor=actor, opt_out=entry, reason="Our choice, our responsibility")
    assert AuditEntry.objects.get(action="opt_out.remove").details["responsible"] == "client"

    red_list_policy_set(actor=actor, account=funded_account, self_managed=False)
    assert opt_out_add(actor=actor, account=funded_account, number=NUMBER,
                       source="manual").responsible == "platform"


def test_only_an_administrator_records_the_choice(account, make_user):
    from chappe.accounts.actor import Actor

    user = Actor(account=account, user=make_user(account, role=Role.MESSAGING_USER))
    with pytest.raises(PermissionDenied):
        red_list_policy_set(actor=user, account=account, self_managed=True, statement=STATEMENT)
    assert not red_list_policy_get(account=account).self_managed


def test_import_csv_and_xlsx(actor):
    opt_out_add(actor=actor, account=actor.account, number=NUMBER, source="manual")
    data = csv_bytes([["Numéro", "Nom"], ["06 12 34 56 78", "Already"],
                      ["0698765432", "New"], ["+33698765432", "Again"], ["nope", "Bad"],
                      ["", ""], ["Léa", "+32470123456"]], delimiter=";", encoding="cp1252")
    report = opt_outs_import(actor=actor, account=actor.account, data=data, file_name="r.csv")
    assert (report.added, report.already, report.duplicates, report.invalid) == (2, 1, 1, 1)
    assert report.errors == [(5, "nope", "Not a phone number.")]
    assert set(OptOut.objects.values_list("number", flat=True)) == {
        NUMBER, "+33698765432", "+32470123456"}
    assert OptOut.objects.get(number="+32470123456").source == "import"
    report = opt_outs_import(actor=actor, account=actor.account,
                             data=xlsx_bytes([[612345670], ["+33612345671"]]),
                             file_name="r.xlsx")
    assert report.added == 2
    assert AuditEntry.objects.filter(action="opt_out.import").count() == 2


def test_api_red_list(api, account):
    created = api.post("/api/v1/opt-outs", {"number": "06 12 34 56 78", "note": "by e-mail"})
    assert created.status_code == 201
    body = created.json()
    assert (body["number"], body["source"], body["responsible"], body["erased"]) == (
        NUMBER, "api", "platform", False)
    assert api.post("/api/v1/opt-outs", {"number": NUMBER}).status_code == 200
    assert api.post("/api/v1/opt-outs", {"number": "x"}).status_code == 400
    assert api.get("/api/v1/opt-outs", {"search": "0612345678"}).json()["count"] == 1
    assert api.get("/api/v1/opt-outs", {"source": "manual"}).json()["count"] == 0

    export = api.get("/api/v1/opt-outs/export")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [(r["number"], r["source"], r["note"]) for r in rows] == [(NUMBER, "api", "by e-mail")]

    assert api.post(f"/api/v1/opt-outs/{body['id']}/remove", {"reason": ""}).status_code == 400
    assert api.post(f"/api/v1/opt-outs/{body['id']}/remove",
                    {"reason": "they opted in again"}).status_code == 204
    assert api.get("/api/v1/opt-outs").json()["count"] == 0

    policy = api.get("/api/v1/red-list/policy").json()
    assert (policy["self_managed"], policy["responsible"]) == (False, "platform")
    chosen = api.client.put("/api/v1/red-list/policy", data={"self_managed": True,
                                                             "statement": STATEMENT},
                            content_type="application/json", headers=api.headers)
    assert chosen.status_code == 200
    assert (chosen.json()["self_managed"], chosen.json()["responsible"]) == (True, "client")
    assert chosen.json()["decided_by"].startswith("api-key:")


def test_api_import_red_list(api):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("stop.csv", b"0612345678\n0698765432\nbad\n")
    response = api.client.post("/api/v1/opt-outs/import", {"file": upload},
                               headers=api.headers)
    assert response.status_code == 200, response.content
    assert response.json()["added"] == 2
    assert response.json()["errors"] == [{"line": 3, "value": "bad",
                                          "message": "Not a phone number."}]


def test_opted_out_numbers_is_per_account(actor, other_account):
    opt_out_add(actor=actor, account=actor.account, number=NUMBER, source="manual")
    assert opted_out_numbers(account=actor.account, numbers=[NUMBER]) == {NUMBER}
    assert opted_out_numbers(account=other_account, numbers=[NUMBER]) == set()


def test_the_operator_takes_a_stop_off_from_the_back_office(funded_account, admin_client):
    from django.urls import reverse

    from chappe.contacts.admin import _remove

    entry = opt_out_add(actor=SYSTEM.on(funded_account), account=funded_account, number=NUMBER,
                        source="stop_reply")
    url = reverse("admin:contacts_optout_changelist")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"action": _remove.__name__, "_selected_action": [entry.pk],
                                       "apply": "1", "reason": "Asked by the recipient"})
    assert response.status_code == 302
    assert not OptOut.objects.exists()
    removal = AuditEntry.objects.get(action="opt_out.remove")
    assert (removal.is_operator, removal.details["reason"]) == (True, "Asked by the recipient")
