"""Users and invitations (P-3): e-mailed one-time invitations, strong passwords, roles,
and an account that always keeps an active administrator."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Invitation, User
from chappe.accounts.roles import Role
from chappe.accounts.services import (
    invitation_accept,
    invitation_find,
    invitation_token,
    user_invite,
)
from chappe.audit.models import AuditEntry
from chappe.common.errors import Conflict, ValidationFailed
from chappe.queue.jobs import jobs_run_due
from chappe.queue.models import Job, JobStatus

STRONG = "Tr0mbone-Vermilion-Quay"


def _invite(api, email="New.Person@Example.COM", role="supervisor"):
    response = api.post("/api/v1/invitations", {"email": email, "role": role})
    assert response.status_code == 201, response.content
    return response.json()


def _token_from_mail(message) -> str:
    match = re.search(re.escape(settings.PUBLIC_URL) + r"/invitations/([A-Za-z0-9_:-]+)/",
                      message.body)
    assert match, message.body
    return match.group(1)


def test_an_invitation_is_e_mailed_through_the_job_queue(api, account):
    body = _invite(api)
    assert (body["email"], body["role"], body["status"]) == (
        "new.person@example.com", "supervisor", "pending")
    job = Job.objects.get(name="accounts.send_invitation")
    assert job.unique_key == f"invitation:{body['id']}"
    assert set(job.payload) == {"invitation", "language"}  # no token stored in clear
    assert mail.outbox == []  # nothing leaves before a worker runs the job

    assert jobs_run_due(worker="test") == 1

    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.last_error
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    token = _token_from_mail(message)
    invitation = invitation_find(token=token)
    assert invitation is not None
    assert str(invitation.pk) == body["id"]
    entry = AuditEntry.objects.get(action="user.invite")
    assert entry.details == {"email": "new.person@example.com", "role": "supervisor"}
    assert entry.account_id == account.pk


def test_accepting_creates_the_user_with_the_role(api, account):
    body = _invite(api)
    jobs_run_due(worker="test")
    token = _token_from_mail(mail.outbox[0])

    user = invitation_accept(token=token, password=STRONG, first_name="Ada",
                             last_name="Lovelace", ip="192.0.2.8", user_agent="browser")

    user.refresh_from_db()
    assert (user.email, user.account_id, user.role, user.first_name) == (
        "new.person@example.com", account.pk, Role.SUPERVISOR, "Ada")
    assert user.is_active
    assert user.check_password(STRONG)
    assert Invitation.objects.get(pk=body["id"]).accepted_at is not None
    assert api.get(f"/api/v1/invitations/{body['id']}").json()["status"] == "accepted"
    entry = AuditEntry.objects.get(action="user.join")
    assert (entry.account_id, entry.actor_user_id, entry.ip, entry.user_agent) == (
        account.pk, user.pk, "192.0.2.8", "browser")
    assert str(user.pk) in api.get("/api/v1/users").content.decode()


@pytest.mark.parametrize(
    "password",
    ["short1!", "password1234", "12345678901234", "new.person@example.com",
     "newperson@example.com"],
    ids=["too-short", "common", "numeric", "the-e-mail", "like-the-e-mail"],
)
def test_weak_passwords_are_refused(account, password):
    _invitation, token = user_invite(actor=SYSTEM, account=account,
                                     email="new.person@example.com", role=Role.AGENT)
    with pytest.raises(ValidationFailed) as refused:
        invitation_accept(token=token, password=password, first_name="New", last_name="Person")
    assert refused.value.code == "validation_error"
    assert list(refused.value.details) == ["password"]
    assert refused.value.details["password"]
    assert not User.objects.filter(email="new.person@example.com").exists()
    assert invitation_find(token=token) is not None  # still usable with a good password


def test_a_token_is_single_use(account):
    _invitation, token = user_invite(actor=SYSTEM, account=account, email="a@example.com",
                                     role=Role.AGENT)
    invitation_accept(token=token, password=STRONG)
    with pytest.raises(ValidationFailed) as refused:
        invitation_accept(token=token, password=STRONG + "2")
    assert refused.value.code == "invitation_invalid"
    assert User.objects.filter(email="a@example.com").count() == 1
    assert User.objects.get(email="a@example.com").check_password(STRONG)


def test_an_expired_invitation_is_refused(account):
    invitation, token = user_invite(actor=SYSTEM, account=account, email="late@example.com",
                                    role=Role.AGENT)
    assert invitation.expires_at - timezone.now() > timedelta(days=6)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationFailed) as refused:
        invitation_accept(token=token, password=STRONG)
    assert refused.value.code == "invitation_invalid"
    assert not User.objects.filter(email="late@example.com").exists()


def test_a_revoked_invitation_is_refused_and_not_mailed(api, account):
    body = _invite(api, email="gone@example.com")
    token = invitation_token(Invitation.objects.get(pk=body["id"]))

    response = api.delete(f"/api/v1/invitations/{body['id']}")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert AuditEntry.objects.filter(action="invitation.revoke", target_id=body["id"]).exists()

    jobs_run_due(worker="test")
    assert mail.outbox == []
    with pytest.raises(ValidationFailed):
        invitation_accept(token=token, password=STRONG)
    assert api.delete(f"/api/v1/invitations/{body['id']}").status_code == 409


def test_unknown_tokens_are_refused(account):
    with pytest.raises(ValidationFailed) as refused:
        invitation_accept(token="not-a-token", password=STRONG)
    assert refused.value.code == "invitation_invalid"


def test_duplicate_invitations_and_existing_users_conflict(api, account, make_user):
    first = _invite(api, email="dup@example.com")
    response = api.post("/api/v1/invitations", {"email": "DUP@example.com", "role": "agent"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invitation_pending"

    # Once the first is revoked, the person can be invited again.
    assert api.delete(f"/api/v1/invitations/{first['id']}").status_code == 200
    _invite(api, email="dup@example.com")

    make_user(account, Role.AGENT, email="member@example.com")
    response = api.post("/api/v1/invitations", {"email": "member@example.com", "role": "agent"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "user_exists"
    assert Invitation.objects.filter(account=account).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "not-an-email", "role": "agent"}, "email"),
     ({"email": "ok@example.com", "role": "boss"}, "role"),
     ({"role": "agent"}, "email")],
)
def test_invitation_input_is_validated(api, body, field):
    response = api.post("/api/v1/invitations", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["details"]
    assert not Invitation.objects.exists()
    assert not Job.objects.exists()


def test_two_accounts_inviting_the_same_person(account, other_account):
    _i1, token1 = user_invite(actor=SYSTEM, account=account, email="p@example.com",
                              role=Role.AGENT)
    _i2, token2 = user_invite(actor=SYSTEM, account=other_account, email="p@example.com",
                              role=Role.AGENT)
    invitation_accept(token=token1, password=STRONG)
    with pytest.raises(Conflict) as conflict:
        invitation_accept(token=token2, password=STRONG)
    assert conflict.value.code == "user_exists"
    assert User.objects.get(email="p@example.com").account_id == account.pk


# --- users --------------------------------------------------------------------------------


def test_patch_a_users_role(api, account, make_user):
    agent = make_user(account, Role.AGENT)
    response = api.patch(f"/api/v1/users/{agent.pk}", {"role": "supervisor", "last_name": "X"})
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "supervisor"
    agent.refresh_from_db()
    assert (agent.role, agent.last_name) == (Role.SUPERVISOR, "X")
    entry = AuditEntry.objects.get(action="user.update", target_id=str(agent.pk))
    assert entry.details == {"role": "supervisor"}

    bad = api.patch(f"/api/v1/users/{agent.pk}", {"role": "owner"})
    assert bad.status_code == 400
    assert "role" in bad.json()["error"]["details"]


@pytest.mark.parametrize(
    ("method", "body"),
    [("patch", {"role": "agent"}), ("patch", {"is_active": False}), ("delete", None)],
    ids=["demote", "deactivate", "delete"],
)
def test_the_last_administrator_stays(api, account, make_user, method, body):
    admin = make_user(account, Role.ADMINISTRATOR)
    make_user(account, Role.ADMINISTRATOR, is_active=False)  # an inactive admin does not count

    response = api.request(method, f"/api/v1/users/{admin.pk}", body)

    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "last_administrator"
    admin.refresh_from_db()
    assert (admin.role, admin.is_active) == (Role.ADMINISTRATOR, True)


def test_an_administrator_can_go_when_another_remains(api, account, make_user):
    first = make_user(account, Role.ADMINISTRATOR)
    second = make_user(account, Role.ADMINISTRATOR)

    assert api.patch(f"/api/v1/users/{first.pk}", {"role": "agent"}).status_code == 200
    response = api.delete(f"/api/v1/users/{second.pk}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "last_administrator"

    second.refresh_from_db()
    assert second.is_active


def test_another_accounts_administrators_do_not_count(api, account, other_account, make_user):
    make_user(other_account, Role.ADMINISTRATOR)
    admin = make_user(account, Role.ADMINISTRATOR)
    response = api.patch(f"/api/v1/users/{admin.pk}", {"role": "agent"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "last_administrator"
