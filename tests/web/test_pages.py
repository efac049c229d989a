"""The client web app: pages, permissions, forms through the services, tenancy, i18n."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import (
    ApiKey,
    Invitation,
    ServiceKind,
    SuspensionReason,
    User,
)
from chappe.accounts.roles import Role
from chappe.accounts.selectors import service_get
from chappe.accounts.services import (
    account_create,
    account_suspend,
    api_key_create,
    service_suspend,
    user_invite,
)
from chappe.audit.models import AuditEntry
from chappe.audit.services import audit_record
from tests.web.support import client_for

PAGES = ["web:home", "web:account_edit", "web:subaccounts", "web:users", "web:api_keys",
         "web:audit"]
HTMX = {"HX-Request": "true"}


def actor_of(user: User) -> Actor:
    return Actor(account=user.account, user=user)


# --- access -------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_for_an_administrator(web, account, name):
    response = web.get(reverse(name))
    assert response.status_code == 200
    assert account.name in response.content.decode()


@pytest.mark.parametrize("name", PAGES)
def test_pages_need_login(client, db, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_operator_staff_without_account_goes_to_the_back_office(db):
    staff = User.objects.create_user("ops@chappe.example", "correct-horse-battery-9",
                                     is_staff=True)
    response = client_for(staff).get(reverse("web:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_login_page_and_login(client, admin):
    page = client.get(reverse("web:login"))
    assert page.status_code == 200
    assert reverse("web:password_reset") in page.content.decode()
    response = client.post(reverse("web:login"),
                           {"username": admin.email, "password": "correct-horse-battery-9"})
    assert response.status_code == 302
    assert client.get(reverse("web:home")).status_code == 200
    bad = Client().post(reverse("web:login"), {"username": admin.email, "password": "nope"})
    assert bad.status_code == 200
    assert "Wrong e-mail address or password." in bad.content.decode()


def test_logout(web):
    response = web.post(reverse("web:logout"))
    assert response.status_code == 302
    assert web.get(reverse("web:home")).status_code == 302


@pytest.mark.parametrize("name", ["web:api_keys", "web:users", "web:subaccounts", "web:audit",
                                  "web:account_edit"])
def test_an_agent_is_refused_management_pages(account, make_user, name):
    agent = client_for(make_user(account, role=Role.AGENT))
    response = agent.get(reverse(name))
    assert response.status_code == 403
    assert "Access denied" in response.content.decode()


def test_an_agent_sees_only_the_menu_entries_of_its_role(account, make_user):
    agent = client_for(make_user(account, role=Role.AGENT))
    html = agent.get(reverse("web:home")).content.decode()
    for name in ("web:api_keys", "web:users", "web:subaccounts", "web:audit"):
        assert f'href="{reverse(name)}"' not in html
    assert reverse("web:account_edit") not in html


def test_an_administrator_sees_every_menu_entry(web):
    html = web.get(reverse("web:home")).content.decode()
    for name in ("web:api_keys", "web:users", "web:subaccounts", "web:audit"):
        assert f'href="{reverse(name)}"' in html


def test_an_agent_cannot_post_to_management_actions(account, make_user, admin):
    agent = client_for(make_user(account, role=Role.AGENT))
    key, _raw = api_key_create(actor=actor_of(admin), account=account, name="ci")
    assert agent.post(reverse("web:api_keys"), {"name": "x", "role": "agent"}).status_code == 403
    assert agent.post(reverse("web:api_key_revoke", args=[key.pk])).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    assert not ApiKey.objects.filter(name="x").exists()


def test_a_supervisor_sees_users_but_cannot_manage_them(account, make_user, admin):
    supervisor = client_for(make_user(account, role=Role.SUPERVISOR))
    response = supervisor.get(reverse("web:users"))
    assert response.status_code == 200
    html = response.content.decode()
    assert admin.email in html
    assert "Invite a user" not in html
    assert reverse("web:user_role", args=[admin.pk]) not in html
    refused = supervisor.post(reverse("web:users"), {"email": "x@acme.example", "role": "agent"})
    assert refused.status_code == 403
    assert not Invitation.objects.exists()


# --- account home and details --------------------------------------------------------


def test_home_shows_services_and_suspension_reasons(web, account):
    service = service_get(account=account, kind=ServiceKind.CONTACT_CENTER)
    service_suspend(actor=SYSTEM, service=service, reason=SuspensionReason.NON_PAYMENT,
                    note="Invoice 2024-001 unpaid")
    html = web.get(reverse("web:home")).content.decode()
    assert "Business messaging" in html
    assert "Cloud contact center" in html
    assert "Suspended because: Non-payment." in html
    assert "Invoice 2024-001 unpaid" in html
    assert "The Cloud contact center service is suspended: Non-payment." in html


def test_home_explains_an_account_suspension(web, account):
    account_suspend(actor=SYSTEM, account=account, reason=SuspensionReason.DOCUMENTS_REQUIRED,
                    note="Kbis extract")
    html = web.get(reverse("web:home")).content.decode()
    assert "Account status: Suspended" in html
    assert "Reason: Supporting documents required." in html
    assert "Kbis extract" in html
    assert "The account is suspended: Supporting documents required." in html


def test_account_edit_shows_service_errors_per_field(web, account):
    data = {"name": "Acme SA", "siret": "12345678901234", "country": "FR",
            "default_country": "FR", "timezone": "Mars/Olympus"}
    response = web.post(reverse("web:account_edit"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "A SIRET is 14 digits with a valid check digit." in html
    assert "Enter an IANA time zone, e.g. Europe/Paris." in html
    account.refresh_from_db()
    assert account.name == "Acme"


def test_account_edit_saves_through_the_service(web, account, admin):
    data = {"name": "Acme SA", "siret": "73282932000074", "country": "FR",
            "default_country": "FR", "timezone": "Europe/Paris", "city": "Lyon"}
    response = web.post(reverse("web:account_edit"), data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("web:home")
    assert "The company details were saved." in response.content.decode()
    account.refresh_from_db()
    assert (account.name, account.city, account.siret) == ("Acme SA", "Lyon", "73282932000074")
    entry = AuditEntry.objects.get(account=account, action="account.update")
    assert entry.actor_user == admin


# --- sub-accounts --------------------------------------------------------------------


def test_create_and_terminate_a_subaccount(web, account):
    response = web.post(reverse("web:subaccounts"), {"name": "Acme Lyon", "city": "Lyon"},
                        follow=True)
    assert "Acme Lyon" in response.content.decode()
    sub = account.children.get()
    assert sub.city == "Lyon"
    assert sub.timezone == account.timezone  # inherited, not blanked
    assert sub.services.count() == 2

    url = reverse("web:subaccount_terminate", args=[sub.pk])
    confirm = web.get(url)
    assert confirm.status_code == 200
    assert "Please confirm" in confirm.content.decode()
    sub.refresh_from_db()
    assert sub.status == "active"

    web.post(url)
    sub.refresh_from_db()
    assert sub.status == "terminated"
    assert AuditEntry.objects.filter(action="account.terminate", target_id=str(sub.pk)).exists()


def test_subaccount_refused_while_the_account_is_suspended(web, account):
    account_suspend(actor=SYSTEM, account=account, reason=SuspensionReason.NON_PAYMENT)
    response = web.post(reverse("web:subaccounts"), {"name": "Acme Nice"})
    assert response.status_code == 200
    assert "The parent account is not active." in response.content.decode()
    assert not account.children.exists()


def test_subaccount_form_needs_a_name(web, account):
    response = web.post(reverse("web:subaccounts"), {"name": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not account.children.exists()


# --- users and invitations -----------------------------------------------------------


def test_invite_a_user(web, account):
    response = web.post(reverse("web:users"), {"email": "New@Acme.example", "role": "agent"},
                        follow=True)
    assert "An invitation was sent to new@acme.example." in response.content.decode()
    invitation = Invitation.objects.get(account=account)
    assert (invitation.email, invitation.role) == ("new@acme.example", "agent")
    assert "new@acme.example" in response.content.decode()  # in the pending list

    again = web.post(reverse("web:users"), {"email": "new@acme.example", "role": "agent"})
    assert "An invitation to this e-mail is already pending." in again.content.decode()


def test_last_administrator_conflict_is_shown(web, admin):
    response = web.post(reverse("web:user_role", args=[admin.pk]), {"role": "agent"},
                        follow=True)
    assert "An account must keep at least one active administrator." in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == Role.ADMINISTRATOR


def test_change_role_and_deactivate(web, account, make_user):
    other = make_user(account, role=Role.AGENT)
    web.post(reverse("web:user_role", args=[other.pk]), {"role": "supervisor"})
    other.refresh_from_db()
    assert other.role == Role.SUPERVISOR

    row = web.post(reverse("web:user_deactivate", args=[other.pk]), headers=HTMX)
    assert row.status_code == 200
    assert row.content.decode().lstrip().startswith("<tr")
    assert "Deactivated" in row.content.decode()
    other.refresh_from_db()
    assert other.is_active is False

    web.post(reverse("web:user_reactivate", args=[other.pk]))
    other.refresh_from_db()
    assert other.is_active is True


def test_revoke_an_invitation(web, account, admin):
    invitation, _token = user_invite(actor=actor_of(admin), account=account,
                                     email="bob@acme.example", role="agent")
    url = reverse("web:invitation_revoke", args=[invitation.pk])
    row = web.post(url, headers=HTMX)
    assert row.status_code == 200
    assert "Revoked" in row.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    # Revoking twice: the service's conflict is shown after a reload.
    again = web.post(url, headers=HTMX)
    assert again["HX-Refresh"] == "true"
    assert "This invitation is no longer pending." in web.get(reverse("web:users")).content.decode()


# --- invitation acceptance -----------------------------------------------------------


@pytest.fixture
def invitation_token(account, admin) -> str:
    _invitation, token = user_invite(actor=actor_of(admin), account=account,
                                     email="carol@acme.example", role=Role.MESSAGING_USER)
    return token


def test_invitation_page_shows_the_invitation(client, invitation_token, account):
    response = client.get(reverse("web:invitation_accept", args=[invitation_token]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "carol@acme.example" in html
    assert account.name in html


def test_invitation_rejects_a_weak_password(client, invitation_token):
    url = reverse("web:invitation_accept", args=[invitation_token])
    data = {"first_name": "Carol", "last_name": "Smith", "password": "123",
            "password_confirm": "123"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "This password is too short." in response.content.decode()
    assert not User.objects.filter(email="carol@acme.example").exists()


def test_invitation_rejects_mismatched_passwords(client, invitation_token):
    url = reverse("web:invitation_accept", args=[invitation_token])
    data = {"first_name": "Carol", "last_name": "Smith", "password": "Sturdy-passphrase-42",
            "password_confirm": "Sturdy-passphrase-43"}
    response = client.post(url, data)
    assert "The two passwords do not match." in response.content.decode()
    assert not User.objects.filter(email="carol@acme.example").exists()


def test_invitation_acceptance_creates_the_user_and_logs_in(client, invitation_token, account):
    url = reverse("web:invitation_accept", args=[invitation_token])
    data = {"first_name": "Carol", "last_name": "Smith", "password": "Sturdy-passphrase-42",
            "password_confirm": "Sturdy-passphrase-42"}
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    user = User.objects.get(email="carol@acme.example")
    assert (user.account, user.role, user.first_name) == (account, Role.MESSAGING_USER, "Carol")
    assert user.check_password("Sturdy-passphrase-42")
    home = client.get(reverse("web:home"))
    assert home.status_code == 200
    assert "You have joined Acme." in home.content.decode()
    # The link works once.
    assert client.get(url).status_code == 404


def test_unknown_invitation_token(client, db):
    response = client.get(reverse("web:invitation_accept", args=["not-a-token"]))
    assert response.status_code == 404
    assert "Invitation unavailable" in response.content.decode()


# --- API keys ------------------------------------------------------------------------


def test_create_an_api_key_shows_the_secret_once_and_audits(web, account, admin):
    response = web.post(reverse("web:api_keys"), {"name": "CRM", "role": "messaging_user"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    key = ApiKey.objects.get(account=account, name="CRM")
    secret = re.search(r'value="(chp_[0-9a-f]{12}_[^"]+)"', html).group(1)
    assert secret.startswith(key.prefix)
    assert "it is shown only once" in html
    assert key.role == Role.MESSAGING_USER

    entry = AuditEntry.objects.get(account=account, action="api_key.create")
    assert entry.actor_user == admin
    assert entry.details["prefix"] == key.prefix

    listing = web.get(reverse("web:api_keys")).content.decode()
    assert key.prefix in listing
    assert secret not in listing


def test_api_key_form_validation(web, account):
    response = web.post(reverse("web:api_keys"), {"name": "", "role": "emperor"})
    html = response.content.decode()
    assert "This field is required." in html
    assert "Select a valid choice." in html
    assert not ApiKey.objects.filter(account=account).exists()


def test_revoke_an_api_key_with_confirmation(web, account, admin):
    key, _raw = api_key_create(actor=actor_of(admin), account=account, name="old")
    url = reverse("web:api_key_revoke", args=[key.pk])
    confirm = web.get(url)
    assert confirm.status_code == 200
    assert key.prefix in confirm.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None

    response = web.post(url, follow=True)
    assert "The API key “old” was revoked." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    entry = AuditEntry.objects.get(account=account, action="api_key.revoke")
    assert entry.actor_user == admin
    assert entry.ip == "127.0.0.1"


def test_revoke_an_api_key_with_htmx_answers_the_row(web, account, admin):
    key, _raw = api_key_create(actor=actor_of(admin), account=account, name="old")
    response = web.post(reverse("web:api_key_revoke", args=[key.pk]), headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="key-{key.pk}"')
    assert "Revoked" in html
    assert AuditEntry.objects.filter(account=account, action="api_key.revoke").count() == 1


# --- tenancy -------------------------------------------------------------------------


def test_another_accounts_objects_answer_404(web, other_account, make_user):
    other_admin = make_user(other_account)
    other_actor = actor_of(other_admin)
    key, _raw = api_key_create(actor=other_actor, account=other_account, name="theirs")
    invitation, _token = user_invite(actor=other_actor, account=other_account,
                                     email="dave@globex.example", role="agent")
    sub = account_create(actor=other_actor, parent=other_account, name="Globex East")

    for url in (
        reverse("web:api_key_revoke", args=[key.pk]),
        reverse("web:user_deactivate", args=[other_admin.pk]),
        reverse("web:user_role", args=[other_admin.pk]),
        reverse("web:user_reactivate", args=[other_admin.pk]),
        reverse("web:invitation_revoke", args=[invitation.pk]),
        reverse("web:subaccount_terminate", args=[sub.pk]),
    ):
        assert web.post(url, {"role": "agent"}).status_code == 404, url
    assert web.get(reverse("web:api_key_revoke", args=[key.pk])).status_code == 404

    key.refresh_from_db()
    invitation.refresh_from_db()
    other_admin.refresh_from_db()
    sub.refresh_from_db()
    assert key.revoked_at is None
    assert invitation.revoked_at is None
    assert other_admin.is_active
    assert other_admin.role == Role.ADMINISTRATOR
    assert sub.status == "active"


def test_lists_show_only_the_accounts_own_objects(web, other_account, make_user):
    other_admin = make_user(other_account, email="boss@globex.example")
    other_actor = actor_of(other_admin)
    key, _raw = api_key_create(actor=other_actor, account=other_account, name="theirs")
    account_create(actor=other_actor, parent=other_account, name="Globex East")
    user_invite(actor=other_actor, account=other_account, email="dave@globex.example",
                role="agent")
    pages = "".join(web.get(reverse(name)).content.decode() for name in PAGES)
    for secret in (key.prefix, "Globex", "boss@globex.example", "dave@globex.example"):
        assert secret not in pages


# --- audit log -----------------------------------------------------------------------


def test_audit_log_paginates_and_filters(web, account, admin):
    actor = actor_of(admin)
    for index in range(55):
        audit_record(actor=actor, action="api_key.create", target=None,
                     details={"n": index})
    for _ in range(3):
        audit_record(actor=actor, action="user.update")

    first = web.get(reverse("web:audit"))
    assert first.status_code == 200
    assert len(first.context["rows"]) == 50
    assert first.context["page"].paginator.num_pages == 2
    assert "Page 1 of 2" in first.content.decode()
    second = web.get(reverse("web:audit"), {"page": 2})
    assert len(second.context["rows"]) == AuditEntry.objects.filter(account=account).count() - 50

    filtered = web.get(reverse("web:audit"), {"action": "user.up"})
    assert {row[0].action for row in filtered.context["rows"]} == {"user.update"}
    assert len(filtered.context["rows"]) == 3
    # The filter is kept in the pagination links.
    paged = web.get(reverse("web:audit"), {"action": "api_key"}).content.decode()
    assert "?action=api_key&amp;page=2" in paged


# --- password reset ------------------------------------------------------------------


def test_password_reset_flow(client, admin):
    response = client.post(reverse("web:password_reset"), {"email": admin.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:password_reset_done")
    assert client.get(response["Location"]).status_code == 200
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = re.search(re.escape(settings.PUBLIC_URL) + r"(/password-reset/\S+/\S+/)", body)
    assert link, body

    page = client.get(link.group(1), follow=True)
    assert page.status_code == 200
    set_url = page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "Brand-new-passphrase-7",
                                 "new_password2": "Brand-new-passphrase-7"})
    assert done.status_code == 302
    assert done["Location"] == reverse("web:password_reset_complete")
    admin.refresh_from_db()
    assert admin.check_password("Brand-new-passphrase-7")


def test_password_reset_for_an_unknown_address_sends_nothing(client, db):
    response = client.post(reverse("web:password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


# --- French --------------------------------------------------------------------------


def test_french_with_accept_language(web):
    html = web.get(reverse("web:api_keys"), headers={"Accept-Language": "fr"}).content.decode()
    assert '<html lang="fr">' in html
    assert "Clés d\u2019API" in html  # typographic apostrophe
    assert "Déconnexion" in html


def test_french_service_messages(web, admin):
    response = web.post(reverse("web:user_role", args=[admin.pk]), {"role": "agent"},
                        headers={"Accept-Language": "fr"}, follow=True)
    assert "Un compte doit garder au moins un administrateur actif." in (
        response.content.decode()
    )


def test_french_via_the_language_switcher(web):
    response = web.post(reverse("set_language"), {"language": "fr", "next": "/users/"})
    assert response.status_code == 302
    assert response["Location"] == "/users/"
    html = web.get("/users/").content.decode()
    assert '<html lang="fr">' in html
    assert "Utilisateurs" in html
    back = web.post(reverse("set_language"), {"language": "en", "next": "/users/"})
    assert back.status_code == 302
    assert '<html lang="en">' in web.get("/users/").content.decode()


@pytest.mark.parametrize("name", ["web:sms_history", "web:contacts", "web:audit",
                                  "web:red_list"])
def test_a_nul_character_in_a_filter_is_a_400_not_a_database_error(web, name):
    response = web.get(reverse(name), {"q": "a\x00b", "search": "a\x00b", "action": "a\x00"})
    assert response.status_code == 400
    assert web.post(reverse("web:account_edit"), {"name": "Acme\x00"}).status_code == 400


def test_english_dates_are_written_day_first(db):
    from datetime import date

    from django.utils import formats, translation

    with translation.override("en"):
        assert formats.date_format(date(2026, 12, 7), "SHORT_DATE_FORMAT") == "07/12/2026"
        assert formats.date_format(date(2026, 12, 7)) == "7 Dec 2026"
    with translation.override("fr"):
        assert formats.date_format(date(2026, 12, 7), "SHORT_DATE_FORMAT") == "07/12/2026"
