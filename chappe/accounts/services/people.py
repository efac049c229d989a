"""Users and invitations (P-3): invite by e-mail, accept, revoke, change roles; an
account always keeps an active administrator. The operator also creates users, changes
any of their fields (staff flags, account, e-mail) and sets passwords (the back-office)."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.signing import Signer
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import (
    Account,
    Invitation,
    User,
)
from chappe.accounts.roles import Perm, Role
from chappe.accounts.services._common import (
    _check_role,
    _hash_secret,
    _require_open,
)
from chappe.audit.services import audit_record
from chappe.common.changes import changes_apply
from chappe.common.errors import Conflict, PermissionDenied, ValidationFailed
from chappe.queue.jobs import job_enqueue

INVITATION_TTL = timedelta(days=7)
_INVITATION_SIGNER = Signer(salt="chappe.accounts.invitation")


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


def _keep_an_administrator(user: User, changes: Mapping[str, Any]) -> None:
    """Conflict if `changes` would leave the user's account without an active
    administrator (demoted, deactivated, or moved to another account)."""
    losing_admin = user.account_id is not None and user.role == Role.ADMINISTRATOR \
        and user.is_active and (
            changes.get("role", Role.ADMINISTRATOR) != Role.ADMINISTRATOR
            or changes.get("is_active", True) is False
            or changes.get("account", user.account) != user.account)
    if losing_admin:
        # Serialize administrator changes per account: two admins demoting each other at
        # once must not leave the account without one.
        Account.objects.select_for_update().filter(pk=user.account_id).first()
    if losing_admin and _is_last_admin(user):
        raise Conflict(_("An account must keep at least one active administrator."),
                       code="last_administrator")


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
    _keep_an_administrator(user, changes)
    if changes:
        for key, value in changes.items():
            setattr(user, key, value)
        user.save(update_fields=list(changes))
        audit_record(actor=actor, account=user.account, action="user.update", target=user,
                     details={k: v for k, v in changes.items() if k in ("role", "is_active")})
    return user


def _password_set(user: User, password: str | None) -> None:
    """Set a checked password, or with None disable password log-in."""
    if password is None:
        user.set_unusable_password()
        return
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(details={"password": list(exc.messages)}) from exc
    user.set_password(password)


@transaction.atomic
def user_create(*, actor: Actor, email: str, password: str | None,
                account: Account | None = None, role: str = Role.ADMINISTRATOR) -> User:
    """A user created by the operator: a member of `account`, or without one a person of
    the operator (made staff afterwards with `user_operator_update`). Password None:
    no password log-in (an invitation or a reset sets one)."""
    actor.require_operator()
    _require_open(account)
    _check_role(role)
    email = User.objects.normalize_email((email or "").strip()).lower()
    if User.objects.filter(email=email).exists():
        raise Conflict(_("A user with this e-mail already exists."), code="user_exists")
    user = User(email=email, account=account, role=role)
    try:
        user.full_clean(exclude=["password"])
    except DjangoValidationError as exc:
        raise ValidationFailed(details=exc.message_dict) from None
    _password_set(user, password)
    user.save()
    audit_record(actor=actor, account=account, action="user.create", target=user,
                 details={"role": role})
    return user


# What the operator may change on a user (roles, names, and what only it decides).
OPERATOR_EDITABLE = ("email", "first_name", "last_name", "language", "account", "role",
                     "is_active", "is_staff", "is_superuser")


@transaction.atomic
def user_operator_update(*, actor: Actor, user: User, changes: Mapping[str, Any]) -> User:
    """The operator changes any of `OPERATOR_EDITABLE` (the back-office's user page);
    an account still keeps an active administrator."""
    actor.require_operator()
    user = User.objects.select_for_update().get(pk=user.pk)
    if "role" in changes:
        _check_role(changes["role"])
    _keep_an_administrator(user, changes)
    changed = changes_apply(user, changes, editable=OPERATOR_EDITABLE)
    if changed:
        audit_record(actor=actor, account=user.account, action="user.update", target=user,
                     details={"fields": changed})
    return user


@transaction.atomic
def user_password_set(*, actor: Actor, user: User, password: str | None,
                      reset: bool = False) -> User:
    """Set a user's password (checked by the password rules): by the operator, by the user
    themself, or through a reset link (`reset`; the actor is the user). None disables
    password log-in, which only the operator may do. Audited with who and from where."""
    if not (actor.is_operator or actor.user == user) or (password is None
                                                          and not actor.is_operator):
        raise PermissionDenied()
    user = User.objects.select_for_update().get(pk=user.pk)
    _password_set(user, password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, account=user.account,
                 action="user.password_reset" if reset else "user.password_change",
                 target=user, details={"usable": password is not None,
                                       "by_operator": actor.is_operator and actor.user != user})
    return user
