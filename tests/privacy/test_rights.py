"""Recipients' rights (P-12): see, export, rectify and erase everything an account holds
about one number. After an erasure, a search of every text column of every model finds
the number nowhere (only the keyed hash kept on the red list and in the audit entry)."""

import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import models
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.audit.models import AuditEntry
from chappe.audit.services import audit_record
from chappe.billing.models import UsageRecord
from chappe.carriers.simulator.connector import simulator_inject_mo
from chappe.common.erasure import ERASED
from chappe.common.errors import Conflict, NotFound, PermissionDenied
from chappe.contacts.models import Contact, ContactImport, OptOut
from chappe.contacts.pseudonym import number_hash
from chappe.contacts.selectors import opted_out_numbers
from chappe.contacts.services import (
    contact_create,
    contact_import_create,
    contact_list_create,
    custom_field_create,
)
from chappe.messaging.models import Message, Reply, Send
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.edit import message_cancel
from chappe.privacy.rights import recipient_erase, recipient_rectify
from chappe.privacy.selectors import recipient_data
from chappe.webhooks.models import WebhookEvent
from chappe.webhooks.services import webhook_settings_for
from tests.contacts.conftest import csv_bytes
from tests.messaging.conftest import simulator  # noqa: F401
from tests.messaging.test_pipeline import run_gateway_once

PERSON = "+33600000001"  # delivered by the simulator
NATIONAL = "600000001"
OTHER = "+33698765432"
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)
# The simulator stands for the operator's network (its own records), not for Chappe's.
NOT_OURS = ("chappe.carriers.simulator",)


def holding(value: str) -> list[str]:
    """Every (model.field) whose text holds `value`, over the whole database."""
    found = []
    for model in apps.get_models():
        if model.__module__.startswith(NOT_OURS):
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, TEXT_FIELDS):
                hits = model._default_manager.annotate(
                    _text=Cast(field.name, TextField())).filter(_text__contains=value)
                found += [f"{model._meta.label}.{field.name} #{pk}"
                          for pk in hits.values_list("pk", flat=True)]
            elif isinstance(field, models.BinaryField):
                for pk, data in model._default_manager.values_list("pk", field.name):
                    if value.encode() in bytes(data or b""):
                        found.append(f"{model._meta.label}.{field.name} #{pk}")
    return found


@pytest.fixture
def history(actor, funded_account, simulator):  # noqa: F811
    """An account that knows PERSON everywhere: contact, lists, custom values, messages
    (delivered, scheduled, a STOP confirmation), replies, webhooks, a send report, the red
    list, audit entries, an import error report and a file waiting to be imported."""
    account = funded_account
    webhook_settings_for(account=account)
    account.webhook_settings.default_url = "https://hooks.example/chappe"
    account.webhook_settings.save()
    custom_field_create(actor=actor, account=account, key="birthday", label="Birthday",
                        type="date")
    vip = contact_list_create(actor=actor, account=account, name="VIP")
    contact_create(actor=actor, account=account, mobile="06 00 00 00 01",
                   values={"first_name": "Zoé", "last_name": "Lefèvre",
                           "email": "zoe@example.com", "city": "Paris"},
                   custom={"birthday": "1990-05-17"}, lists=[vip])
    contact_create(actor=actor, account=account, mobile=OTHER,
                   values={"first_name": "Léa", "phone": "06 00 00 00 01"}, lists=[vip])
    Contact.objects.create(account=account, mobile="0600000001", first_name="Legacy raw")

    sms_send(actor=actor, account=account, recipients=[PERSON, OTHER], sender="Acme",
             text="Hello Zoé and Léa", idempotency_key="campaign-1")
    run_gateway_once(simulator)
    run_gateway_once(simulator)
    simulator_inject_mo(connector="simulator", from_number=PERSON, to="Acme",
                        text="Who is this? Zoé")
    run_gateway_once(simulator)
    later = sms_send(actor=actor, account=account, recipients=[PERSON], sender="Acme",
                     text="Zoé, your appointment", send_at=timezone.now() + timedelta(days=2))
    assert later.recipients[0].status == "scheduled"
    canceled = sms_send(actor=actor, account=account, recipients=[PERSON], sender="Acme",
                        text="Zoé, canceled", send_at=timezone.now() + timedelta(days=3))
    message_cancel(actor=actor, message=canceled.recipients[0].message)
    simulator_inject_mo(connector="simulator", from_number=PERSON, to="Acme", text="STOP")
    run_gateway_once(simulator)  # the STOP: red list, and a confirmation SMS queued (FR)
    run_gateway_once(simulator)  # the confirmation sent and delivered
    # An audit entry written before labels stopped naming numbers.
    audit_record(actor=actor, account=account, action="legacy.note",
                 target=Message.objects.filter(recipient=PERSON).first(),
                 details={"to": PERSON, "nested": [{"number": "0600000001"}]})
    # An import whose report keeps a row of PERSON; another waiting with PERSON in it.
    bad = contact_import_create(actor=actor, account=account, file_name="a.csv",
                                data=csv_bytes([["mobile", "email"], ["0600000001", "bad@"]]))
    from chappe.contacts.services import contact_import_run, contact_import_start
    contact_import_start(actor=actor, contact_import=bad)
    contact_import_run(import_id=bad.pk)
    contact_import_create(actor=actor, account=account, file_name="b.csv",
                          data=csv_bytes([["mobile"], ["0600000001"], [OTHER]]))
    return account


