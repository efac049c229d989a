"""Tenant-scoped reads. An object of another account is reported as missing (404), never
as forbidden, so ids of other tenants leak nothing."""

import uuid
from typing import Any

from django.db.models import QuerySet

from chappe.accounts.models import Account, ApiKey, Invitation, Service, User
from chappe.common.errors import NotFound
from chappe.common.lookup import get_or_404, is_uuid


def account_descendant_ids(*, account: Account) -> list[uuid.UUID]:
    """Ids of every sub-account below `account`, at any depth (the tree is shallow)."""
    found: list[uuid.UUID] = []
    frontier = [account.pk]
    while frontier:
        frontier = list(Account.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
        found.extend(frontier)
    return found


def account_ancestors(*, account: Account) -> list[Account]:
    ancestors = []
    current = account
    while current.parent_id is not None:
        current = Account.objects.get(pk=current.parent_id)
        ancestors.append(current)
    return ancestors


def subaccount_list(*, account: Account) -> QuerySet[Account]:
    return Account.objects.filter(parent=account)


def subaccount_get(*, account: Account, id: Any) -> Account:
    """A sub-account anywhere below `account`; never the account itself or a relative."""
    if not is_uuid(id):
        raise NotFound()
    return get_or_404(Account.objects.filter(pk__in=account_descendant_ids(account=account)), id)


def managed_account_get(*, account: Account, id: Any) -> Account:
    """`account` itself or one of its sub-accounts: what an actor may work on (P-2)."""
    if str(id) == str(account.pk):
        return account
    return subaccount_get(account=account, id=id)


def user_list(*, account: Account) -> QuerySet[User]:
    return User.objects.filter(account=account)


def user_get(*, account: Account, id: Any) -> User:
    return get_or_404(user_list(account=account), id)


def api_key_list(*, account: Account) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(account=account)


def api_key_get(*, account: Account, id: Any) -> ApiKey:
    return get_or_404(api_key_list(account=account), id)


def invitation_list(*, account: Account) -> QuerySet[Invitation]:
    return Invitation.objects.filter(account=account)


def invitation_get(*, account: Account, id: Any) -> Invitation:
    return get_or_404(invitation_list(account=account), id)


def service_list(*, account: Account) -> QuerySet[Service]:
    return Service.objects.filter(account=account)


def service_get(*, account: Account, kind: str) -> Service:
    try:
        return service_list(account=account).get(kind=kind)
    except Service.DoesNotExist as exc:
        raise NotFound() from exc
