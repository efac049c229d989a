"""Support (P-11, C-12): the monthly ticket quota in the account's zone, tickets by
e-mail from a maildir, the operator's answers e-mailed, and incident deadlines in
working hours across a weekend and a public holiday — on a frozen clock."""

import mailbox
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from chappe.accounts.actor import Actor
from chappe.audit.models import AuditEntry
from chappe.common.errors import ServiceRefused, ValidationFailed
from chappe.queue.jobs import jobs_run_due
from chappe.support.hours import acknowledge_due, desk_schedule
from chappe.support.mail import inbox_poll
from chappe.support.models import Channel, Severity, Ticket, TicketStatus
from chappe.support.services import sla_sweep, ticket_answer, ticket_open, ticket_quota

PARIS = ZoneInfo("Europe/Paris")
OPERATOR = Actor(account=None, is_operator=True, ip="192.0.2.9", user_agent="pytest")


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
def client_actor(account, make_user) -> Actor:
    return Actor(account=account, user=make_user(account, email="ada@acme.example"))


def _open(actor, now, **fields):
    return ticket_open(actor=actor, account=actor.account, subject=fields.pop("subject", "Help"),
                       body=fields.pop("body", "It does not work."), now=now, **fields)


def test_five_tickets_a_month_the_sixth_on_the_1st(client_actor):
    for day in range(1, 6):
        _open(client_actor, paris(2027, 1, 31, 23, day))  # the last hour of January
    with pytest.raises(ServiceRefused) as refused:
        _open(client_actor, paris(2027, 1, 31, 23, 59, 59))
    assert refused.value.code == "ticket_quota_exceeded"
    quota = ticket_quota(account=client_actor.account, now=paris(2027, 1, 31, 23, 59))
    assert (quota.used, quota.limit, quota.left) == (5, 5, 0)
    assert quota.resets_at == paris(2027, 2, 1)
    _open(client_actor, paris(2027, 2, 1, 0, 0))  # midnight in Paris: February's first
    assert ticket_quota(account=client_actor.account, now=paris(2027, 2, 1, 1)).used == 1


def test_a_subscriber_has_thirty(client_actor, settings, monkeypatch):
    from chappe.support import services
    monkeypatch.setattr(services, "is_subscriber", lambda account, now: True)
    assert ticket_quota(account=client_actor.account, now=paris(2027, 3, 1)).limit == 30
    settings.CHAPPE_SUPPORT = {**settings.CHAPPE_SUPPORT, "tickets_per_month_subscriber": 40}
    assert ticket_quota(account=client_actor.account, now=paris(2027, 3, 1)).limit == 40


def test_a_ticket_needs_a_subject_and_a_body(client_actor):
    with pytest.raises(ValidationFailed) as refused:
        _open(client_actor, paris(2027, 3, 1, 10), subject=" ", body="")
    assert set(refused.value.details) == {"subject", "body"}


def test_the_desk_opens_mon_to_fri_9_12_and_14_17_not_on_holidays():
    desk = desk_schedule()
    assert desk.is_open(paris(2027, 3, 3, 9))  # Wednesday
    assert desk.is_open(paris(2027, 3, 3, 11, 59, 59))
    assert not desk.is_open(paris(2027, 3, 3, 12))
    assert not desk.is_open(paris(2027, 3, 6, 10))  # Saturday
    assert not desk.is_open(paris(2027, 5, 1, 10))  # 1 May (a Saturday too)
    assert not desk.is_open(paris(2027, 7, 14, 10))  # Bastille Day, a Wednesday
    assert desk.next_open(paris(2027, 7, 13, 17)) == paris(2027, 7, 15, 9)


@pytest.mark.parametrize(("severity", "opened", "due"), [
    # Friday 16:00: 1 h that day, the weekend skipped, then 6 h a day: 1+6+6+6+5.
    (Severity.BLOCKING, paris(2027, 3, 5, 16), paris(2027, 3, 11, 16)),
    # 1 + a week of 30 + 6 + 6 + 5 (over the lunch break).
    (Severity.SEMI_BLOCKING, paris(2027, 3, 5, 16), paris(2027, 3, 17, 16)),
    # Tuesday 13 July 10:00: 5 h, 14 July (a holiday, a Wednesday) skipped, 6+6+6+1.
    (Severity.BLOCKING, paris(2027, 7, 13, 10), paris(2027, 7, 20, 10)),
    # Opened on a Sunday: counted from Monday 9:00, four full days.
    (Severity.BLOCKING, paris(2027, 3, 7, 15), paris(2027, 3, 11, 17)),
])
def test_acknowledgement_deadlines_count_working_hours(severity, opened, due):
    assert acknowledge_due(severity=severity, opened_at=opened) == due


