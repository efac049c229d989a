"""Support access (P-19): the back-office shows a client's content only under a grant
the client gave, for its duration, and audits every access on the client's trail."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from chappe.accounts.actor import Actor
from chappe.accounts.models import User
from chappe.audit.models import AuditEntry
from chappe.common.errors import PermissionDenied, ValidationFailed
from chappe.messaging.models import Reply
from chappe.support.access import SupportAccessGate, support_access_grant
from chappe.support.models import SupportAccessGrant


@pytest.fixture
def staff(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops@operator.example", "pw-123456789"))
    return client


def _reply(account, text):
    return Reply.objects.create(account=account, from_number="+33612345678", to="36034",
                                text=text, connector="sim", carrier_id=text,
                                received_at=timezone.now())


def _shown(staff, url) -> list[str]:
    return [reply.text for reply in staff.get(url).context_data["cl"].result_list]


def test_the_content_models_are_gated():
    for label in ("messaging.reply", "messaging.message", "callcenter.callrecord"):
        model = admin.site._registry[next(m for m in admin.site._registry
                                          if m._meta.label_lower == label)]
        assert isinstance(model, SupportAccessGate)


def test_the_operator_sees_a_clients_replies_only_under_its_grant(staff, account,
                                                                    other_account, make_user):
    mine = _reply(account, "acme-secret")
    _reply(other_account, "globex-secret")
    url = reverse("admin:messaging_reply_changelist")
    assert _shown(staff, url) == []
    assert staff.get(reverse("admin:messaging_reply_change", args=[mine.pk])).status_code == 302
    admin_user = make_user(account)
    with pytest.raises(ValidationFailed):
        support_access_grant(actor=Actor(account=account, user=admin_user), account=account,
                             hours=169)
    support_access_grant(actor=Actor(account=account, user=admin_user), account=account,
                         hours=2, reason="ticket #1")
    assert _shown(staff, url) == ["acme-secret"]
    assert staff.get(reverse("admin:messaging_reply_change", args=[mine.pk])).status_code == 200
    trail = set(AuditEntry.objects.filter(account=account).values_list("action", flat=True))
    assert {"support_access.grant", "support_access.list", "support_access.read"} <= trail
    assert not AuditEntry.objects.filter(account=other_account,
                                         action__startswith="support_access").exists()
    with time_machine.travel(timezone.now() + timedelta(hours=2, seconds=1)):
        assert _shown(staff, url) == []


def test_only_the_clients_administrator_grants(account, make_user):
    from chappe.accounts.roles import Role
    agent = make_user(account, role=Role.AGENT)
    with pytest.raises(PermissionDenied):
        support_access_grant(actor=Actor(account=account, user=agent), account=account, hours=1)
    assert not SupportAccessGrant.objects.exists()


def test_the_web_page_grants_and_revokes(account, make_user):
    client = Client()
    client.force_login(make_user(account))
    client.post("/support/access/", {"hours": "24", "reason": "ticket"})
    grant = SupportAccessGrant.objects.get(account=account)
    assert grant.expires_at - grant.granted_at == timedelta(hours=24)
    client.post("/support/access/", {"action": "revoke", "grant": str(grant.pk)})
    grant.refresh_from_db()
    assert grant.revoked_at is not None
