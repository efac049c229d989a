"""Accounts and sub-accounts (P-1, P-2, P-8, P-9): create, update, suspend, terminate,
supporting documents."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import (
    Account,
    AccountDocument,
    AccountStatus,
    DocumentRequest,
    Service,
    ServiceStatus,
    SuspensionReason,
)
from chappe.accounts.roles import Perm, Role
from chappe.accounts.services._common import (
    _require_open,
    _set_status,
)
from chappe.accounts.validation import validate_account_fields
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ServiceRefused, ValidationFailed
from chappe.common.months import moment_add_months


@transaction.atomic
def account_create(
    *, actor: Actor, name: str, parent: Account | None = None, **fields: Any
) -> Account:
    """An account created by the operator, or a sub-account created by its parent (P-1, P-2).

    A sub-account inherits the parent's time zone, country and ordered services unless
    told otherwise."""
    if parent is None:
        actor.require_operator()
    else:
        actor.require(Perm.SUBACCOUNTS_MANAGE)
        if parent.status != AccountStatus.ACTIVE:
            raise ServiceRefused(_("The parent account is not active."), code="account_suspended")
        fields.setdefault("timezone", parent.timezone)
        fields.setdefault("default_country", parent.default_country)
        fields.setdefault("country", parent.country)
    if not name or not name.strip():
        raise ValidationFailed(details={"name": [_("This field is required.")]})
    validate_account_fields(fields)
    account = Account.objects.create(name=name.strip(), parent=parent, **fields)
    if parent is not None:
        for service in parent.services.exclude(status=ServiceStatus.TERMINATED):
            Service.objects.create(account=account, kind=service.kind)
    audit_record(
        actor=actor,
        account=parent or account,
        action="account.create" if parent is None else "subaccount.create",
        target=account,
    )
    return account


@transaction.atomic
def account_update(*, actor: Actor, account: Account, **fields: Any) -> Account:
    actor.require(Perm.ACCOUNT_MANAGE)
    _require_open(account)
    if "name" in fields and not (fields["name"] or "").strip():
        raise ValidationFailed(details={"name": [_("This field is required.")]})
    validate_account_fields(fields)
    changed = {key: value for key, value in fields.items() if getattr(account, key) != value}
    for key, value in changed.items():
        setattr(account, key, value)
    if changed:
        account.save(update_fields=list(changed))
        audit_record(actor=actor, account=account, action="account.update", target=account,
                     details={"fields": sorted(changed)})
    return account


@transaction.atomic
def account_suspend(*, actor: Actor, account: Account, reason: str, note: str = "") -> Account:
    """Suspend a whole account (P-8): nothing new is accepted, all data is kept."""
    actor.require_operator()
    if account.status == AccountStatus.TERMINATED:
        raise Conflict(_("A terminated account cannot be suspended."))
    _set_status(actor=actor, obj=account, status=AccountStatus.SUSPENDED, reason=reason,
                note=note, action="account.suspend", account=account)
    return account


@transaction.atomic
def account_reactivate(*, actor: Actor, account: Account, note: str = "") -> Account:
    actor.require_operator()
    if account.status != AccountStatus.SUSPENDED:
        raise Conflict(_("Only a suspended account can be reactivated."))
    _set_status(actor=actor, obj=account, status=AccountStatus.ACTIVE, note=note,
                action="account.reactivate", account=account)
    return account


@transaction.atomic
def account_terminate(*, actor: Actor, account: Account, reason: str = "",
                      purge_at: datetime | None = None) -> Account:
    """Close an account (P-9): the operator any account, a parent its sub-accounts, the
    system when a notice period ends (chappe/lifecycle).

    Its sub-accounts, services, keys and users stop with it — except its administrators,
    who keep a read-only access to export everything (the web app lets a terminated
    account reach its export page only) until the purge job deletes the data, at
    `purge_at` (default: `purge_months`, 3 months, later)."""
    if account.parent_id is None or not actor.can(Perm.SUBACCOUNTS_MANAGE):
        actor.require_operator()
    if account.status == AccountStatus.TERMINATED:
        raise Conflict(_("This account is already terminated."))
    now = timezone.now()
    if purge_at is None:
        purge_at = moment_add_months(now, settings.CHAPPE_LIFECYCLE["purge_months"],
                                     ZoneInfo(account.timezone or "Europe/Paris"))
    for child in account.children.exclude(status=AccountStatus.TERMINATED):
        account_terminate(actor=actor, account=child, reason=reason, purge_at=purge_at)
    account.status = AccountStatus.TERMINATED
    account.terminated_at = now
    account.status_changed_at = now
    account.purge_at = purge_at
    account.status_note = reason
    account.save(update_fields=["status", "terminated_at", "status_changed_at", "purge_at",
                                "status_note"])
    account.services.exclude(status=ServiceStatus.TERMINATED).update(
        status=ServiceStatus.TERMINATED, status_changed_at=now
    )
    account.api_keys.filter(revoked_at__isnull=True).update(revoked_at=now)
    account.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    account.users.exclude(role=Role.ADMINISTRATOR).update(is_active=False)
    audit_record(actor=actor, account=account, action="account.terminate", target=account,
                 details={"reason": reason, "purge_at": purge_at.isoformat()})
    if account.parent_id is not None:
        # The parent's trail shows what happened to its sub-accounts (as for creation).
        audit_record(actor=actor, account=account.parent, action="subaccount.terminate",
                     target=account)
    return account


@transaction.atomic
def account_documents_request(
    *, actor: Actor, account: Account, items: str, suspend: bool = False
) -> DocumentRequest:
    """The operator asks for supporting documents, optionally suspending meanwhile (P-1)."""
    actor.require_operator()
    if not items.strip():
        raise ValidationFailed(details={"items": [_("Say which documents are needed.")]})
    request = DocumentRequest.objects.create(
        account=account, items=items.strip(), suspend_until_received=suspend,
        requested_by=actor.user,
    )
    audit_record(actor=actor, account=account, action="account.documents_request",
                 target=request, details={"items": request.items, "suspend": suspend})
    if suspend and account.status == AccountStatus.ACTIVE:
        _set_status(actor=actor, obj=account, status=AccountStatus.SUSPENDED,
                    reason=SuspensionReason.DOCUMENTS_REQUIRED, note=request.items,
                    action="account.suspend", account=account)
    return request


@transaction.atomic
def account_document_upload(
    *, actor: Actor, account: Account, file: Any, description: str = ""
) -> AccountDocument:
    actor.require(Perm.ACCOUNT_MANAGE)
    pending = account.document_requests.filter(received_at__isnull=True).first()
    document = AccountDocument.objects.create(
        account=account, request=pending, file=file, description=description[:200]
    )
    audit_record(actor=actor, account=account, action="account.document_upload",
                 target=document, details={"name": file.name})
    return document


@transaction.atomic
def account_documents_received(*, actor: Actor, request: DocumentRequest) -> DocumentRequest:
    """The operator accepts the documents; a suspension made for them is lifted."""
    actor.require_operator()
    if request.received_at is not None:
        raise Conflict(_("These documents were already marked as received."))
    request.received_at = timezone.now()
    request.save(update_fields=["received_at"])
    account = request.account
    audit_record(actor=actor, account=account, action="account.documents_received",
                 target=request)
    still_waiting = account.document_requests.filter(
        received_at__isnull=True, suspend_until_received=True
    ).exists()
    if (
        account.status == AccountStatus.SUSPENDED
        and account.suspension_reason == SuspensionReason.DOCUMENTS_REQUIRED
        and not still_waiting
    ):
        _set_status(actor=actor, obj=account, status=AccountStatus.ACTIVE,
                    action="account.reactivate", account=account)
    return request
