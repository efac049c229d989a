"""Duplicate cleaning (M-4): numbers equal once normalised are merged into the most
complete contact, keeping every list and filling its gaps."""

from datetime import timedelta

from django.utils import timezone

from chappe.audit.models import AuditEntry
from chappe.contacts.merging import Record, plan_merge
from chappe.contacts.models import Contact, ListMembership
from chappe.contacts.selectors import contact_duplicates
from chappe.contacts.services import contact_list_create, contacts_dedupe

NOW = timezone.now()


def record(id, created=0, updated=0, custom=None, **values):
    return Record(id=id, values=values, custom=custom or {},
                  created_at=NOW + timedelta(days=created),
                  updated_at=NOW + timedelta(days=updated))


def test_plan_keeps_the_most_complete_and_fills_its_gaps():
    plan = plan_merge([
        record("a", created=0, updated=5, first_name="Zoé", city="Paris"),
        record("b", created=1, updated=1, first_name="Z.", last_name="Lefèvre", company="Acme",
               custom={"tier": "Gold"}),
        record("c", created=2, updated=9, email="zoe@example.com", city="Lyon",
               custom={"tier": "Silver", "points": 3}),
    ])
    assert (plan.keep, sorted(plan.drop)) == ("b", ["a", "c"])
    assert plan.values["first_name"] == "Z."  # the kept contact's own value stays
    assert plan.values["email"] == "zoe@example.com"
    assert plan.values["city"] == "Lyon"  # the most recently updated duplicate wins a gap
    assert plan.custom == {"tier": "Gold", "points": 3}


def test_plan_tie_keeps_the_oldest():
    plan = plan_merge([record("new", created=3, first_name="A"),
                       record("old", created=1, first_name="B")])
    assert plan.keep == "old"


def legacy(account, mobile, **fields):
    """A contact stored before numbers were normalised (bypassing the services)."""
    return Contact.objects.create(account=account, mobile=mobile, **fields)


def test_find_and_merge(actor):
    account = actor.account
    vip = contact_list_create(actor=actor, account=account, name="VIP")
    salon = contact_list_create(actor=actor, account=account, name="Salon")
    canonical = legacy(account, "+33612345678", first_name="Zoé")
    raw = legacy(account, "06 12 34 56 78", last_name="Lefèvre", company="Acme",
                 custom={"tier": "Gold"})
    dotted = legacy(account, "06.12.34.56.78", email="zoe@example.com")
    ListMembership.objects.create(contact_list=vip, contact=canonical)
    ListMembership.objects.create(contact_list=salon, contact=dotted)
    alone = legacy(account, "0698765432", first_name="Léa")
    legacy(account, "+33698765400")  # already right
    legacy(account, "garbage")

    scan = contact_duplicates(account=account)
    assert [g.number for g in scan.groups] == ["+33612345678"]
    assert {c.pk for c in scan.groups[0].contacts} == {canonical.pk, raw.pk, dotted.pk}
    assert scan.renumber == [(alone.pk, "+33698765432")]
    assert (scan.invalid, scan.extra_contacts) == (1, 2)

    report = contacts_dedupe(actor=actor, account=account)
    assert (report.groups, report.removed, report.renumbered) == (1, 2, 1)
    kept = Contact.objects.get(account=account, mobile="+33612345678")
    assert kept.pk == raw.pk  # the most complete
    assert (kept.first_name, kept.last_name, kept.company, kept.email, kept.custom) == (
        "Zoé", "Lefèvre", "Acme", "zoe@example.com", {"tier": "Gold"})
    assert set(kept.lists.values_list("name", flat=True)) == {"VIP", "Salon"}
    assert Contact.objects.get(pk=alone.pk).mobile == "+33698765432"
    assert Contact.objects.filter(account=account).count() == 4
    assert AuditEntry.objects.get(action="contact.dedupe").details == {
        "groups": 1, "removed": 2, "renumbered": 1}
    assert not contact_duplicates(account=account).groups


def test_merge_one_group_only(actor):
    legacy(actor.account, "+33612345678")
    legacy(actor.account, "0612345678")
    legacy(actor.account, "+33698765432")
    legacy(actor.account, "0698765432")
    report = contacts_dedupe(actor=actor, account=actor.account, numbers=["+33698765432"])
    assert (report.groups, report.removed) == (1, 1)
    assert len(contact_duplicates(account=actor.account).groups) == 1


def test_api_duplicates(api, account):
    legacy(account, "+33612345678", first_name="Zoé")
    legacy(account, "0612345678", last_name="Lefèvre")
    found = api.get("/api/v1/contacts/duplicates").json()
    assert [g["number"] for g in found["groups"]] == ["+33612345678"]
    assert len(found["groups"][0]["contacts"]) == 2
    assert found["contacts_to_remove"] == 1
    merged = api.post("/api/v1/contacts/duplicates/merge", {}).json()
    assert merged == {"groups": 1, "removed": 1, "renumbered": 0}
    [contact] = api.get("/api/v1/contacts").json()["items"]
    assert (contact["first_name"], contact["last_name"]) == ("Zoé", "Lefèvre")
