"""Writes on accounts, sub-accounts, services, users, invitations and API keys.

Every function takes the acting `Actor` explicitly, checks its permission, runs in one
transaction and records an audit entry (P-13) in that same transaction.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signing import Signer
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import (
    Account,
    AccountDocument,
    AccountStatus,
    ApiKey,
    DocumentRequest,
    Invitation,
    Service,
    ServiceKind,
    ServiceStatus,
    SuspensionReason,
    User,
)
from chappe.accounts.roles import Perm, Role
from chappe.accounts.selectors import account_ancestors
from chappe.accounts.validation import validate_account_fields
from chappe.common.errors import Conflict, PermissionDenied, ServiceRefused, ValidationFailed
from chappe.privacy.services import audit_record
from chappe.runtime.jobs import job_enqueue

INVITATION_TTL = timedelta(days=7)
_INVITATION_SIGNER = Signer(salt="chappe.accounts.invitation")
TERMINATION_NOTICE = timedelta(days=30)
API_KEY_TOUCH_INTERVAL = timedelta(seconds=60)


def _require_operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise PermissionDenied(_("Only the platform operator can do this."))


def _require_open(account: Account | None) -> None:
    """A terminated account is read-only until its data is purged (P-9)."""
    if account is not None and account.status == AccountStatus.TERMINATED:
        raise ServiceRefused(_("The account is terminated."), code="account_terminated",
                             details={"account": str(account.pk)})


def _hash_secret(secret: str) -> str:
    # Keys and tokens are 256-bit random strings: a fast hash is enough (no brute force
    # is possible), and it keeps per-request API key checks cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


# --- accounts -----------------------------------------------------------------------


@transaction.atomic
def account_create(
    *, actor: Actor, name: str, parent: Account | None = None, **fields: Any
) -> Account:
    """An account created by the operator, or a sub-account created by its parent (P-1, P-2).

    A sub-account inherits the parent's time zone, country and ordered services unless
    told otherwise."""
    if parent is None:
        _require_operator(actor)
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


@transaction.atomic
def account_suspend(*, actor: Actor, account: Account, reason: str, note: str = "") -> Account:
    """Suspend a whole account (P-8): nothing new is accepted, all data is kept."""
    _require_operator(actor)
    if account.status == AccountStatus.TERMINATED:
        raise Conflict(_("A terminated account cannot be suspended."))
    _set_status(actor=actor, obj=account, status=AccountStatus.SUSPENDED, reason=reason,
                note=note, action="account.suspend", account=account)
    return account


@transaction.atomic
def account_reactivate(*, actor: Actor, account: Account, note: str = "") -> Account:
    _require_operator(actor)
    if account.status != AccountStatus.SUSPENDED:
        raise Conflict(_("Only a suspended account can be reactivated."))
    _set_status(actor=actor, obj=account, status=AccountStatus.ACTIVE, note=note,
                action="account.reactivate", account=account)
    return account


@transaction.atomic
def account_terminate(*, actor: Actor, account: Account) -> Account:
    """Close an account (P-9): the operator any account, a parent its sub-accounts.

    Its sub-accounts, services, users and keys stop with it; the data stays until the
    retention job purges it (3 months later)."""
    if account.parent_id is None or not actor.can(Perm.SUBACCOUNTS_MANAGE):
        _require_operator(actor)
    if account.status == AccountStatus.TERMINATED:
        raise Conflict(_("This account is already terminated."))
    now = timezone.now()
    for child in account.children.exclude(status=AccountStatus.TERMINATED):
        account_terminate(actor=actor, account=child)
    account.status = AccountStatus.TERMINATED
    account.terminated_at = now
    account.status_changed_at = now
    account.save(update_fields=["status", "terminated_at", "status_changed_at"])
    account.services.exclude(status=ServiceStatus.TERMINATED).update(
        status=ServiceStatus.TERMINATED, status_changed_at=now
    )
    account.api_keys.filter(revoked_at__isnull=True).update(revoked_at=now)
    account.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    account.users.update(is_active=False)
    audit_record(actor=actor, account=account, action="account.terminate", target=account)
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
    _require_operator(actor)
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
    _require_operator(actor)
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


# --- ordered services ---------------------------------------------------------------


def service_require(*, account: Account, kind: str) -> Service:
    """The gate every product passes before accepting work (P-4, P-8).

    Raises `ServiceRefused` naming the reason when the account, one of its parents, the
    service itself or the same service of a parent is suspended or terminated, or when
    the service was never ordered. A sub-account works under its parent's contract: the
    parent's suspension for non-payment stops the sub-accounts' sends too."""
    ancestors = account_ancestors(account=account)
    for holder in [account, *ancestors]:
        if holder.status == AccountStatus.SUSPENDED:
            raise ServiceRefused(
                _("The account is suspended: %(reason)s.")
                % {"reason": holder.get_suspension_reason_display() or _("no reason given")},
                code="account_suspended",
                details={"account": str(holder.pk), "reason": holder.suspension_reason},
            )
        if holder.status == AccountStatus.TERMINATED:
            raise ServiceRefused(_("The account is terminated."), code="account_terminated",
                                 details={"account": str(holder.pk)})
    label = ServiceKind(kind).label
    service = account.services.filter(kind=kind).first()
    if service is None:
        raise ServiceRefused(_("The %(service)s service is not ordered on this account.")
                             % {"service": label}, code="service_not_ordered",
                             details={"service": kind})
    if service.status == ServiceStatus.SUSPENDED:
        raise ServiceRefused(
            _("The %(service)s service is suspended: %(reason)s.")
            % {"service": label,
               "reason": service.get_suspension_reason_display() or _("no reason given")},
            code="service_suspended",
            details={"service": kind, "reason": service.suspension_reason},
        )
    if _service_ended(service):
        raise ServiceRefused(_("The %(service)s service is terminated.") % {"service": label},
                             code="service_terminated", details={"service": kind})
    parent_service = Service.objects.filter(
        account__in=ancestors, kind=kind, status=ServiceStatus.SUSPENDED).first()
    if parent_service is not None:
        raise ServiceRefused(
            _("The %(service)s service of the parent account is suspended: %(reason)s.")
            % {"service": label,
               "reason": parent_service.get_suspension_reason_display() or _("no reason given")},
            code="service_suspended",
            details={"service": kind, "reason": parent_service.suspension_reason,
                     "account": str(parent_service.account_id)},
        )
    return service


def services_close_due(*, now: datetime | None = None) -> int:
    """Mark as terminated the services whose notice period is over (P-9); returns how
    many. `service_require` already refuses them; this makes their status say so."""
    now = now or timezone.now()
    closed = 0
    for service in Service.objects.select_related("account").filter(
            termination_effective_at__lte=now).exclude(status=ServiceStatus.TERMINATED):
        with transaction.atomic():
            service.status, service.status_changed_at = ServiceStatus.TERMINATED, now
            service.save(update_fields=["status", "status_changed_at"])
            audit_record(actor=SYSTEM, account=service.account, action="service.close",
                         target=service, details={"reason": "notice period over"})
        closed += 1
    return closed


def _service_ended(service: Service) -> bool:
    """Terminated, or its notice period is over (nothing flips the status at that date)."""
    return service.status == ServiceStatus.TERMINATED or (
        service.termination_effective_at is not None
        and service.termination_effective_at <= timezone.now()
    )


@transaction.atomic
def service_order(*, actor: Actor, account: Account, kind: str) -> Service:
    actor.require(Perm.SERVICES_MANAGE)
    if kind not in ServiceKind.values:
        raise ValidationFailed(details={"kind": [_("Unknown service.")]})
    _require_open(account)
    service, created = Service.objects.get_or_create(account=account, kind=kind)
    if not created:
        if not _service_ended(service):
            raise Conflict(_("This service is already ordered."))
        service.status = ServiceStatus.ACTIVE
        service.suspension_reason = ""
        service.termination_effective_at = None
        service.ordered_at = service.status_changed_at = timezone.now()
        service.save()
    audit_record(actor=actor, account=account, action="service.order", target=service,
                 details={"kind": kind})
    return service


@transaction.atomic
def service_suspend(*, actor: Actor, service: Service, reason: str, note: str = "") -> Service:
    _require_operator(actor)
    if service.status == ServiceStatus.TERMINATED:
        raise Conflict(_("A terminated service cannot be suspended."))
    _set_status(actor=actor, obj=service, status=ServiceStatus.SUSPENDED, reason=reason,
                note=note, action="service.suspend", account=service.account)
    return service


@transaction.atomic
def service_reactivate(*, actor: Actor, service: Service, note: str = "") -> Service:
    _require_operator(actor)
    if service.status != ServiceStatus.SUSPENDED:
        raise Conflict(_("Only a suspended service can be reactivated."))
    _set_status(actor=actor, obj=service, status=ServiceStatus.ACTIVE, note=note,
                action="service.reactivate", account=service.account)
    return service


@transaction.atomic
def service_terminate(*, actor: Actor, service: Service, immediate: bool = False) -> Service:
    """Terminate a service: by the client with one month's notice (P-9), or at once by
    the operator."""
    if immediate:
        _require_operator(actor)
    else:
        actor.require(Perm.SERVICES_MANAGE)
    if _service_ended(service):
        raise Conflict(_("This service is already terminated."))
    if not immediate and service.termination_effective_at is not None:
        # A second notice must not push back the end date of the first.
        raise Conflict(_("Notice was already given for this service."), code="notice_given")
    now = timezone.now()
    if immediate:
        service.status = ServiceStatus.TERMINATED
        service.status_changed_at = service.termination_effective_at = now
    else:
        service.termination_effective_at = now + TERMINATION_NOTICE
    service.save(update_fields=["status", "status_changed_at", "termination_effective_at"])
    audit_record(actor=actor, account=service.account, action="service.terminate",
                 target=service,
                 details={"effective_at": service.termination_effective_at.isoformat()})
    return service


# --- users and invitations ----------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationFailed(details={"role": [_("Unknown role.")]})


@transaction.atomic
def user_invite(*, actor: Actor, account: Account, email: str, role: str) -> tuple[Invitation, str]:
    """Invite a person by e-mail; returns the invitation and its one-time token.

    The e-mail leaves through the job queue after commit."""
    actor.require(Perm.USERS_MANAGE)
    _require_open(account)
    _check_role(role)
    email = User.objects.normalize_email((email or "").strip()).lower()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise ValidationFailed(details={"email": [_("Enter a valid e-mail address.")]}) from exc
    if User.objects.filter(email=email).exists():
        raise Conflict(_("A user with this e-mail already exists."), code="user_exists")
    if account.invitations.filter(email=email, accepted_at__isnull=True, revoked_at__isnull=True,
                                  expires_at__gt=timezone.now()).exists():
        raise Conflict(_("An invitation to this e-mail is already pending."),
                       code="invitation_pending")
    invitation = Invitation(account=account, email=email, role=role, invited_by=actor.user,
                            expires_at=timezone.now() + INVITATION_TTL)
    token = invitation_token(invitation)
    invitation.token_hash = _hash_secret(token)
    invitation.save()
    # The job carries only the id: the token is re-derived there, never stored in clear.
    job_enqueue(
        name="accounts.send_invitation",
        payload={"invitation": str(invitation.pk), "language": get_language() or "en"},
        unique_key=f"invitation:{invitation.pk}",
    )
    audit_record(actor=actor, account=account, action="user.invite", target=invitation,
                 details={"email": email, "role": role})
    return invitation, token


def invitation_token(invitation: Invitation) -> str:
    """The invitation's link token: its id signed with the secret key (HMAC). The database
    keeps only its hash, and the e-mail job re-derives it from the id."""
    return _INVITATION_SIGNER.sign(invitation.pk.hex)


def invitation_find(*, token: str, lock: bool = False) -> Invitation | None:
    """A usable invitation for this token, or None (unknown, used, revoked or expired)."""
    invitations = Invitation.objects.filter(
        token_hash=_hash_secret(token), accepted_at__isnull=True, revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    ).select_related("account")
    return (invitations.select_for_update(of=("self",)) if lock else invitations).first()


@transaction.atomic
def invitation_accept(
    *, token: str, password: str, first_name: str = "", last_name: str = "",
    ip: str | None = None, user_agent: str = "",
) -> User:
    # Locked: two simultaneous acceptances of one link serialize; the second finds it used.
    invitation = invitation_find(token=token, lock=True)
    if invitation is None:
        raise ValidationFailed(_("This invitation is invalid or has expired."),
                               code="invitation_invalid")
    if User.objects.filter(email=invitation.email).exists():
        # Another account invited the same person, who joined it first.
        raise Conflict(_("A user with this e-mail already exists."), code="user_exists")
    user = User(email=invitation.email, first_name=first_name, last_name=last_name,
                account=invitation.account, role=invitation.role)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(details={"password": list(exc.messages)}) from exc
    user.set_password(password)
    user.save()
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    audit_record(actor=Actor(account=invitation.account, user=user, ip=ip, user_agent=user_agent),
                 action="user.join", target=user, details={"role": user.role})
    return user


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    actor.require(Perm.USERS_MANAGE)
    if invitation.accepted_at or invitation.revoked_at:
        raise Conflict(_("This invitation is no longer pending."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(actor=actor, account=invitation.account, action="invitation.revoke",
                 target=invitation)
    return invitation


def _is_last_admin(user: User) -> bool:
    return not User.objects.filter(
        account_id=user.account_id, role=Role.ADMINISTRATOR, is_active=True
    ).exclude(pk=user.pk).exists()


@transaction.atomic
def user_update(
    *, actor: Actor, user: User, role: str | None = None, is_active: bool | None = None,
    first_name: str | None = None, last_name: str | None = None,
) -> User:
    """Change a user's role, names or active flag; an account keeps one active admin."""
    actor.require(Perm.USERS_MANAGE)
    _require_open(user.account)
    changes: dict[str, Any] = {}
    if role is not None and role != user.role:
        _check_role(role)
        changes["role"] = role
    if is_active is not None and is_active != user.is_active:
        changes["is_active"] = is_active
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None and value != getattr(user, field):
            changes[field] = value
    losing_admin = user.role == Role.ADMINISTRATOR and user.is_active and (
        changes.get("role", Role.ADMINISTRATOR) != Role.ADMINISTRATOR
        or changes.get("is_active", True) is False
    )
    if losing_admin:
        # Serialize administrator changes per account: two admins demoting each other at
        # once must not leave the account without one.
        Account.objects.select_for_update().filter(pk=user.account_id).first()
    if losing_admin and _is_last_admin(user):
        raise Conflict(_("An account must keep at least one active administrator."),
                       code="last_administrator")
    if changes:
        for key, value in changes.items():
            setattr(user, key, value)
        user.save(update_fields=list(changes))
        audit_record(actor=actor, account=user.account, action="user.update", target=user,
                     details={k: v for k, v in changes.items() if k in ("role", "is_active")})
    return user


