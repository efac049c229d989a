"""The termination purge (P-9): an account's data is deleted 3 months after its
termination, except what the law requires keeping — billing and usage data, call records
and the audit trail, 10 years (P-13, C-10; `billing.models.RETENTION`).

One rule decides, for every model of every app (so a model added later is covered
without touching this file):

* a model whose foreign key to the account is `on_delete=PROTECT` holds records that must
  outlive the account (ledger, usage and fee records, invoices, call records, the audit
  trail…): its rows are **kept**;
* every other model with a foreign key to the account (`CASCADE`) is tenant data: its
  rows are **deleted**, with what cascades from them and the files of their FileFields.

Before the deletions, inside the purge's transaction, each app that keeps personal data
in rows that stay, or files it stores by path, anonymises and removes them — called here
explicitly: the contact center (`callcenter_purge`, chappe/callcenter/retention.py); an
app added with such data gets its call beside it. The account row stays — kept
invoices name it — and an `AccountPurge` row records when and what was deleted, so the
purge runs once. Sub-accounts are purged on their own schedule (each is terminated with
its parent).
"""

import logging
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account, AccountStatus
from chappe.audit.services import audit_record
from chappe.billing.periods import add_months
from chappe.callcenter.retention import callcenter_purge
from chappe.common.errors import Conflict
from chappe.privacy.models import AccountPurge

logger = logging.getLogger(__name__)

def purge_due_at(account: Account) -> datetime | None:
    """When a terminated account's data goes: the date its termination set (P-9: 3
    months later; P-10: at once after an inactivity deletion), for an account
    terminated before that date was recorded 3 months after termination."""
    if account.terminated_at is None:
        return None
    if account.purge_at is not None:
        return account.purge_at
    at = account.terminated_at
    day = add_months(at.date(), 3)
    return at.replace(year=day.year, month=day.month, day=day.day)


def purged_models() -> list[tuple[type[models.Model], str]]:
    """(model, foreign key name) of every tenant model the purge deletes: those whose key
    to the account cascades. PROTECT keys mark what is kept."""
    found = []
    for model in apps.get_models():
        if model is Account or model._meta.proxy:
            continue
        for field in model._meta.get_fields():
            if (isinstance(field, models.ForeignKey) and field.related_model is Account
                    and field.remote_field.on_delete is models.CASCADE):
                found.append((model, field.name))
    return found


def _files_of(queryset) -> list[tuple[Any, str]]:
    """(storage, name) of the files held by FileFields of the rows about to go."""
    fields = [f for f in queryset.model._meta.fields if isinstance(f, models.FileField)]
    files = []
    for field in fields:
        for name in queryset.exclude(**{field.name: ""}).values_list(field.name, flat=True):
            if name:
                files.append((field.storage, name))
    return files


def account_purge(*, account: Account, now: datetime | None = None) -> dict[str, int]:
    """Delete a terminated account's data once it is due (see the module doc); returns
    how many rows of each model went. Once per account: a second call does nothing."""
    now = now or timezone.now()
    due = purge_due_at(account)
    if account.status != AccountStatus.TERMINATED or due is None:
        raise Conflict(_("Only a terminated account is purged."))
    if now < due:
        raise Conflict(_("The account's data is kept until %(date)s.")
                       % {"date": due.date().isoformat()})
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account.pk)
        if AccountPurge.objects.filter(account=account).exists():
            return {}
        # What each app anonymises in the rows that stay (see the module doc), counted.
        counts = dict(callcenter_purge(account=account))
        files = []
        for model, key in purged_models():
            rows = model._default_manager.filter(**{key: account})
            files += _files_of(rows)
            _total, deleted = rows.delete()
            for label, number in deleted.items():
                counts[label] = counts.get(label, 0) + number
        counts = {label: number for label, number in sorted(counts.items()) if number}
        AccountPurge.objects.create(account=account, purged_at=now, counts=counts)
        audit_record(actor=SYSTEM, account=account, action="account.purge",
                     details={"counts": counts})

        def remove_files() -> None:
            for storage, name in files:
                try:
                    storage.delete(name)
                except OSError:
                    logger.warning("purge of %s: could not remove %s", account.pk, name)

        transaction.on_commit(remove_files)
    return counts


def accounts_purge_due(*, now: datetime | None = None, dry_run: bool = False) -> list[str]:
    """The periodic job: purge every terminated account whose 3 months are over; one
    transaction per account, and one failing account does not stop the others. Returns
    the ids of the accounts purged — with `dry_run`, of those that would be, nothing
    changed."""
    now = now or timezone.now()
    candidates = Account.objects.filter(
        status=AccountStatus.TERMINATED, terminated_at__isnull=False,
        terminated_at__lte=now).filter(
        Q(purge_at__isnull=True) | Q(purge_at__lte=now)).exclude(
        pk__in=AccountPurge.objects.values("account_id"))
    due = [account for account in candidates if purge_due_at(account) <= now]
    if dry_run:
        return [str(account.pk) for account in due]
    purged = []
    for account in due:
        try:
            account_purge(account=account, now=now)
        except Exception:
            logger.exception("the purge of account %s failed", account.pk)
            continue
        purged.append(str(account.pk))
    return purged
