"""Contacts, lists and custom fields through the services and the API (M-4)."""

import csv
import io

import pytest

from chappe.accounts.roles import Role
from chappe.audit.models import AuditEntry
from chappe.common.errors import Conflict, PermissionDenied, ValidationFailed
from chappe.contacts.models import Contact, ListMembership
from chappe.contacts.services import (
    contact_create,
    contact_delete,
    contact_list_add,
    contact_list_create,
    contact_list_delete,
    contact_list_remove,
    contact_update,
    custom_field_create,
    custom_field_delete,
    custom_field_update,
)


def test_a_contact_is_stored_in_e164_and_unique_per_account(actor, other_account):
    contact = contact_create(actor=actor, account=actor.account, mobile="06 12 34 56 78",
                             values={"first_name": " Zoé ", "email": "zoe@example.com"})
    assert (contact.mobile, contact.first_name) == ("+33612345678", "Zoé")
    with pytest.raises(Conflict) as caught:
        contact_create(actor=actor, account=actor.account, mobile="+33 6 12 34 56 78")
    assert caught.value.code == "duplicate_contact"
    assert caught.value.details["contact_id"] == str(contact.pk)
    # Another account may hold the same number.
    from chappe.accounts.actor import SYSTEM
    contact_create(actor=SYSTEM.on(other_account), account=other_account, mobile="0612345678")


def test_the_account_default_country_reads_national_numbers(make_account, make_user):
    from chappe.accounts.actor import Actor

    belgian = make_account("Brussels", default_country="BE")
    actor = Actor(account=belgian, user=make_user(belgian))
    assert contact_create(actor=actor, account=belgian, mobile="0470 12 34 56").mobile == \
        "+32470123456"


def test_invalid_values_are_refused_with_details(actor):
    custom_field_create(actor=actor, account=actor.account, key="points", label="Points",
                        type="number")
    with pytest.raises(ValidationFailed) as caught:
        contact_create(actor=actor, account=actor.account, mobile="123",
                       values={"email": "x@", "nope": "1"}, custom={"points": "many"})
    assert set(caught.value.details) == {"mobile", "email", "nope", "custom.points"}
    assert not Contact.objects.exists()


def test_update_changes_only_what_is_given_and_audits_field_names(actor):
    custom_field_create(actor=actor, account=actor.account, key="tier", label="Tier",
                        type="choice", choices=["Gold", "Silver"])
    contact = contact_create(actor=actor, account=actor.account, mobile="0612345678",
                             values={"first_name": "Zoé", "city": "Paris"},
                             custom={"tier": "gold"})
    assert contact.custom == {"tier": "Gold"}
    contact_update(actor=actor, contact=contact, values={"city": "Lyon", "company": ""},
                   custom={"tier": None})
    contact.refresh_from_db()
    assert (contact.first_name, contact.city, contact.custom) == ("Zoé", "Lyon", {})
    entry = AuditEntry.objects.filter(action="contact.update").get()
    assert entry.details == {"fields": ["city", "custom.tier"]}
    assert "Lyon" not in str(entry.details)
    assert "+336" not in entry.target_label


def test_changing_the_number_to_one_already_used_is_a_conflict(actor):
    contact_create(actor=actor, account=actor.account, mobile="0612345678")
    other = contact_create(actor=actor, account=actor.account, mobile="0612345679")
    with pytest.raises(Conflict):
        contact_update(actor=actor, contact=other, values={"mobile": "+33612345678"})


