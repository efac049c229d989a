"""Address book pages: they render, follow the permissions, and drive the same services;
the import's progress partial is polled by htmx until the import is over."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chappe.accounts.roles import Role
from chappe.audit.models import AuditEntry
from chappe.contacts.models import Contact, ContactImport, ContactList, CustomField, OptOut
from chappe.contacts.services import (
    contact_create,
    contact_import_create,
    contact_list_create,
    custom_field_create,
    opt_out_add,
)
from chappe.queue.jobs import jobs_run_due
from tests.contacts.conftest import csv_bytes
from tests.web.support import client_for

HTMX = {"HX-Request": "true"}
PAGES = ["web:contacts", "web:contact_new", "web:contact_lists", "web:contact_fields",
         "web:contact_imports", "web:contact_duplicates", "web:red_list", "web:red_list_policy",
         "web:recipient"]


@pytest.fixture
def seeded(actor):
    """One object of each kind, so every page has something to show."""
    account = actor.account
    custom_field_create(actor=actor, account=account, key="tier", label="Tier",
                        type="choice", choices=["Gold", "Silver"])
    vip = contact_list_create(actor=actor, account=account, name="VIP")
    zoe = contact_create(actor=actor, account=account, mobile="0612345678",
                         values={"first_name": "Zoé", "last_name": "Lefèvre"},
                         custom={"tier": "Gold"}, lists=[vip])
    Contact.objects.create(account=account, mobile="06 12 34 56 78", first_name="Twin")
    opt_out_add(actor=actor, account=account, number="0698765432", source="manual",
                note="by phone")
    return {"zoe": zoe, "vip": vip}


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders(web, account, seeded, name):
    response = web.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    assert account.name in html
    assert reverse("web:contacts") in html  # the menu entry and the tabs


def test_detail_pages_render(web, seeded):
    zoe, vip = seeded["zoe"], seeded["vip"]
    for url in (reverse("web:contact_edit", args=[zoe.pk]),
                reverse("web:contact_list", args=[vip.pk]),
                reverse("web:contact_field", args=[CustomField.objects.get().pk]),
                reverse("web:opt_out_remove", args=[OptOut.objects.get().pk])):
        assert web.get(url).status_code == 200, url


def test_pages_and_menu_follow_the_permissions(account, make_user, seeded):
    agent = client_for(make_user(account, role=Role.AGENT))
    for name in PAGES:
        assert agent.get(reverse(name)).status_code == 403
    assert reverse("web:contacts") not in agent.get(reverse("web:home")).content.decode()
    messaging = client_for(make_user(account, role=Role.MESSAGING_USER))
    assert messaging.get(reverse("web:contacts")).status_code == 200
    # Recording the red-list choice is an administrator's.
    html = messaging.get(reverse("web:red_list_policy")).content.decode()
    assert 'name="statement"' not in html
    refused = messaging.post(reverse("web:red_list_policy"),
                             {"self_managed": "on", "statement": "x" * 30})
    assert refused.status_code == 403


def test_another_accounts_contact_is_404(web, other_account):
    from chappe.accounts.actor import SYSTEM

    theirs = contact_create(actor=SYSTEM.on(other_account), account=other_account,
                            mobile="0612345678")
    assert web.get(reverse("web:contact_edit", args=[theirs.pk])).status_code == 404


def test_contact_form_create_and_edit(web, account, seeded):
    vip = seeded["vip"]
    response = web.post(reverse("web:contact_new"), {
        "mobile": "07 80 00 00 01", "first_name": "Léa", "email": "not-an-email",
        "custom.tier": "Silver", "lists": [str(vip.pk)]})
    assert response.status_code == 200  # the service refused the e-mail: the form again
    assert "Not a valid e-mail address." in response.content.decode()
    response = web.post(reverse("web:contact_new"), {
        "mobile": "07 80 00 00 01", "first_name": "Léa", "custom.tier": "Silver",
        "lists": [str(vip.pk)]})
    assert response.status_code == 302
    lea = Contact.objects.get(mobile="+33780000001")
    assert (lea.first_name, lea.custom, [cl.name for cl in lea.lists.all()]) == (
        "Léa", {"tier": "Silver"}, ["VIP"])
    response = web.post(reverse("web:contact_edit", args=[lea.pk]), {
        "mobile": "+33780000001", "first_name": "Léa", "city": "Nantes", "custom.tier": ""})
    assert response.status_code == 302
    lea.refresh_from_db()
    assert (lea.city, lea.custom, lea.lists.count()) == ("Nantes", {}, 0)
    duplicate = web.post(reverse("web:contact_new"), {"mobile": "0612345678"})
    assert "already exists" in duplicate.content.decode()


def test_search_and_exports(web, seeded):
    html = web.get(reverse("web:contacts"), {"q": "zoé"}).content.decode()
    assert "Lefèvre" in html
    assert "Twin" not in html
    response = web.get(reverse("web:contacts_export_csv"), {"list": str(seeded["vip"].pk)})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["mobile"], r["tier"], r["lists"]) for r in rows] == [("+33612345678", "Gold",
                                                                      "VIP")]
    response = web.get(reverse("web:contacts_export_xlsx"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_delete_with_htmx_removes_the_row(web, seeded):
    zoe = seeded["zoe"]
    response = web.post(reverse("web:contact_delete", args=[zoe.pk]), headers=HTMX)
    assert (response.status_code, response.content) == (200, b"")
    assert not Contact.objects.filter(pk=zoe.pk).exists()


def test_lists_and_fields_pages_drive_the_services(web, account, seeded):
    response = web.post(reverse("web:contact_lists"), {"name": "Salon"})
    salon = ContactList.objects.get(name="Salon")
    assert response["Location"] == reverse("web:contact_list", args=[salon.pk])
    web.post(reverse("web:contact_list", args=[salon.pk]),
             {"action": "add", "numbers": "06 12 34 56 78\n0780000009\nnope"})
    assert [c.mobile for c in salon.contacts.all()] == ["+33612345678"]
    web.post(reverse("web:contact_list_remove", args=[salon.pk, seeded["zoe"].pk]))
    assert not salon.contacts.exists()
    web.post(reverse("web:contact_fields"), {"label": "Birthday", "key": "birthday",
                                             "type": "date", "choices": ""})
    assert CustomField.objects.filter(key="birthday", type="date").exists()
    bad = web.post(reverse("web:contact_fields"), {"label": "X", "key": "mobile",
                                                   "type": "text"})
    assert "built-in field name" in bad.content.decode()


def test_duplicates_page_merges(web, account, seeded):
    html = web.get(reverse("web:contact_duplicates")).content.decode()
    assert "+33612345678" in html
    assert "Twin" in html
    web.post(reverse("web:contact_duplicates"))
    assert Contact.objects.filter(account=account).count() == 1


def test_import_through_the_pages_with_progress(web, account, seeded):
    data = csv_bytes([["Prénom", "Nom", "Portable"], ["Zoé", "Martin", "06 12 34 56 78"],
                      ["Léa", "Roux", "0780000002"], ["Bad", "Row", "123"]], delimiter=";",
                     encoding="cp1252")
    response = web.post(reverse("web:contact_imports"), {
        "file": SimpleUploadedFile("contacts.csv", data), "duplicates": "merge",
        "target_list": str(seeded["vip"].pk)})
    imp = ContactImport.objects.get()
    assert response["Location"] == reverse("web:contact_import", args=[imp.pk])

    page = web.get(reverse("web:contact_import", args=[imp.pk])).content.decode()
    assert 'name="column_2"' in page
    assert "Already a contact" in page
    assert "Not a valid phone number." in page
    # Change the mapping: ignore the last name column.
    response = web.post(reverse("web:contact_import", args=[imp.pk]), {
        "column_0": "first_name", "column_1": "", "column_2": "mobile", "has_header": "on",
        "duplicates": "merge", "target_list": str(seeded["vip"].pk), "action": "start"})
    assert response.status_code == 302
    imp.refresh_from_db()
    assert (imp.status, imp.mapping) == ("queued", ["first_name", "", "mobile"])

    partial = web.get(reverse("web:contact_import_progress", args=[imp.pk]), headers=HTMX)
    html = partial.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert "<progress" in html

    while jobs_run_due(worker="web-test"):
        pass
    partial = web.get(reverse("web:contact_import_progress", args=[imp.pk]), headers=HTMX)
    html = partial.content.decode()
    assert "hx-trigger" not in html  # over: polling stops
    assert 'data-count="created">1<' in html
    assert 'data-count="updated">1<' in html
    assert 'data-count="errors">1' in html
    errors = web.get(reverse("web:contact_import_errors", args=[imp.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(errors.streaming_content).decode())))
    assert rows[0] == ["line", "error", "Prénom", "Nom", "Portable"]
    assert rows[1][0] == "4"
    zoe = Contact.objects.get(mobile="+33612345678")
    assert (zoe.first_name, zoe.last_name) == ("Zoé", "Lefèvre")  # merged, name column ignored
    assert ContactList.objects.get(name="VIP").contacts.count() == 2


def test_import_upload_errors_stay_on_the_form(web):
    response = web.post(reverse("web:contact_imports"), {
        "file": SimpleUploadedFile("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1..."),
        "duplicates": "merge"})
    assert response.status_code == 200
    assert "save the file as .xlsx or CSV" in response.content.decode()
    assert not ContactImport.objects.exists()


def test_cancel_an_import(web, actor):
    from chappe.contacts.services import contact_import_start

    imp = contact_import_create(actor=actor, account=actor.account, file_name="c.csv",
                                data=csv_bytes([["mobile"], ["0612345678"]]))
    contact_import_start(actor=actor, contact_import=imp)
    web.post(reverse("web:contact_import_cancel", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == "canceled"


def test_red_list_pages(web, account, seeded):
    web.post(reverse("web:red_list"), {"action": "add", "number": "0780000003",
                                       "note": "asked at the desk"})
    entry = OptOut.objects.get(number="+33780000003")
    assert (entry.source, entry.note) == ("manual", "asked at the desk")
    web.post(reverse("web:red_list"), {"action": "import", "file": SimpleUploadedFile(
        "stop.csv", b"0780000004\n0780000005\n")})
    assert OptOut.objects.filter(source="import").count() == 2
    html = web.get(reverse("web:red_list"), {"q": "0780000003"}).content.decode()
    assert "+33780000003" in html
    assert "+33780000004" not in html

    url = reverse("web:opt_out_remove", args=[entry.pk])
    refused = web.post(url, {"reason": ""})
    assert refused.status_code == 200
    assert not refused.context["form"].is_valid()
    web.post(url, {"reason": "Signed up again"})
    assert not OptOut.objects.filter(pk=entry.pk).exists()
    assert AuditEntry.objects.get(action="opt_out.remove").details["reason"] == "Signed up again"
    export = web.get(reverse("web:red_list_export"))
    assert b"+33780000004" in b"".join(export.streaming_content)


def test_red_list_policy_page(web, account, admin):
    response = web.post(reverse("web:red_list_policy"), {"self_managed": "on",
                                                         "statement": "short"})
    assert "at least 20 characters" in response.content.decode()
    web.post(reverse("web:red_list_policy"), {
        "self_managed": "on",
        "statement": "Acme manages its red list itself and takes responsibility."})
    html = web.get(reverse("web:red_list")).content.decode()
    assert "manages this red list itself" in html
    assert admin.email in html


def test_recipient_page_show_export_erase(web, account, seeded):
    show = web.post(reverse("web:recipient"), {"action": "show", "number": "06 12 34 56 78"})
    html = show.content.decode()
    assert "+33612345678" in html
    assert "Lefèvre" in html
    assert "erase-form" in html
    export = web.post(reverse("web:recipient"), {"action": "export", "number": "+33612345678"})
    assert export["Content-Disposition"].startswith("attachment")
    document = json.loads(export.content)
    assert sorted(c["first_name"] for c in document["contacts"]) == ["Twin", "Zoé"]
    assert {c["mobile"] for c in document["contacts"]} <= {"+33612345678", "06 12 34 56 78"}
    not_confirmed = web.post(reverse("web:recipient"), {"action": "erase",
                                                        "number": "+33612345678"})
    assert not_confirmed.status_code == 200
    assert Contact.objects.filter(mobile="+33612345678").exists()
    done = web.post(reverse("web:recipient"), {"action": "erase", "number": "+33612345678",
                                               "confirm": "on", "keep_opt_out": "on"})
    assert done.status_code == 302
    assert not Contact.objects.filter(account=account, first_name__in=["Zoé", "Twin"]).exists()
    assert not Contact.objects.filter(account=account, mobile="+33612345678").exists()
    assert "+33612345678" not in done.url  # the number never goes in a URL
    again = web.post(reverse("web:recipient"), {"action": "show", "number": "+33612345678"})
    assert "Lefèvre" not in again.content.decode()


def test_recipient_erase_is_refused_to_a_messaging_user(account, make_user, seeded):
    messaging = client_for(make_user(account, role=Role.MESSAGING_USER))
    html = messaging.post(reverse("web:recipient"), {"number": "0612345678"}).content.decode()
    assert "Lefèvre" in html
    assert "erase-form" not in html
    response = messaging.post(reverse("web:recipient"), {"action": "erase",
                                                         "number": "0612345678",
                                                         "confirm": "on"})
    assert response.status_code == 403


def test_pages_in_french(web, seeded):
    from django.conf import settings

    web.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = web.get(reverse("web:red_list")).content.decode()
    assert "Liste rouge" in html
    assert "La plateforme gère cette liste rouge." in html
    html = web.get(reverse("web:contact_imports")).content.decode()
    assert "Importer des contacts" in html
    assert "Fusionner avec le contact existant" in html
