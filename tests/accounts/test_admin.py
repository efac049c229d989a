"""The operator back-office for accounts and users: every screen opens, nothing is
deleted there, and users are created, changed and given passwords by the services
(audited with the staff user; an account keeps an administrator)."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Invitation, User
from chappe.accounts.roles import Role
from chappe.accounts.services import api_key_create, user_invite
from chappe.audit.models import AuditEntry

OPERATOR_EMAIL = "ops@operator.example"
STRONG = "Tr0mbone-Vermilion-Quay"


@pytest.fixture
def staff(db) -> Client:
    user = User.objects.create_superuser(OPERATOR_EMAIL, "correct-horse-battery-9")
    client = Client()
    client.force_login(user)
    return client


def _user_form(user: User, **changes) -> dict:
    values = {"email": user.email, "first_name": user.first_name, "last_name": user.last_name,
              "language": user.language, "account": user.account_id or "", "role": user.role,
              "is_active": user.is_active, "is_staff": user.is_staff,
              "is_superuser": user.is_superuser, **changes}
    return {name: value for name, value in values.items() if value is not False}


def test_every_accounts_screen_opens_and_nothing_is_deleted_there(staff, account, make_user):
    user = make_user(account)
    api_key_create(actor=SYSTEM, account=account, name="ci")
    user_invite(actor=SYSTEM.on(account), account=account, email="new@acme.example",
                role=Role.SUPERVISOR)
    for model in admin.site._registry:
        if model._meta.app_label != "accounts":
            continue
        changelist = reverse(f"admin:accounts_{model._meta.model_name}_changelist")
        assert staff.get(changelist).status_code == 200, changelist
        first = model._default_manager.first()
        if first is not None:
            page = reverse(f"admin:accounts_{model._meta.model_name}_change", args=[first.pk])
            assert staff.get(page).status_code == 200, page
            delete = reverse(f"admin:accounts_{model._meta.model_name}_delete", args=[first.pk])
            assert staff.get(delete).status_code == 403, delete
    assert "key_hash" not in staff.get(reverse(
        "admin:accounts_apikey_change", args=[account.api_keys.get().pk])).content.decode()
    assert User.objects.filter(pk=user.pk).exists()


def test_users_are_created_changed_and_given_passwords_by_the_services(staff, account,
                                                                      make_user):
    response = staff.post(reverse("admin:accounts_user_add"), {
        "email": "Zoe@Acme.example", "account": str(account.pk), "role": Role.SUPERVISOR,
        "usable_password": "true", "password1": STRONG, "password2": STRONG})
    assert response.status_code == 302, response.content[:3000]
    zoe = User.objects.get(email="zoe@acme.example")
    assert (zoe.account, zoe.role, zoe.check_password(STRONG)) == (account, Role.SUPERVISOR,
                                                                    True)

    response = staff.post(reverse("admin:accounts_user_change", args=[zoe.pk]),
                          _user_form(zoe, role=Role.ADMINISTRATOR, first_name="Zoé"))
    assert response.status_code == 302, response.content[:3000]
    zoe.refresh_from_db()
    assert (zoe.role, zoe.first_name) == (Role.ADMINISTRATOR, "Zoé")

    new_password = "Quartz-Lantern-Harbour-7"
    response = staff.post(reverse("admin:auth_user_password_change", args=[zoe.pk]), {
        "usable_password": "true", "password1": new_password, "password2": new_password})
    assert response.status_code == 302, response.content[:3000]
    zoe.refresh_from_db()
    assert zoe.check_password(new_password)

    entries = AuditEntry.objects.filter(target_id=str(zoe.pk)).order_by("created_at")
    assert [(e.action, e.actor_label) for e in entries] == [
        ("user.create", OPERATOR_EMAIL), ("user.update", OPERATOR_EMAIL),
        ("user.password_change", OPERATOR_EMAIL)]
    assert entries[1].details == {"fields": ["first_name", "role"]}


def test_the_last_administrator_stays_one(staff, account, make_user):
    admin_user = make_user(account)
    response = staff.post(reverse("admin:accounts_user_change", args=[admin_user.pk]),
                          _user_form(admin_user, role=Role.SUPERVISOR))
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMINISTRATOR
    assert not AuditEntry.objects.filter(action="user.update").exists()


def test_invitations_are_revoked_by_the_service(staff, account):
    invitation, _token = user_invite(actor=SYSTEM.on(account), account=account,
                                     email="new@acme.example", role=Role.SUPERVISOR)
    response = staff.post(reverse("admin:accounts_invitation_changelist"), {
        "action": "revoke", "_selected_action": [str(invitation.pk)]})
    assert response.status_code == 302
    assert Invitation.objects.get().revoked_at is not None
    assert AuditEntry.objects.get(action="invitation.revoke").actor_label == OPERATOR_EMAIL


def test_the_back_office_names_read_right(staff):
    """Plural names Django would otherwise make up ("Replys", "Api keys"), in English and
    in French."""
    page = staff.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for name in ("Replies", "API keys", "SMPP accounts", "Unattributed replies"):
        assert f">{name}<" in page, name
    assert "Replys" not in page
    french = staff.get("/admin/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    for name in ("Réponses", "Clés d\u2019API", "Comptes SMPP"):
        assert f">{name}<" in french, name
