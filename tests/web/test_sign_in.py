"""Logins are throttled (django-axes) on the web app and the back-office, and every
login, failed login, password change and reset is in the audit trail (P-13)."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from chappe.accounts.models import User
from chappe.audit.models import AuditEntry

PASSWORD = "correct-horse-battery-9"


def _login(client: Client, email: str, password: str, *, path: str = "/login/", ip="10.1.1.1"):
    return client.post(path, {"username": email, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_sixty_wrong_passwords_lock_the_right_one_out(admin, path):
    if path.startswith("/admin/"):
        admin.is_staff = True
        admin.save()
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, admin.email, "wrong", path=path).status_code == 200
    for n in range(60 - settings.AXES_FAILURE_LIMIT + 1):
        # Changing the e-mail's case or padding it gets no fresh attempts.
        email = [admin.email, admin.email.upper(), f" {admin.email} "][n % 3]
        assert _login(client, email, "wrong", path=path).status_code == 429
    locked = _login(client, admin.email, PASSWORD, path=path)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    if path == "/login/":
        assert "Too many failed logins" in locked.content.decode()
    # Another address is not locked out by this one's attempts.
    assert _login(Client(), admin.email, PASSWORD, path=path, ip="10.2.2.2").status_code == 302


def test_a_success_resets_the_count(admin):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, admin.email, "wrong")
    assert _login(client, admin.email, PASSWORD).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(Client(), admin.email, "wrong").status_code == 200
    assert _login(Client(), admin.email, PASSWORD).status_code == 302


def test_logins_and_failures_are_audited_with_where_from(admin, account):
    _login(Client(), admin.email, "wrong", ip="192.0.2.7")
    _login(Client(), "nobody@example.com", "wrong", ip="192.0.2.8")
    _login(Client(), admin.email, PASSWORD, ip="192.0.2.9")
    failed = AuditEntry.objects.get(action="user.login_failed", account=account)
    assert (failed.ip, failed.details["email"], failed.target_id) == (
        "192.0.2.7", admin.email, str(admin.pk))
    assert "wrong" not in str(failed.details)
    stranger = AuditEntry.objects.get(action="user.login_failed", account=None)
    assert stranger.details["email"] == "nobody@example.com"
    login = AuditEntry.objects.get(action="user.login")
    assert (login.account, login.actor_label, login.ip) == (account, admin.email, "192.0.2.9")


def test_a_password_reset_is_audited(client, admin, account):
    client.post(reverse("web:password_reset"), {"email": admin.email})
    link = re.search(re.escape(settings.PUBLIC_URL) + r"(/password-reset/\S+/\S+/)",
                     mail.outbox[0].body).group(1)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": "Brand-new-passphrase-7",
                          "new_password2": "Brand-new-passphrase-7"}, REMOTE_ADDR="198.51.100.4")
    entry = AuditEntry.objects.get(action="user.password_reset")
    assert (entry.account, entry.target_id, entry.ip) == (account, str(admin.pk), "198.51.100.4")
    admin.refresh_from_db()
    assert admin.check_password("Brand-new-passphrase-7")


def test_back_office_password_changes_are_audited(admin, account, db):
    operator = User.objects.create_superuser("ops@chappe.example", PASSWORD)
    client = Client()
    client.force_login(operator)
    response = client.post(f"/admin/accounts/user/{admin.pk}/password/",
                           {"password1": "Operator-set-pass-42", "password2":
                            "Operator-set-pass-42", "usable_password": "true"},
                           REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.check_password("Operator-set-pass-42")
    entry = AuditEntry.objects.get(action="user.password_change", target_id=str(admin.pk))
    assert (entry.account, entry.actor_label, entry.ip, entry.details["by_operator"]) == (
        account, operator.email, "203.0.113.5", True)

    own = client.post("/admin/password_change/", {
        "old_password": PASSWORD, "new_password1": "Operator-own-pass-43",
        "new_password2": "Operator-own-pass-43"}, REMOTE_ADDR="203.0.113.6")
    assert own.status_code == 302
    entry = AuditEntry.objects.get(action="user.password_change", target_id=str(operator.pk))
    assert (entry.account, entry.ip, entry.details["by_operator"]) == (None, "203.0.113.6", False)
