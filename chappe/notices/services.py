"""Notices, terms, sub-processors, recipients' requests and data breaches (P-12, P-14,
P-15, P-16). Every write is audited; e-mails go out from jobs (tasks.py).

Periods (settings `CHAPPE_NOTICES`, the terms of sale's values by default):

* a price or service change is published `change_notice_months` (1) calendar month
  before it applies, a new version of the terms `terms_notice_days` (30) days before —
  unless the change is legally mandatory, which applies at once;
* a change of sub-processors can be objected to for `objection_days` (15) days after
  its publication.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, AccountStatus
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ValidationFailed
from chappe.common.months import moment_add_months
from chappe.notices.models import (
    DataBreach,
    Notice,
    NoticeKind,
    RecipientRequest,
    RequestStatus,
    SubProcessorObjection,
    TermsAcceptance,
    TermsVersion,
)
from chappe.queue.jobs import job_enqueue

ANNOUNCED_CHANGES = (NoticeKind.PRICE_CHANGE, NoticeKind.SERVICE_CHANGE)


def _conf(key: str) -> int:
    return int(settings.CHAPPE_NOTICES[key])


def _platform_zone() -> ZoneInfo:
    return ZoneInfo(settings.CHAPPE_DEFAULT_TIMEZONE)


@transaction.atomic
def notice_publish(*, actor: Actor, kind: str, title: str, body: str = "",
                   effective_at: datetime, ends_at: datetime | None = None,
                   legally_mandatory: bool = False, accounts: list[Account] | None = None,
                   now: datetime | None = None) -> Notice:
    """Publish a notice (operator). A price or service change must leave a month."""
    actor.require_operator()
    now = now or timezone.now()
    if kind not in NoticeKind.values:
        raise ValidationFailed(details={"kind": [_("Unknown kind of notice.")]})
    if not title.strip():
        raise ValidationFailed(details={"title": [_("This field is required.")]})
    if kind in ANNOUNCED_CHANGES and not legally_mandatory:
        earliest = moment_add_months(now, _conf("change_notice_months"), _platform_zone())
        if effective_at < earliest:
            raise ValidationFailed(details={"effective_at": [
                _("A change is announced one month ahead: not before %(date)s.")
                % {"date": earliest.date().isoformat()}]})
    if ends_at is not None and ends_at < effective_at:
        raise ValidationFailed(details={"ends_at": [_("The end comes after the start.")]})
    notice = Notice.objects.create(kind=kind, title=title.strip(), body=body.strip(),
                                   published_at=now, effective_at=effective_at,
                                   ends_at=ends_at, legally_mandatory=legally_mandatory,
                                   created_by=actor.user)
    if accounts:
        notice.accounts.set(accounts)
    audit_record(actor=actor, action="notice.publish", target=notice,
                 details={"kind": kind, "effective_at": effective_at.isoformat()})
    job_enqueue(name="notices.notice_email", payload={"notice": str(notice.pk)})
    return notice


def notices_current(*, account: Account, now: datetime | None = None) -> QuerySet[Notice]:
    """The notices the account's web app shows now: published, not yet over."""
    now = now or timezone.now()
    return (Notice.objects.filter(published_at__lte=now)
            .filter(Q(accounts__isnull=True) | Q(accounts=account))
            .filter(Q(ends_at__gt=now) | Q(ends_at__isnull=True, effective_at__gt=now))
            .distinct().order_by("effective_at"))


# --- terms of service ---------------------------------------------------------------


@transaction.atomic
def terms_publish(*, actor: Actor, version: str, text: str, effective_at: datetime,
                  legally_mandatory: bool = False, now: datetime | None = None) -> TermsVersion:
    """A new version of the terms (operator): in force `terms_notice_days` later at the
    earliest, at once when legally mandatory; announced by a notice."""
    actor.require_operator()
    now = now or timezone.now()
    if not version.strip() or not text.strip():
        raise ValidationFailed(details={"version": [_("Name the version and give its text.")]})
    if legally_mandatory:
        effective_at = min(effective_at, now)
    elif effective_at < now + timedelta(days=_conf("terms_notice_days")):
        raise ValidationFailed(details={"effective_at": [
            _("New terms are notified at least %(days)d days ahead.")
            % {"days": _conf("terms_notice_days")}]})
    try:
        with transaction.atomic():
            terms = TermsVersion.objects.create(version=version.strip(), text=text,
                                                published_at=now, effective_at=effective_at,
                                                legally_mandatory=legally_mandatory)
    except IntegrityError:
        raise Conflict(_("This version already exists.")) from None
    audit_record(actor=actor, action="terms.publish", target=terms,
                 details={"effective_at": effective_at.isoformat(),
                          "legally_mandatory": legally_mandatory})
    notice_publish(actor=actor, kind=NoticeKind.TERMS, now=now,
                   title=_("Terms of service %(version)s") % {"version": terms.version},
                   body=text[:2000], effective_at=max(effective_at, now + timedelta(
                       seconds=1)), legally_mandatory=True)
    return terms


def terms_current(*, now: datetime | None = None) -> TermsVersion | None:
    return TermsVersion.objects.filter(effective_at__lte=now or timezone.now()).first()


def terms_upcoming(*, now: datetime | None = None) -> TermsVersion | None:
    return TermsVersion.objects.filter(effective_at__gt=now or timezone.now()).last()


def terms_accepted(*, account: Account, terms: TermsVersion) -> TermsAcceptance | None:
    return TermsAcceptance.objects.filter(account=account, terms=terms).first()


