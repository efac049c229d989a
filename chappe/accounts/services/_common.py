"""What the account services share: the open-account guard, secret hashing and the
status setter (every change audited in its transaction)."""

import hashlib

from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import (
    Account,
    AccountStatus,
    Service,
    SuspensionReason,
)
from chappe.accounts.roles import Role
from chappe.audit.services import audit_record
from chappe.common.errors import ServiceRefused, ValidationFailed


def _require_open(account: Account | None) -> None:
    """A terminated account is read-only until its data is purged (P-9)."""
    if account is not None and account.status == AccountStatus.TERMINATED:
        raise ServiceRefused(_("The account is terminated."), code="account_terminated",
                             details={"account": str(account.pk)})


def _hash_secret(secret: str) -> str:
    # Keys and tokens are 256-bit random strings: a fast hash is enough (no brute force
    # is possible), and it keeps per-request API key checks cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


def _set_status(
    *,
    actor: Actor,
    obj: Account | Service,
    status: str,
    reason: str = "",
    note: str = "",
    action: str,
    account: Account,
) -> None:
    if reason and reason not in SuspensionReason.values:
        raise ValidationFailed(details={"reason": [_("Unknown suspension reason.")]})
    obj.status = status
    obj.suspension_reason = reason
    obj.status_note = note
    obj.status_changed_at = timezone.now()
    obj.save(update_fields=["status", "suspension_reason", "status_note", "status_changed_at"])
    audit_record(actor=actor, account=account, action=action, target=obj,
                 details={"reason": reason, "note": note} if reason or note else {})


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationFailed(details={"role": [_("Unknown role.")]})
