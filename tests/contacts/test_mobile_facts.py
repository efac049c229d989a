"""A contact's number carries its country and original operator, derived whenever the
number is written (campaigns count, price and check the operator mix in SQL with them)."""

from importlib import import_module

from django.apps import apps

from chappe.contacts.fields import mobile_facts
from chappe.contacts.models import Contact
from chappe.contacts.services import contact_create, contact_update, contacts_dedupe
from tests.contacts.conftest import csv_bytes


def test_facts_of_a_stored_number():
    assert mobile_facts("+33612345678") == ("FR", "SFR")
    assert mobile_facts("+32470123456") == ("BE", "Proximus")
    assert mobile_facts("0612345678") == ("", "")  # stored raw: not known yet
    assert mobile_facts("+3361234") == ("", "")  # not a valid number
    assert mobile_facts("+80012345678") == ("", "")  # non-geographic: no ISO country


def test_create_and_update_keep_them(actor):
    contact = contact_create(actor=actor, account=actor.account, mobile="06 12 34 56 78")
    assert (contact.mobile_country, contact.mobile_operator) == ("FR", "SFR")
    contact = contact_update(actor=actor, contact=contact, values={"mobile": "+32470123456"})
    contact.refresh_from_db()
    assert (contact.mobile_country, contact.mobile_operator) == ("BE", "Proximus")


def test_imports_write_them(run_import):
    imp = run_import(csv_bytes([["Mobile", "Prénom"], ["0612345678", "Zoé"],
                                ["+32470123456", "Jan"]]))
    assert imp.created_count == 2
    assert dict(Contact.objects.values_list("mobile", "mobile_country")) == {
        "+33612345678": "FR", "+32470123456": "BE"}


def test_duplicate_cleaning_derives_them_for_renumbered_contacts(actor):
    raw = Contact.objects.create(account=actor.account, mobile="0612345678")
    assert raw.mobile_country == ""
    contacts_dedupe(actor=actor, account=actor.account)
    raw.refresh_from_db()
    assert (raw.mobile, raw.mobile_country, raw.mobile_operator) == ("+33612345678", "FR",
                                                                     "SFR")


def test_the_migration_fills_existing_contacts(account):
    Contact.objects.bulk_create([Contact(account=account, mobile="+33612345678"),
                                 Contact(account=account, mobile="+32470123456")])
    assert set(Contact.objects.values_list("mobile_country", flat=True)) == {""}
    migration = import_module("chappe.contacts.migrations.0003_contact_mobile_facts")
    migration.fill_mobile_facts(apps, None)
    assert dict(Contact.objects.values_list("mobile", "mobile_operator")) == {
        "+33612345678": "SFR", "+32470123456": "Proximus"}