def test_lookup_and_export_show_everything(history, api):
    data = recipient_data(account=history, number=PERSON)
    # The contact kept with its number as typed is the person's too: shown as it is erased.
    assert sorted(c.first_name for c in data.contacts) == ["Legacy raw", "Zoé"]
    assert [c.first_name for c in data.phone_of] == ["Léa"]
    assert [o.source for o in data.opt_outs] == ["stop_reply"]
    assert data.messages.count() == 4  # delivered, STOP confirmation, scheduled, canceled
    assert data.replies.count() == 2
    assert data.import_errors.count() == 1

    document = api.post("/api/v1/recipients/lookup", {"number": "06 00 00 00 01"}).json()
    assert document["number"] == PERSON
    contact, legacy = sorted(document["contacts"], key=lambda c: c["first_name"] != "Zoé")
    assert (contact["first_name"], contact["custom"], contact["lists"]) == (
        "Zoé", {"birthday": "1990-05-17"}, ["VIP"])
    assert (legacy["first_name"], legacy["mobile"]) == ("Legacy raw", "0600000001")
    assert {m["status"] for m in document["messages"]} >= {"delivered", "scheduled"}
    assert [r["text"] for r in document["replies"]] == ["STOP", "Who is this? Zoé"]
    assert document["red_list"][0]["source"] == "stop_reply"
    assert document["messages"][0]["history"]

    exported = api.post("/api/v1/recipients/export", {"number": PERSON})
    assert exported["Content-Disposition"] == 'attachment; filename="recipient-data.json"'
    exported_contacts = json.loads(exported.content)["contacts"]
    assert {c["first_name"]: c["email"] for c in exported_contacts} == {
        "Zoé": "zoe@example.com", "Legacy raw": ""}
    assert api.post("/api/v1/recipients/lookup", {"number": "nope"}).status_code == 400


def test_rectify(history, actor, api):
    contact = recipient_rectify(actor=actor, account=history, number="0600000001",
                                values={"last_name": "Martin"})
    assert contact.last_name == "Martin"
    response = api.post("/api/v1/recipients/rectify", {"number": PERSON, "city": "Lyon",
                                                       "custom": {"birthday": None}})
    assert response.status_code == 200
    assert (response.json()["city"], response.json()["custom"]) == ("Lyon", {})
    with pytest.raises(NotFound):
        recipient_rectify(actor=actor, account=history, number="+33611111111",
                          values={"city": "x"})


def test_erasure_leaves_no_personal_data(history, actor):
    account = history
    usage_before = UsageRecord.objects.filter(account=account).count()
    messages_before = Message.objects.filter(account=account).count()
    assert holding(PERSON)
    assert holding(NATIONAL)

    report = recipient_erase(actor=actor, account=account, number="06 00 00 00 01")

    assert holding(PERSON) == []
    assert holding(NATIONAL) == []
    assert report.number_hash == number_hash(account_id=account.pk, number=PERSON)
    assert (report.contacts, report.phones_cleared, report.canceled, report.replies) == (
        2, 1, 1, 2)  # the contact and its raw legacy twin
    assert report.messages == 4
    assert report.opt_outs_kept == 1
    assert report.imports_dropped == 1
    assert report.audit_entries == 1  # the opt-out recorded with the number

    # Billing proof is kept: same usage records, messages kept as anonymous rows.
    # Billing proof is kept whole; the canceled scheduled message's charge is given back.
    assert UsageRecord.objects.filter(account=account).count() == usage_before + 1
    assert UsageRecord.objects.filter(account=account,
                                      idempotency_key__endswith=":reversal").count() == 2
    assert Message.objects.filter(account=account).count() == messages_before
    anonymous = Message.objects.filter(account=account, recipient=ERASED)
    assert anonymous.count() == 4
    assert set(anonymous.values_list("text", flat=True)) == {ERASED}
    assert {m.status for m in anonymous} >= {"delivered", "canceled"}
    assert all(m.country == "FR" and m.price_micros >= 0 for m in anonymous)
    assert set(Reply.objects.values_list("from_number", "text")) == {(ERASED, ERASED)}
    # Texts written for this person alone are gone too (names in personalised messages).
    assert not Send.objects.filter(text__contains="appointment").exists()
    assert not holding("Who is this")  # the reply, in its row and in its webhook payload
    # The other recipient is untouched.
    assert Message.objects.get(recipient=OTHER).text == "Hello Zoé and Léa"
    assert Contact.objects.get(mobile=OTHER).phone == ""
    report_rows = json.loads(Send.objects.get(idempotency_key="campaign-1").report)
    assert [(r["input"], r["e164"]) for r in report_rows] == [(ERASED, ERASED), (OTHER, OTHER)]
    # The person stays opted out, by hash only.
    entry = OptOut.objects.get(account=account)
    assert (entry.number, entry.number_hash, entry.erased) == (None, report.number_hash, True)
    assert opted_out_numbers(account=account, numbers=[PERSON, OTHER]) == {PERSON}
    outcome = sms_send(actor=SYSTEM.on(account), account=account, recipients=[PERSON],
                       sender="Acme", text="Hi again")
    assert outcome.recipients[0].status == "opted_out"
    outcome.recipients[0].message.delete()  # (only to keep the next checks simple)
    # One audit entry, with the hash, not the number.
    entry = AuditEntry.objects.get(action="recipient.erase")
    assert entry.details["number_hash"] == report.number_hash
    assert ContactImport.objects.filter(account=account, status="canceled").count() == 1
    assert WebhookEvent.objects.filter(account=account).exists()