def test_lists_membership(actor):
    vip = contact_list_create(actor=actor, account=actor.account, name="VIP")
    salon = contact_list_create(actor=actor, account=actor.account, name="Salon")
    with pytest.raises(Conflict):
        contact_list_create(actor=actor, account=actor.account, name="VIP")
    zoe = contact_create(actor=actor, account=actor.account, mobile="0612345678", lists=[vip])
    lea = contact_create(actor=actor, account=actor.account, mobile="0612345679")
    assert contact_list_add(actor=actor, contact_list=salon, contacts=[zoe, lea]) == 2
    assert contact_list_add(actor=actor, contact_list=salon, contacts=[zoe]) == 0
    assert set(zoe.lists.values_list("name", flat=True)) == {"VIP", "Salon"}
    contact_update(actor=actor, contact=zoe, lists=[salon])
    assert list(zoe.lists.values_list("name", flat=True)) == ["Salon"]
    assert contact_list_remove(actor=actor, contact_list=salon, contacts=[lea]) == 1
    contact_list_delete(actor=actor, contact_list=salon)
    assert Contact.objects.count() == 2  # the contacts stay
    assert not ListMembership.objects.exists()


def test_a_list_of_another_account_cannot_be_used(actor, other_account):
    from chappe.accounts.actor import SYSTEM

    foreign = contact_list_create(actor=SYSTEM.on(other_account), account=other_account,
                                  name="Theirs")
    with pytest.raises(ValidationFailed):
        contact_create(actor=actor, account=actor.account, mobile="0612345678", lists=[foreign])
    zoe = contact_create(actor=actor, account=actor.account, mobile="0612345678")
    assert contact_list_add(actor=actor, contact_list=foreign, contacts=[zoe]) == 0


def test_deleting_a_contact_is_a_real_delete_not_an_opt_out(actor):
    from chappe.contacts.models import OptOut

    zoe = contact_create(actor=actor, account=actor.account, mobile="0612345678")
    zoe_id = zoe.pk
    contact_delete(actor=actor, contact=zoe)
    assert not Contact.objects.exists()
    assert not OptOut.objects.exists()
    assert AuditEntry.objects.filter(action="contact.delete", target_id=str(zoe_id)).exists()


def test_custom_fields_validation_and_life(actor):
    with pytest.raises(ValidationFailed):
        custom_field_create(actor=actor, account=actor.account, key="first_name",
                            label="x", type="text")
    with pytest.raises(ValidationFailed):
        custom_field_create(actor=actor, account=actor.account, key="k", label="x",
                            type="choice", choices=[" "])
    with pytest.raises(ValidationFailed):
        custom_field_create(actor=actor, account=actor.account, key="k", label="x", type="blob")
    tier = custom_field_create(actor=actor, account=actor.account, key="tier", label="Tier",
                               type="choice", choices=["Gold", "gold", "Silver"])
    assert tier.choices == ["Gold", "Silver"]
    with pytest.raises(Conflict):
        custom_field_create(actor=actor, account=actor.account, key="tier", label="T",
                            type="text")
    zoe = contact_create(actor=actor, account=actor.account, mobile="0612345678",
                         custom={"tier": "Gold"})
    with pytest.raises(Conflict) as caught:
        custom_field_update(actor=actor, field=tier, choices=["Silver"])
    assert caught.value.code == "choice_in_use"
    custom_field_update(actor=actor, field=tier, label="Level", choices=["Gold", "Bronze"])
    assert custom_field_delete(actor=actor, field=tier) == 1
    zoe.refresh_from_db()
    assert zoe.custom == {}


def test_an_agent_cannot_manage_contacts(account, make_user):
    from chappe.accounts.actor import Actor

    agent = Actor(account=account, user=make_user(account, role=Role.AGENT))
    with pytest.raises(PermissionDenied):
        contact_create(actor=agent, account=account, mobile="0612345678")


# --- API ---------------------------------------------------------------------------------------


