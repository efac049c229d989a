"""SMPP credentials in the web app (M-17): create, change, delete; administrators only;
another account's credentials are a 404; French."""

import pytest
from django.urls import reverse

from chappe.accounts.actor import SYSTEM
from chappe.accounts.roles import Role
from chappe.smpp_server.models import SmppAccount
from chappe.smpp_server.services import smpp_account_create
from tests.web.support import client_for


def create(web, **fields):
    data = {"system_id": "acme_bulk", "password": "s3cret", "allowed_ips": "",
            "max_binds": 2, "max_msg_per_s": 50, "default_sender": "Acme", **fields}
    return web.post(reverse("web:smpp"), data)


def test_page_shows_where_to_bind(web, settings):
    settings.CHAPPE_SMPP_PORT = 2776
    settings.PUBLIC_URL = "https://chappe.example.com"
    html = web.get(reverse("web:smpp")).content.decode()
    assert '<code id="smpp-host">chappe.example.com</code>' in html
    assert '<code id="smpp-port">2776</code>' in html


def test_create_then_list_without_the_password(web, account):
    response = create(web, allowed_ips="203.0.113.0/24\n198.51.100.7")
    assert response.status_code == 302
    smpp = SmppAccount.objects.get(account=account)
    assert smpp.system_id == "acme_bulk"
    assert smpp.check_password("s3cret")
    assert smpp.allowed_ips == ["203.0.113.0/24", "198.51.100.7"]
    assert (smpp.max_binds, smpp.max_msg_per_s, smpp.default_sender) == (2, 50, "Acme")
    html = web.get(reverse("web:smpp")).content.decode()
    assert "acme_bulk" in html
    assert "s3cret" not in html
    assert smpp.password_hash not in html  # not even the hash


@pytest.mark.parametrize(("fields", "field", "fragment"), [
    ({"password": "too-long-pw"}, "password", "at most 8"),
    ({"system_id": "no spaces"}, "system_id", "15 letters"),
    ({"allowed_ips": "not-an-ip"}, "allowed_ips", "not-an-ip"),
    ({"max_binds": 99}, "max_binds", "Between 1 and"),
])
def test_bad_input_is_shown_on_its_field(web, account, fields, field, fragment):
    response = create(web, **fields)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert fragment.lower() in errors.lower()
    assert not SmppAccount.objects.filter(account=account).exists()


def test_a_taken_system_id_is_refused(web, account, other_account):
    smpp_account_create(actor=SYSTEM.on(other_account), account=other_account,
                        system_id="acme_bulk", password="x")
    response = create(web)
    assert response.status_code == 200
    assert "taken" in " ".join(response.context["form"].non_field_errors())


def test_edit_keeps_the_password_unless_given(web, account):
    create(web)
    smpp = SmppAccount.objects.get(account=account)
    url = reverse("web:smpp_edit", args=[smpp.pk])
    assert web.get(url).context["form"].initial["max_binds"] == 2
    web.post(url, {"password": "", "allowed_ips": "", "max_binds": 3, "max_msg_per_s": 10,
                   "default_sender": ""})
    smpp.refresh_from_db()
    assert (smpp.max_binds, smpp.max_msg_per_s) == (3, 10)
    assert smpp.check_password("s3cret")
    web.post(url, {"password": "n3w", "allowed_ips": "", "max_binds": 3, "max_msg_per_s": 10,
                   "default_sender": ""})
    smpp.refresh_from_db()
    assert smpp.check_password("n3w")


def test_delete_disables_and_frees_the_system_id(web, account):
    create(web)
    smpp = SmppAccount.objects.get(account=account)
    url = reverse("web:smpp_delete", args=[smpp.pk])
    assert web.get(url).status_code == 200  # the confirmation page
    assert web.post(url).status_code == 302
    smpp.refresh_from_db()
    assert not smpp.enabled
    assert 'id="smpp-' + str(smpp.pk) not in web.get(reverse("web:smpp")).content.decode()
    assert create(web).status_code == 302  # the system_id can be used again


def test_other_accounts_credentials_are_not_found(web, other_account):
    theirs = smpp_account_create(actor=SYSTEM.on(other_account), account=other_account,
                                 system_id="globex", password="x")
    for name in ("web:smpp_edit", "web:smpp_delete"):
        assert web.get(reverse(name, args=[theirs.pk])).status_code == 404
        assert web.post(reverse(name, args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.enabled


def test_an_agent_is_refused(account, make_user):
    agent = client_for(make_user(account, role=Role.AGENT))
    assert agent.get(reverse("web:smpp")).status_code == 403
    assert agent.post(reverse("web:smpp"), {"system_id": "x", "password": "y",
                                            "max_binds": 1, "max_msg_per_s": 1}).status_code == 403
    assert not SmppAccount.objects.exists()


def test_french(web):
    html = web.get(reverse("web:smpp"), headers={"accept-language": "fr"}).content.decode()
    assert "Accès SMPP" in html