def test_erasure_without_keeping_the_opt_out(history, actor):
    report = recipient_erase(actor=actor, account=history, number=PERSON, keep_opt_out=False)
    assert (report.opt_outs_kept, report.opt_outs_deleted) == (0, 1)
    assert not OptOut.objects.filter(account=history).exists()
    assert holding(PERSON) == []


def test_a_new_stop_after_erasure_gives_the_entry_its_number_back(history, actor):
    from chappe.contacts.services import opt_out_add

    recipient_erase(actor=actor, account=history, number=PERSON)
    entry = opt_out_add(actor=actor, account=history, number=PERSON, source="manual")
    assert (entry.number, entry.number_hash) == (PERSON, "")
    assert OptOut.objects.filter(account=history).count() == 1


def test_erasure_waits_for_a_message_in_flight_and_a_running_import(actor, funded_account):
    sms_send(actor=actor, account=funded_account, recipients=[PERSON], sender="Acme",
             text="now")  # queued: a gateway may be handing it to a carrier
    with pytest.raises(Conflict) as caught:
        recipient_erase(actor=actor, account=funded_account, number=PERSON)
    assert caught.value.code == "message_in_flight"
    Message.objects.update(status="sent")
    imp = contact_import_create(actor=actor, account=funded_account, file_name="c.csv",
                                data=csv_bytes([["mobile"], [OTHER]]))
    ContactImport.objects.filter(pk=imp.pk).update(status="running")
    with pytest.raises(Conflict) as caught:
        recipient_erase(actor=actor, account=funded_account, number=PERSON)
    assert caught.value.code == "import_running"


def test_erasure_is_for_administrators_and_stays_in_the_account(account, other_account,
                                                                 make_user, api_for):
    from chappe.accounts.actor import Actor
    from chappe.accounts.roles import Role

    contact_create(actor=SYSTEM.on(other_account), account=other_account, mobile=PERSON)
    user = Actor(account=account, user=make_user(account, role=Role.MESSAGING_USER))
    with pytest.raises(PermissionDenied):
        recipient_erase(actor=user, account=account, number=PERSON)
    response = api_for(account).post("/api/v1/recipients/erase", {"number": PERSON})
    assert response.status_code == 200
    assert response.json()["contacts"] == 0
    assert Contact.objects.filter(account=other_account, mobile=PERSON).exists()
    lookup = api_for(account).post("/api/v1/recipients/lookup", {"number": PERSON}).json()
    assert lookup["contacts"] == []
    messaging_user = api_for(account, Role.MESSAGING_USER)
    assert messaging_user.post("/api/v1/recipients/lookup", {"number": PERSON}).status_code == 200
    assert messaging_user.post("/api/v1/recipients/erase",
                               {"number": PERSON}).status_code == 403


def test_erasure_reaches_time2chat_and_rcs_sessions(history, actor):
    """Sessions stay as the proof of what they cost (their price), without the number."""
    from datetime import timedelta

    from django.utils import timezone

    from chappe.messaging.rcs.models import RcsSession
    from chappe.time2chat.models import Session

    now = timezone.now()
    t2c = Session.objects.create(account=history, number="+33939000001", correspondent=PERSON,
                                 opened_at=now, ends_at=now + timedelta(hours=1),
                                 mo_count=1, billed_micros=40_000)
    rcs = RcsSession.objects.create(account=history, agent_sender="rcs-demo", recipient=PERSON,
                                    opened_at=now, ends_at=now + timedelta(days=1),
                                    price_micros=30_000)
    recipient_erase(actor=actor, account=history, number=PERSON)
    assert holding(PERSON) == []
    t2c.refresh_from_db()
    rcs.refresh_from_db()
    assert (t2c.billed_micros, rcs.price_micros) == (40_000, 30_000)
