"""The operator back-office for messaging: protected sender names and authorisations
(M-2) change through their services, audited with the staff user; messages and replies
are read-only."""

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from chappe.accounts.models import User
from chappe.audit.models import AuditEntry
from chappe.messaging.models import ProtectedSender, SenderAuthorisation

OPERATOR_EMAIL = "ops@operator.example"


@pytest.fixture
def staff(db, settings, tmp_path) -> Client:
    settings.MEDIA_ROOT = tmp_path
    user = User.objects.create_superuser(OPERATOR_EMAIL, "correct-horse-battery-9")
    client = Client()
    client.force_login(user)
    return client


def test_every_messaging_screen_opens(staff):
    for model in admin.site._registry:
        if model._meta.app_label == "messaging":
            name = f"admin:messaging_{model._meta.model_name}_changelist"
            assert staff.get(reverse(name)).status_code == 200, name


def test_protected_names_change_through_the_services(staff):
    response = staff.post(reverse("admin:messaging_protectedsender_add"),
                          {"name": "La Poste", "level": "isa", "note": ""})
    assert response.status_code == 302, response.content[:2000]
    sender = ProtectedSender.objects.get()
    assert sender.key == "LAPOSTE"
    response = staff.post(reverse("admin:messaging_protectedsender_change", args=[sender.pk]),
                          {"name": "Ameli", "level": "si", "note": "CPAM"})
    assert response.status_code == 302, response.content[:2000]
    sender.refresh_from_db()
    assert (sender.name, sender.key, sender.level) == ("Ameli", "AMELI", "si")
    # The same name twice is refused with a message, not a server error.
    response = staff.post(reverse("admin:messaging_protectedsender_add"),
                          {"name": "AMELI", "level": "si", "note": ""}, follow=True)
    assert ProtectedSender.objects.count() == 1
    response = staff.post(reverse("admin:messaging_protectedsender_delete", args=[sender.pk]),
                          {"post": "yes"})
    assert response.status_code == 302
    assert not ProtectedSender.objects.exists()
    assert list(AuditEntry.objects.exclude(action="user.login").order_by("created_at").values_list(
        "action", "actor_label")) == [
        ("messaging.protected_sender.create", OPERATOR_EMAIL),
        ("messaging.protected_sender.update", OPERATOR_EMAIL),
        ("messaging.protected_sender.delete", OPERATOR_EMAIL)]


def test_authorisations_change_through_the_services(staff, account):
    response = staff.post(reverse("admin:messaging_senderauthorisation_add"), {
        "account": str(account.pk), "name": "LAPOSTE", "valid_until": "2030-12-31",
        "document": SimpleUploadedFile("letter.pdf", b"%PDF-1.4 scan")})
    assert response.status_code == 302, response.content[:2000]
    authorisation = SenderAuthorisation.objects.get()
    assert authorisation.recorded_by == OPERATOR_EMAIL
    assert authorisation.document.read() == b"%PDF-1.4 scan"
    response = staff.post(
        reverse("admin:messaging_senderauthorisation_change", args=[authorisation.pk]),
        {"account": str(account.pk), "name": "LAPOSTE", "valid_until": "2031-06-30",
         "document-clear": "on"})
    assert response.status_code == 302, response.content[:2000]
    authorisation.refresh_from_db()
    assert (str(authorisation.valid_until), authorisation.document.name) == ("2031-06-30", "")
    response = staff.post(reverse("admin:messaging_senderauthorisation_changelist"), {
        "action": "delete_selected", "_selected_action": [authorisation.pk], "post": "yes"})
    assert response.status_code == 302
    assert not SenderAuthorisation.objects.exists()
    entries = AuditEntry.objects.filter(account=account, action__startswith="messaging.") \
        .order_by("created_at")
    assert [(e.action, e.details.get("fields")) for e in entries] == [
        ("messaging.sender_authorisation.create", None),
        ("messaging.sender_authorisation.update", ["document", "valid_until"]),
        ("messaging.sender_authorisation.delete", None)]
