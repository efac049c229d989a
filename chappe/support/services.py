"""Support tickets (P-11, C-12): opened by a client user (web app, API) or by e-mail,
answered by the operator from the back-office, the requester e-mailed each answer.

Quota: `tickets_per_month` (5) for a non-subscriber, `tickets_per_month_subscriber`
(30) for an account with a running subscription, counted per calendar month in the
account's time zone; the next ticket is refused until the 1st. Incidents (blocking,
semi-blocking) get an acknowledgement deadline in working hours (24 / 48, `hours.py`);
the operator's first answer acknowledges; `sla_sweep` flags the deadlines missed."""

from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ServiceRefused, ValidationFailed
from chappe.queue.jobs import job_enqueue
from chappe.support.hours import Quota, acknowledge_due, is_subscriber, month_window
from chappe.support.models import Channel, Severity, Ticket, TicketMessage, TicketStatus

SUBJECT_MAX = 200
BODY_MAX = 20_000


def ticket_quota(*, account: Account, now: datetime | None = None) -> Quota:
    now = now or timezone.now()
    start, end = month_window(account, now)
    conf = settings.CHAPPE_SUPPORT
    limit = (conf["tickets_per_month_subscriber"] if is_subscriber(account, now)
             else conf["tickets_per_month"])
    used = Ticket.objects.filter(account=account, opened_at__gte=start,
                                 opened_at__lt=end).count()
    return Quota(used=used, limit=int(limit), resets_at=end)


def _clean(subject: str, body: str) -> tuple[str, str]:
    subject, body = " ".join((subject or "").split()), (body or "").strip()
    errors = {}
    if not subject:
        errors["subject"] = [_("This field is required.")]
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = [_("At most %(n)d characters.") % {"n": SUBJECT_MAX}]
    if not body:
        errors["body"] = [_("This field is required.")]
    elif len(body) > BODY_MAX:
        errors["body"] = [_("At most %(n)d characters.") % {"n": BODY_MAX}]
    if errors:
        raise ValidationFailed(details=errors)
    return subject, body


@transaction.atomic
def ticket_open(*, actor: Actor, account: Account, subject: str, body: str,
                severity: str = "", channel: str = Channel.WEB, email: str = "",
                now: datetime | None = None) -> Ticket:
    """A new ticket, within the month's quota."""
    actor.require(Perm.ACCOUNT_VIEW)
    now = now or timezone.now()
    if severity not in Severity.values:
        raise ValidationFailed(details={"severity": [_("Unknown severity.")]})
    subject, body = _clean(subject, body)
    # One account's tickets are counted one at a time (two at once cannot both pass).
    Account.objects.select_for_update().filter(pk=account.pk).first()
    quota = ticket_quota(account=account, now=now)
    if quota.left <= 0:
        raise ServiceRefused(
            _("The %(limit)d support tickets of this month are used; the next one can be "
              "opened on %(date)s.") % {"limit": quota.limit,
                                        "date": quota.resets_at.date().isoformat()},
            code="ticket_quota_exceeded",
            details={"limit": quota.limit, "resets_at": quota.resets_at.isoformat()})
    ticket = Ticket.objects.create(
        account=account, opened_by=actor.user, channel=channel, subject=subject,
        severity=severity, opened_at=now,
        email=email or (actor.user.email if actor.user else "") or account.billing_email,
        acknowledge_due_at=acknowledge_due(severity=severity, opened_at=now))
    TicketMessage.objects.create(ticket=ticket, author=actor.user, body=body, created_at=now)
    audit_record(actor=actor, account=account, action="support.ticket_open", target=ticket,
                 details={"severity": severity, "channel": channel})
    return ticket


@transaction.atomic
def ticket_client_reply(*, actor: Actor, ticket: Ticket, body: str,
                        now: datetime | None = None) -> TicketMessage:
    """The client adds to its ticket (which reopens it)."""
    actor.require(Perm.ACCOUNT_VIEW)
    now = now or timezone.now()
    _subject, body = _clean(ticket.subject, body)
    if ticket.status == TicketStatus.CLOSED:
        raise Conflict(_("This ticket is closed; open a new one."))
    message = TicketMessage.objects.create(ticket=ticket, author=actor.user, body=body,
                                           created_at=now)
    ticket.status = TicketStatus.OPEN
    ticket.save(update_fields=["status"])
    audit_record(actor=actor, account=ticket.account, action="support.ticket_reply",
                 target=ticket)
    return message


@transaction.atomic
def ticket_answer(*, actor: Actor, ticket: Ticket, body: str, close: bool = False,
                  now: datetime | None = None) -> TicketMessage:
    """The operator answers (the first answer acknowledges an incident); the requester
    is e-mailed by a job."""
    actor.require_operator()
    now = now or timezone.now()
    _subject, body = _clean(ticket.subject, body)
    message = TicketMessage.objects.create(ticket=ticket, author=actor.user,
                                           from_operator=True, body=body, created_at=now)
    fields = ["status"]
    if ticket.acknowledged_at is None:
        ticket.acknowledged_at = now
        fields.append("acknowledged_at")
        if ticket.acknowledge_due_at is not None and now > ticket.acknowledge_due_at \
                and ticket.sla_breached_at is None:
            ticket.sla_breached_at = ticket.acknowledge_due_at
            fields.append("sla_breached_at")
    ticket.status = TicketStatus.CLOSED if close else TicketStatus.ANSWERED
    if close:
        ticket.closed_at = now
        fields.append("closed_at")
    ticket.save(update_fields=fields)
    audit_record(actor=actor, account=ticket.account, action="support.ticket_answer",
                 target=ticket, details={"close": close})
    job_enqueue(name="support.answer_email", payload={"message": message.pk})
    return message


@dataclass(frozen=True)
class Breach:
    ticket: str
    account: str
    severity: str
    due_at: str


def sla_sweep(*, now: datetime | None = None, dry_run: bool = False) -> list[dict]:
    """Flag the incidents whose acknowledgement deadline passed unanswered (C-12);
    audited once per ticket. The report lists them (with `dry_run`, nothing is saved)."""
    now = now or timezone.now()
    late = Ticket.objects.select_related("account").filter(
        acknowledged_at__isnull=True, acknowledge_due_at__lte=now,
        sla_breached_at__isnull=True)
    found = []
    for ticket in late:
        found.append(Breach(str(ticket.pk), ticket.account.name, ticket.severity,
                            ticket.acknowledge_due_at.isoformat()))
        if dry_run:
            continue
        with transaction.atomic():
            if Ticket.objects.filter(pk=ticket.pk, sla_breached_at__isnull=True).update(
                    sla_breached_at=ticket.acknowledge_due_at):
                audit_record(actor=SYSTEM, account=ticket.account,
                             action="support.sla_breach", target=ticket,
                             details={"severity": ticket.severity,
                                      "due_at": ticket.acknowledge_due_at.isoformat()})
    return [asdict(breach) for breach in found]