# --- API keys -----------------------------------------------------------------------

# A key reads `chp_<8 hex>_<secret>`; the first 12 characters are its visible prefix.
API_KEY_PREFIX = "chp_"
# 48 random bits: prefixes stay unique (they are the lookup key) far past millions of keys.
API_KEY_PREFIX_HEX = 12


@transaction.atomic
def api_key_create(
    *, actor: Actor, account: Account, name: str, role: str = Role.ADMINISTRATOR
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never shown again."""
    actor.require(Perm.API_KEYS_MANAGE)
    _require_open(account)
    _check_role(role)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(details={"name": [_("This field is required.")]})
    prefix = API_KEY_PREFIX + secrets.token_hex(API_KEY_PREFIX_HEX // 2)
    raw = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(account=account, name=name[:100], prefix=prefix,
                                key_hash=_hash_secret(raw), role=role, created_by=actor.user)
    audit_record(actor=actor, account=account, action="api_key.create", target=key,
                 details={"prefix": prefix, "role": role})
    return key, raw


@transaction.atomic
def api_key_revoke(*, actor: Actor, api_key: ApiKey) -> ApiKey:
    actor.require(Perm.API_KEYS_MANAGE)
    if api_key.revoked_at is not None:
        raise Conflict(_("This API key is already revoked."))
    api_key.revoked_at = timezone.now()
    api_key.save(update_fields=["revoked_at"])
    audit_record(actor=actor, account=api_key.account, action="api_key.revoke", target=api_key,
                 details={"prefix": api_key.prefix})
    return api_key


def api_key_prefix(raw_key: str) -> str:
    """The visible prefix of `chp_<hex>_<secret>` (the secret may itself contain "_")."""
    return API_KEY_PREFIX + raw_key[len(API_KEY_PREFIX):].partition("_")[0]


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Records its last use (at most once a
    minute, so authentication does not cost a write per request)."""
    raw_key = raw_key.strip()
    if not raw_key.startswith(API_KEY_PREFIX):
        return None
    prefix = api_key_prefix(raw_key)
    key = ApiKey.objects.select_related("account").filter(prefix=prefix).first()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.key_hash, _hash_secret(raw_key)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > API_KEY_TOUCH_INTERVAL:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
