"""The back-office screens of the lifecycle, support and notices apps open, and their
changes go through the services (audited): a breach notice, a ticket answer, a notice."""

import pytest
from django.contrib import admin
from django.core import mail
from django.test import Client
from django.urls import reverse

from chappe.accounts.actor import Actor
from chappe.accounts.models import User
from chappe.audit.models import AuditEntry
from chappe.lifecycle.models import TerminationNotice
from chappe.notices.models import Notice
from chappe.queue.jobs import jobs_run_due
from chappe.support.services import ticket_open

APPS = {"lifecycle", "support", "notices"}


@pytest.fixture
def staff(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("ops@operator.example", "pw-123456789"))
    return client


def test_every_screen_opens(staff, account):
    for model in admin.site._registry:
        if model._meta.app_label in APPS:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            assert staff.get(url).status_code == 200, url


def test_the_operator_gives_a_formal_notice_of_breach(staff, account):
    response = staff.post(reverse("admin:lifecycle_terminationnotice_add"), {
        "account": str(account.pk), "kind": "breach", "reason": "Smishing"})
    assert response.status_code == 302, response.content
    notice = TerminationNotice.objects.get(account=account)
    assert notice.kind == "breach"
    assert AuditEntry.objects.filter(action="termination_notice.breach",
                                     is_operator=True).exists()


def test_the_operator_answers_a_ticket(staff, account, make_user):
    user = make_user(account, email="ada@acme.example")
    ticket = ticket_open(actor=Actor(account=account, user=user), account=account,
                         subject="Help", body="Please")
    page = staff.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    assert "Please" in page.content.decode()
    staff.post(reverse("admin:support_ticket_change", args=[ticket.pk]),
               {"answer": "Done", "close": "on", "messages-TOTAL_FORMS": "1",
                "messages-INITIAL_FORMS": "1", "messages-MIN_NUM_FORMS": "0",
                "messages-MAX_NUM_FORMS": "1000",
                "messages-0-id": str(ticket.messages.get().pk),
                "messages-0-ticket": str(ticket.pk)})
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert ticket.acknowledged_at is not None
    while jobs_run_due(worker="test", limit=10):
        pass
    assert mail.outbox[-1].to == ["ada@acme.example"]


def test_the_operator_publishes_a_maintenance_notice(staff, account):
    response = staff.post(reverse("admin:notices_notice_add"), {
        "kind": "maintenance", "title": "Upgrade", "body": "",
        "effective_at_0": "2030-01-01", "effective_at_1": "22:00:00",
        "ends_at_0": "2030-01-01", "ends_at_1": "23:00:00"})
    assert response.status_code == 302, response.content
    assert Notice.objects.get().title == "Upgrade"