@transaction.atomic
def terms_accept(*, actor: Actor, account: Account, terms: TermsVersion,
                 now: datetime | None = None) -> TermsAcceptance:
    """A client administrator accepts a version: who, when, from where."""
    actor.require(Perm.ACCOUNT_MANAGE)
    if actor.user is None:
        raise ValidationFailed(details={"user": [_("Terms are accepted by a person.")]})
    existing = terms_accepted(account=account, terms=terms)
    if existing is not None:
        return existing
    acceptance = TermsAcceptance.objects.create(
        account=account, terms=terms, user=actor.user, user_email=actor.user.email,
        accepted_at=now or timezone.now(), ip=actor.ip, user_agent=actor.user_agent[:400])
    audit_record(actor=actor, account=account, action="terms.accept", target=terms,
                 details={"version": terms.version})
    return acceptance


# --- sub-processors -----------------------------------------------------------------


def objection_open_until(notice: Notice) -> datetime:
    return notice.published_at + timedelta(days=_conf("objection_days"))


@transaction.atomic
def subprocessor_object(*, actor: Actor, account: Account, notice: Notice, reason: str,
                        now: datetime | None = None) -> SubProcessorObjection:
    """The client objects to a change of sub-processors, within the window."""
    actor.require(Perm.ACCOUNT_MANAGE)
    now = now or timezone.now()
    if notice.kind != NoticeKind.SUBPROCESSOR_CHANGE:
        raise Conflict(_("Only a change of sub-processors can be objected to."))
    if now >= objection_open_until(notice):
        raise Conflict(_("The objection period ended on %(date)s.")
                       % {"date": objection_open_until(notice).date().isoformat()},
                       code="objection_closed")
    if not reason.strip():
        raise ValidationFailed(details={"reason": [_("Give the reason of the objection.")]})
    objection, created = SubProcessorObjection.objects.get_or_create(
        account=account, notice=notice,
        defaults={"user": actor.user, "reason": reason.strip(), "created_at": now})
    if created:
        audit_record(actor=actor, account=account, action="subprocessor.object",
                     target=notice, details={"reason": objection.reason})
    return objection


# --- recipients' requests -----------------------------------------------------------


@transaction.atomic
def recipient_request_forward(*, actor: Actor, account: Account, requester: str,
                              request: str, received_at: datetime | None = None,
                              now: datetime | None = None) -> RecipientRequest:
    """The operator forwards a recipient's request to the client (the controller)."""
    actor.require_operator()
    now = now or timezone.now()
    if not requester.strip() or not request.strip():
        raise ValidationFailed(details={"request": [_("Say who asks and what.")]})
    forwarded = RecipientRequest.objects.create(
        account=account, requester=requester.strip()[:200], request=request.strip(),
        received_at=received_at or now, forwarded_at=now)
    audit_record(actor=actor, account=account, action="recipient_request.forward",
                 target=forwarded)
    job_enqueue(name="notices.recipient_request_email",
                payload={"request": str(forwarded.pk)})
    return forwarded


@transaction.atomic
def recipient_request_answer(*, actor: Actor, request: RecipientRequest, answer: str,
                             now: datetime | None = None) -> RecipientRequest:
    """The client records how it answered the recipient."""
    actor.require(Perm.ACCOUNT_MANAGE)
    if not answer.strip():
        raise ValidationFailed(details={"answer": [_("Say how the request was answered.")]})
    if request.status == RequestStatus.ANSWERED:
        raise Conflict(_("This request was already answered."))
    request.status, request.answer = RequestStatus.ANSWERED, answer.strip()
    request.answered_at = now or timezone.now()
    request.save(update_fields=["status", "answer", "answered_at"])
    audit_record(actor=actor, account=request.account, action="recipient_request.answer",
                 target=request)
    return request


def recipient_requests_overdue(*, now: datetime | None = None) -> list[dict]:
    """Requests still unanswered after `recipient_request_days` (GDPR art. 12: one
    month): the operator's follow-up list (a dry-run style report)."""
    now = now or timezone.now()
    limit = now - timedelta(days=_conf("recipient_request_days"))
    return [{"request": str(r.pk), "account": r.account.name,
             "received_at": r.received_at.isoformat()}
            for r in RecipientRequest.objects.select_related("account").filter(
                status=RequestStatus.FORWARDED, received_at__lte=limit)]


# --- data breaches ------------------------------------------------------------------


@transaction.atomic
def data_breach_notify(*, actor: Actor, breach: DataBreach,
                       now: datetime | None = None) -> int:
    """Notify the affected clients (operator): an e-mail to each, a notice in their web
    app, audited on each account. Once."""
    actor.require_operator()
    now = now or timezone.now()
    breach = DataBreach.objects.select_for_update().get(pk=breach.pk)
    if breach.notified_at is not None:
        raise Conflict(_("This breach was already notified."))
    accounts = list(breach.accounts.exclude(status=AccountStatus.TERMINATED))
    if not accounts:
        raise ValidationFailed(details={"accounts": [_("Name the accounts affected.")]})
    notice = Notice.objects.create(
        kind=NoticeKind.DATA_BREACH, title=breach.title, body=breach.description,
        published_at=now, effective_at=now + timedelta(days=30), legally_mandatory=True,
        created_by=actor.user)
    notice.accounts.set(accounts)
    for account in accounts:
        audit_record(actor=actor, account=account, action="data_breach.notify",
                     target=breach)
    breach.notified_at = now
    breach.save(update_fields=["notified_at"])
    job_enqueue(name="notices.notice_email", payload={"notice": str(notice.pk)})
    return len(accounts)
