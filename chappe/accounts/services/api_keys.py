"""API keys (P-3): created and revoked per account, shown once, stored hashed."""

import hmac
import secrets
from collections.abc import Collection
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.activity import activity_touch
from chappe.accounts.actor import Actor
from chappe.accounts.models import (
    Account,
    ApiKey,
)
from chappe.accounts.roles import Perm, Role
from chappe.accounts.services._common import (
    _check_role,
    _hash_secret,
    _require_open,
)
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ValidationFailed

API_KEY_TOUCH_INTERVAL = timedelta(seconds=60)


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
    _touch([key])
    return key


def api_keys_current(*, ids: Collection[int]) -> dict[int, ApiKey]:
    """The keys of `ids` still active, with their accounts, read now in one query and
    their last use recorded (at most once a minute): how the group commit confirms a
    batch of requests authenticated from a per-process cache (decision 0038)."""
    keys = {key.pk: key for key in ApiKey.objects.select_related("account")
            .filter(pk__in=ids, revoked_at__isnull=True)}
    _touch(list(keys.values()))
    return keys


def _touch(keys: list[ApiKey]) -> None:
    now = timezone.now()
    for account_id in {key.account_id for key in keys}:
        activity_touch(account_id=account_id, now=now)
    stale = [key for key in keys
             if key.last_used_at is None or now - key.last_used_at > API_KEY_TOUCH_INTERVAL]
    if stale:
        ApiKey.objects.filter(pk__in=[key.pk for key in stale]).update(last_used_at=now)
        for key in stale:
            key.last_used_at = now