def test_a_late_incident_is_flagged_once_and_an_answer_acknowledges(client_actor):
    late = _open(client_actor, paris(2027, 3, 5, 16), severity=Severity.BLOCKING)
    on_time = _open(client_actor, paris(2027, 3, 5, 16, 1), severity=Severity.BLOCKING)
    ticket_answer(actor=OPERATOR, ticket=on_time, body="We are on it.",
                  now=paris(2027, 3, 8, 9, 30))
    assert sla_sweep(now=paris(2027, 3, 11, 15, 59)) == []
    assert [b["ticket"] for b in sla_sweep(now=paris(2027, 3, 11, 16), dry_run=True)] == [
        str(late.pk)]
    assert Ticket.objects.get(pk=late.pk).sla_breached_at is None  # the dry run saved nothing
    sla_sweep(now=paris(2027, 3, 11, 16))
    assert sla_sweep(now=paris(2027, 3, 11, 17)) == []
    late.refresh_from_db()
    assert late.sla_breached_at == paris(2027, 3, 11, 16)
    assert AuditEntry.objects.filter(action="support.sla_breach").count() == 1
    on_time.refresh_from_db()
    assert on_time.acknowledged_at == paris(2027, 3, 8, 9, 30)
    assert on_time.sla_breached_at is None
    assert on_time.status == TicketStatus.ANSWERED


def test_the_answer_is_emailed_to_the_requester(client_actor):
    ticket = _open(client_actor, paris(2027, 3, 1, 10))
    ticket_answer(actor=OPERATOR, ticket=ticket, body="Fixed.", now=paris(2027, 3, 1, 11))
    while jobs_run_due(worker="test", limit=10):
        pass
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["ada@acme.example"]
    assert f"[#{ticket.reference}]" in sent.subject
    assert "Fixed." in sent.body


def test_a_client_cannot_answer_as_the_operator(client_actor):
    ticket = _open(client_actor, paris(2027, 3, 1, 10))
    with pytest.raises(Exception) as refused:  # noqa: PT011
        ticket_answer(actor=client_actor, ticket=ticket, body="Self-service")
    assert refused.value.status == 403


def _deliver(box: mailbox.Maildir, sender: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "support@x", subject
    message.set_content(body)
    box.add(message)


def test_tickets_by_email_from_the_maildir(client_actor, tmp_path):
    box = mailbox.Maildir(tmp_path / "inbox", create=True)
    _deliver(box, "Ada <ADA@acme.example>", "Cannot log in", "Since this morning.")
    _deliver(box, "mallory@evil.example", "Free money", "spam")
    with time_machine.travel(paris(2027, 3, 1, 10), tick=False):
        outcomes = inbox_poll(path=tmp_path / "inbox")
    assert outcomes[0].startswith("opened") or outcomes[1].startswith("opened")
    assert "dropped: unknown sender" in outcomes
    assert len(box) == 0  # each message read once
    ticket = Ticket.objects.get(account=client_actor.account)
    assert ticket.channel == Channel.EMAIL
    assert ticket.subject == "Cannot log in"
    assert ticket.email == "ada@acme.example"
    # A reply carrying the reference adds to the same ticket.
    _deliver(box, "ada@acme.example", f"Re: [#{ticket.reference}] Cannot log in", "Still.")
    with time_machine.travel(paris(2027, 3, 1, 11), tick=False):
        assert inbox_poll(path=tmp_path / "inbox") == [f"added to {ticket.pk}"]
    assert [m.body for m in ticket.messages.all()] == ["Since this morning.", "Still."]


def test_over_the_quota_by_email_the_sender_is_told(client_actor, tmp_path):
    box = mailbox.Maildir(tmp_path / "inbox", create=True)
    for n in range(6):
        _deliver(box, "ada@acme.example", f"Question {n}", "?")
    with time_machine.travel(paris(2027, 3, 1, 10), tick=False):
        outcomes = inbox_poll(path=tmp_path / "inbox")
    assert outcomes.count("refused: ticket_quota_exceeded") == 1
    assert Ticket.objects.filter(account=client_actor.account).count() == 5
    assert any("support tickets of this month" in m.body for m in mail.outbox)
