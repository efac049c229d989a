"""Notices a month ahead, maintenance banners, versioned terms and their acceptance,
sub-processor objections, recipients' requests and data-breach notifications (P-12,
P-14, P-15, P-16), on a frozen clock."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import Client

from chappe.accounts.actor import Actor
from chappe.audit.models import AuditEntry
from chappe.common.errors import Conflict, PermissionDenied, ValidationFailed
from chappe.notices.models import DataBreach, NoticeKind, RequestStatus, TermsAcceptance
from chappe.notices.services import (
    data_breach_notify,
    notice_publish,
    recipient_request_answer,
    recipient_request_forward,
    recipient_requests_overdue,
    subprocessor_object,
    terms_accept,
    terms_current,
    terms_publish,
)
from chappe.queue.jobs import jobs_run_due

PARIS = ZoneInfo("Europe/Paris")
OPERATOR = Actor(account=None, is_operator=True, ip="192.0.2.9", user_agent="pytest")
NOW = datetime(2027, 1, 31, 10, tzinfo=PARIS)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def run_jobs() -> None:
    while jobs_run_due(worker="test", limit=20):
        pass


@pytest.fixture
def admin(account, make_user):
    return make_user(account, email="ada@acme.example")


def test_a_price_change_is_announced_a_month_ahead(account, admin):
    with pytest.raises(ValidationFailed):
        notice_publish(actor=OPERATOR, kind=NoticeKind.PRICE_CHANGE, title="New prices",
                       effective_at=paris(2027, 2, 28, 9, 59), now=NOW)
    notice_publish(actor=OPERATOR, kind=NoticeKind.PRICE_CHANGE, title="New prices",
                   body="SMS +0.001 €", effective_at=paris(2027, 2, 28, 10), now=NOW)
    # What the law imposes applies at once.
    notice_publish(actor=OPERATOR, kind=NoticeKind.PRICE_CHANGE, title="New tax",
                   effective_at=NOW + timedelta(days=1), legally_mandatory=True, now=NOW)
    with pytest.raises(PermissionDenied):
        notice_publish(actor=Actor(account=account, user=admin), kind=NoticeKind.PRICE_CHANGE,
                       title="x", effective_at=paris(2027, 6, 1), now=NOW)
    run_jobs()
    assert {m.subject for m in mail.outbox} == {"Price change: New prices",
                                                "Price change: New tax"}
    assert all(m.to == ["ada@acme.example"] for m in mail.outbox)


def test_the_banner_shows_notices_and_maintenance_on_every_page(account, admin):
    notice_publish(actor=OPERATOR, kind=NoticeKind.MAINTENANCE, title="Database upgrade",
                   effective_at=paris(2027, 2, 2, 22), ends_at=paris(2027, 2, 2, 23), now=NOW)
    client = Client()
    with time_machine.travel(paris(2027, 2, 1, 9), tick=False):
        client.force_login(admin)
        assert "Database upgrade" in client.get("/support/").content.decode()
    with time_machine.travel(paris(2027, 2, 2, 23), tick=False):  # over
        assert "Database upgrade" not in client.get("/support/").content.decode()


def test_terms_are_notified_30_days_ahead_and_accepted_with_who_when_where(account, admin):
    with pytest.raises(ValidationFailed):
        terms_publish(actor=OPERATOR, version="2027-03", text="…",
                      effective_at=NOW + timedelta(days=29), now=NOW)
    terms = terms_publish(actor=OPERATOR, version="2027-03", text="The terms.",
                          effective_at=NOW + timedelta(days=30), now=NOW)
    assert terms_current(now=NOW) is None
    urgent = terms_publish(actor=OPERATOR, version="2027-02-law", text="Law.",
                           effective_at=NOW + timedelta(days=60), legally_mandatory=True,
                           now=NOW)
    assert terms_current(now=NOW) == urgent  # at once
    client = Client(REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="Firefox")
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        client.force_login(admin)
        page = client.get("/support/").content.decode()
        assert "The terms of service 2027-03 are in force." in page
        assert client.post("/notices/", {"action": "accept"}).status_code == 302
        assert "are in force" not in client.get("/support/").content.decode()
    acceptance = TermsAcceptance.objects.get(account=account, terms=terms)
    assert acceptance.user == admin
    assert acceptance.ip == "198.51.100.7"
    assert acceptance.user_agent == "Firefox"
    assert acceptance.accepted_at == NOW + timedelta(days=31)
    assert terms_accept(actor=Actor(account=account, user=admin), account=account,
                        terms=terms) == acceptance  # once


def test_a_subprocessor_change_can_be_objected_to_for_15_days(account, admin):
    notice = notice_publish(actor=OPERATOR, kind=NoticeKind.SUBPROCESSOR_CHANGE,
                            title="New SMS carrier", effective_at=NOW + timedelta(days=31),
                            now=NOW)
    actor = Actor(account=account, user=admin)
    with pytest.raises(Conflict):
        subprocessor_object(actor=actor, account=account, notice=notice, reason="No",
                            now=NOW + timedelta(days=15))
    objection = subprocessor_object(actor=actor, account=account, notice=notice,
                                    reason="Outside the EU", now=NOW + timedelta(days=14))
    assert objection.reason == "Outside the EU"


def test_a_recipients_request_is_forwarded_and_tracked_until_answered(account, admin):
    forwarded = recipient_request_forward(actor=OPERATOR, account=account,
                                          requester="+33612345678",
                                          request="Delete my data", now=NOW)
    run_jobs()
    assert mail.outbox[0].to == ["ada@acme.example"]
    assert "Delete my data" in mail.outbox[0].body
    assert recipient_requests_overdue(now=NOW + timedelta(days=29)) == []
    assert len(recipient_requests_overdue(now=NOW + timedelta(days=30))) == 1
    client = Client()
    client.force_login(admin)
    assert "+33612345678" in client.get("/notices/requests/").content.decode()
    client.post("/notices/requests/", {"request": str(forwarded.pk), "answer": "Erased"})
    forwarded.refresh_from_db()
    assert forwarded.status == RequestStatus.ANSWERED
    assert recipient_requests_overdue(now=NOW + timedelta(days=30)) == []
    with pytest.raises(Conflict):
        recipient_request_answer(actor=Actor(account=account, user=admin), request=forwarded,
                                 answer="again")


def test_a_data_breach_is_notified_to_the_affected_clients(account, other_account, admin,
                                                           make_user):
    make_user(other_account, email="bob@globex.example")
    breach = DataBreach.objects.create(title="Leaked export", description="A log file.",
                                       detected_at=NOW)
    breach.accounts.set([account])
    assert data_breach_notify(actor=OPERATOR, breach=breach, now=NOW) == 1
    run_jobs()
    assert [m.to for m in mail.outbox] == [["ada@acme.example"]]
    assert AuditEntry.objects.filter(action="data_breach.notify", account=account).exists()
    with pytest.raises(Conflict):
        data_breach_notify(actor=OPERATOR, breach=breach, now=NOW)


def test_the_legal_page_publishes_the_dpo(client, db, settings):
    settings.CHAPPE_NOTICES = {**settings.CHAPPE_NOTICES,
                               "dpo": {"name": "Jeanne DPO", "email": "dpo@op.example",
                                       "address": ""}}
    page = client.get("/legal/")
    assert page.status_code == 200
    assert "dpo@op.example" in page.content.decode()