def test_api_crud_filters_and_pagination(api, account):
    assert api.post("/api/v1/contact-fields", {"key": "tier", "label": "Tier",
                                               "type": "choice",
                                               "choices": ["Gold", "Silver"]}).status_code == 201
    vip = api.post("/api/v1/contact-lists", {"name": "VIP"}).json()
    created = api.post("/api/v1/contacts", {
        "mobile": "06 12 34 56 78", "first_name": "Zoé", "last_name": "Lefèvre",
        "city": "Paris", "custom": {"tier": "gold"}, "list_ids": [vip["id"]]})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["mobile"], body["custom"], body["lists"]) == (
        "+33612345678", {"tier": "Gold"}, [{"id": vip["id"], "name": "VIP"}])
    for i in range(3):
        api.post("/api/v1/contacts", {"mobile": f"+3361234560{i}", "last_name": f"Other {i}"})

    duplicate = api.post("/api/v1/contacts", {"mobile": "+33612345678"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "duplicate_contact"
    bad = api.post("/api/v1/contacts", {"mobile": "nope", "custom": {"tier": "Bronze"}})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["details"]) == {"mobile", "custom.tier"}

    listed = api.get("/api/v1/contacts", {"limit": 2}).json()
    assert listed["count"] == 4
    assert len(listed["items"]) == 2
    assert [c["last_name"] for c in api.get("/api/v1/contacts", {"search": "zoé paris"})
            .json()["items"]] == ["Lefèvre"]
    assert api.get("/api/v1/contacts", {"search": "0612345678"}).json()["count"] == 1
    assert api.get("/api/v1/contacts", {"list_id": vip["id"]}).json()["count"] == 1
    assert api.get("/api/v1/contacts", {"field": "tier", "value": "Gold"}).json()["count"] == 1
    assert api.get("/api/v1/contacts", {"field": "city", "value": "Paris"}).json()["count"] == 1

    patched = api.patch(f"/api/v1/contacts/{body['id']}", {"city": None, "list_ids": []})
    assert patched.status_code == 200
    assert (patched.json()["city"], patched.json()["lists"]) == ("", [])
    assert api.delete(f"/api/v1/contacts/{body['id']}").status_code == 204
    assert api.get(f"/api/v1/contacts/{body['id']}").status_code == 404


def test_api_list_members(api):
    lst = api.post("/api/v1/contact-lists", {"name": "Salon"}).json()
    a = api.post("/api/v1/contacts", {"mobile": "+33612345601"}).json()
    b = api.post("/api/v1/contacts", {"mobile": "+33612345602"}).json()
    added = api.post(f"/api/v1/contact-lists/{lst['id']}/members",
                     {"contact_ids": [a["id"], b["id"], "nope"]}).json()
    assert added == {"changed": 2, "not_found": ["nope"]}
    assert api.get(f"/api/v1/contact-lists/{lst['id']}").json()["size"] == 2
    assert api.delete(f"/api/v1/contact-lists/{lst['id']}/members/{a['id']}").status_code == 204
    removed = api.post(f"/api/v1/contact-lists/{lst['id']}/members/remove",
                       {"contact_ids": [b["id"]]}).json()
    assert removed["changed"] == 1
    assert api.get(f"/api/v1/contact-lists/{lst['id']}").json()["size"] == 0


def test_api_messaging_user_may_agent_may_not(api_for, account):
    assert api_for(account, Role.MESSAGING_USER).get("/api/v1/contacts").status_code == 200
    response = api_for(account, Role.AGENT).get("/api/v1/contacts")
    assert response.status_code == 403


def test_api_export_csv_and_xlsx_neutralise_formulas(api, actor):
    import openpyxl

    custom_field_create(actor=actor, account=actor.account, key="note", label="Note",
                        type="text")
    contact_create(actor=actor, account=actor.account, mobile="0612345678",
                   values={"first_name": '=HYPERLINK("http://evil")', "company": "-2+3"},
                   custom={"note": "@SUM(1)"})
    response = api.get("/api/v1/contacts/export")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0]["mobile"] == "+33612345678"
    assert rows[0]["first_name"] == "'=HYPERLINK(\"http://evil\")"
    assert rows[0]["company"] == "'-2+3"
    assert rows[0]["note"] == "'@SUM(1)"

    response = api.get("/api/v1/contacts/export", {"format": "xlsx"})
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c for c in sheet[2]], strict=True))
    assert row["first_name"].value == '=HYPERLINK("http://evil")'
    assert row["first_name"].data_type == "s"  # text, not a formula
    assert row["mobile"].value == "+33612345678"
