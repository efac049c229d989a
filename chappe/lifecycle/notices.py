"""Termination notices and the inactivity deletion (P-9, P-10).

* **With notice** (client or operator): the contract ends one calendar month later
  (`notice_months`), at the same local time (31 Jan → 28/29 Feb).
* **For a breach**: the operator's formal notice ends the contract `breach_cure_days`
  (30) days later unless the operator records that the breach was remedied.
* **Inactivity**: a top-level account with no login, API call or SMPP bind for
  `inactivity_months` (24) gets a notice e-mail; `inactivity_notice_days` (15) later it
  is terminated and its data purged at once, unless activity resumed meanwhile (which
  cancels the notice).

Terminations go through `account_terminate` (the export stays open until the purge,
`purge_months` later). The periodic jobs (tasks.py) take `dry_run=True` to report what
they would do without doing it (`manage.py compliance_report`).
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.activity import last_activity
from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account, AccountStatus
from chappe.accounts.roles import Perm
from chappe.accounts.services import account_terminate
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ValidationFailed
from chappe.common.months import moment_add_months
from chappe.lifecycle.models import NoticeKind, NoticeStatus, TerminationNotice
from chappe.privacy.purge import account_purge
from chappe.queue.jobs import job_enqueue


def _conf(key: str) -> int:
    return int(settings.CHAPPE_LIFECYCLE[key])


def _zone(account: Account) -> ZoneInfo:
    return ZoneInfo(account.timezone or "Europe/Paris")


def notice_effective_at(*, account: Account, kind: str, given_at: datetime) -> datetime:
    """When a notice of `kind` given at `given_at` ends the contract (module doc)."""
    tz = _zone(account)
    if kind in (NoticeKind.BREACH, NoticeKind.INACTIVITY):
        days = _conf("breach_cure_days" if kind == NoticeKind.BREACH
                     else "inactivity_notice_days")
        # Calendar days at the same local time (across a DST change too).
        local = given_at.astimezone(tz)
        return datetime.combine(local.date() + timedelta(days=days), local.time(), tzinfo=tz)
    return moment_add_months(given_at, _conf("notice_months"), tz)


def termination_notice_running(*, account: Account) -> TerminationNotice | None:
    return TerminationNotice.objects.filter(account=account,
                                            status=NoticeStatus.RUNNING).first()


def _notice_create(*, actor: Actor, account: Account, kind: str, reason: str,
                   now: datetime) -> TerminationNotice:
    if account.status == AccountStatus.TERMINATED:
        raise Conflict(_("This account is already terminated."), code="account_terminated")
    if termination_notice_running(account=account) is not None:
        raise Conflict(_("A termination notice is already running for this account."),
                       code="notice_given")
    notice = TerminationNotice.objects.create(
        account=account, kind=kind, reason=reason.strip(), given_at=now, given_by=actor.user,
        effective_at=notice_effective_at(account=account, kind=kind, given_at=now))
    audit_record(actor=actor, account=account, action=f"termination_notice.{kind}",
                 target=notice, details={"effective_at": notice.effective_at.isoformat(),
                                         "reason": notice.reason})
    job_enqueue(name="lifecycle.notice_email", payload={"notice": str(notice.pk)})
    return notice


@transaction.atomic
def termination_notice_give(*, actor: Actor, account: Account, kind: str, reason: str = "",
                            now: datetime | None = None) -> TerminationNotice:
    """Give notice (P-9): the client's administrator for its own account (kind `client`),
    the operator with notice (`operator`) or for a breach (`breach`, reason required)."""
    now = now or timezone.now()
    if kind == NoticeKind.CLIENT:
        actor.require(Perm.ACCOUNT_MANAGE)
        if account.parent_id is not None:
            raise Conflict(_("A sub-account is terminated by its parent account."))
    elif kind in (NoticeKind.OPERATOR, NoticeKind.BREACH):
        actor.require_operator()
        if kind == NoticeKind.BREACH and not reason.strip():
            raise ValidationFailed(details={"reason": [_("Name the breach.")]})
    else:
        raise ValidationFailed(details={"kind": [_("Unknown kind of notice.")]})
    return _notice_create(actor=actor, account=account, kind=kind, reason=reason, now=now)


@transaction.atomic
def termination_notice_cancel(*, actor: Actor, notice: TerminationNotice, note: str = "",
                              now: datetime | None = None) -> TerminationNotice:
    """Withdraw a running notice: the client its own, the operator any (a breach
    remedied)."""
    if notice.kind == NoticeKind.CLIENT and not actor.is_operator:
        actor.require(Perm.ACCOUNT_MANAGE)
        if actor.account is None or actor.account.pk != notice.account_id:
            actor.require_operator()
    else:
        actor.require_operator()
    notice = TerminationNotice.objects.select_for_update().get(pk=notice.pk)
    if notice.status != NoticeStatus.RUNNING:
        raise Conflict(_("This notice is no longer running."))
    notice.status, notice.closed_at, notice.close_note = (
        NoticeStatus.CANCELLED, now or timezone.now(), note.strip())
    notice.save(update_fields=["status", "closed_at", "close_note"])
    audit_record(actor=actor, account=notice.account, action="termination_notice.cancel",
                 target=notice, details={"kind": notice.kind, "note": notice.close_note})
    return notice


@dataclass(frozen=True)
class Step:
    """One thing a periodic job did, or would do in a dry run."""

    account: str
    name: str
    action: str
    at: str


def _step(account: Account, action: str, at: datetime) -> Step:
    return Step(str(account.pk), account.name, action, at.isoformat())


def _execute(notice: TerminationNotice, now: datetime) -> None:
    with transaction.atomic():
        notice = TerminationNotice.objects.select_for_update().select_related(
            "account").get(pk=notice.pk)
        if notice.status != NoticeStatus.RUNNING:
            return
        account = notice.account
        inactivity = notice.kind == NoticeKind.INACTIVITY
        if account.status != AccountStatus.TERMINATED:
            account_terminate(actor=SYSTEM, account=account, reason=notice.kind,
                              purge_at=now if inactivity else None)
        notice.status, notice.closed_at = NoticeStatus.EXECUTED, now
        notice.save(update_fields=["status", "closed_at"])
    if inactivity:
        account.refresh_from_db()
        account_purge(account=account, now=now)


def terminations_due(*, now: datetime | None = None, dry_run: bool = False) -> list[dict]:
    """End the contracts whose notice is over (client, operator, breach), and the
    inactivity deletions (see `inactivity_sweep`). Returns the report of what was (or,
    with `dry_run`, would be) done."""
    now = now or timezone.now()
    steps = []
    for notice in TerminationNotice.objects.select_related("account").filter(
            status=NoticeStatus.RUNNING, effective_at__lte=now).exclude(
            kind=NoticeKind.INACTIVITY):
        steps.append(_step(notice.account, f"terminate ({notice.kind})", notice.effective_at))
        if not dry_run:
            _execute(notice, now)
    return [asdict(step) for step in steps]


def inactivity_sweep(*, now: datetime | None = None, dry_run: bool = False) -> list[dict]:
    """P-10, in three passes: notices whose account was used again are cancelled; those
    whose 15 days are over delete the account; accounts idle for 24 months get a notice."""
    now = now or timezone.now()
    steps: list[Step] = []
    running = TerminationNotice.objects.select_related("account").filter(
        status=NoticeStatus.RUNNING, kind=NoticeKind.INACTIVITY)
    for notice in running:
        if last_activity(notice.account) > notice.given_at:
            steps.append(_step(notice.account, "cancel (activity resumed)", now))
            if not dry_run:
                termination_notice_cancel(actor=SYSTEM, notice=notice, now=now,
                                          note="activity resumed")
        elif notice.effective_at <= now:
            steps.append(_step(notice.account, "delete (inactive)", notice.effective_at))
            if not dry_run:
                _execute(notice, now)
    months = _conf("inactivity_months")
    # Narrowed in the database (28-day months at most), decided exactly per account.
    roughly = now - timedelta(days=28 * months)
    idle = (Account.objects.filter(parent__isnull=True)
            .exclude(status=AccountStatus.TERMINATED)
            .exclude(termination_notices__status=NoticeStatus.RUNNING)
            .annotate(seen=Coalesce(F("last_activity_at"), F("created_at")))
            .filter(seen__lte=roughly))
    for account in idle:
        if moment_add_months(last_activity(account), months, _zone(account)) > now:
            continue
        steps.append(_step(account, "notify (inactive)", now))
        if not dry_run:
            with transaction.atomic():
                _notice_create(actor=SYSTEM, account=account, kind=NoticeKind.INACTIVITY,
                               reason="", now=now)
    return [asdict(step) for step in steps]
