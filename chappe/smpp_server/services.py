"""SMPP credentials of client accounts (system_id ≤ 16, password ≤ 8 as SMPP 3.4 allows,
stored hashed like user passwords)."""

import ipaddress
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.common.errors import Conflict, ValidationFailed
from chappe.smpp_server.models import SmppAccount

SYSTEM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,16}$")
MAX_BINDS, MAX_MPS = 32, 10_000


def _validate(*, password: str | None, allowed_ips: list[str] | None, max_binds: int | None,
              max_msg_per_s: int | None, default_sender: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if password is not None and not (1 <= len(password) <= 8 and password.isprintable()):
        errors["password"] = [_("1 to 8 printable characters (SMPP 3.4).")]
    for ip in allowed_ips or []:
        try:
            ipaddress.ip_network(ip, strict=False)
        except ValueError:
            errors.setdefault("allowed_ips", []).append(_("Not an IP address or network: %s")
                                                        % ip)
    if max_binds is not None and not 1 <= max_binds <= MAX_BINDS:
        errors["max_binds"] = [_("Between 1 and %d.") % MAX_BINDS]
    if max_msg_per_s is not None and not 1 <= max_msg_per_s <= MAX_MPS:
        errors["max_msg_per_s"] = [_("Between 1 and %d.") % MAX_MPS]
    if default_sender is not None and len(default_sender) > 16:
        errors["default_sender"] = [_("At most 16 characters.")]
    if errors:
        raise ValidationFailed(details=errors)


def smpp_account_create(*, actor: Actor, account: Account, system_id: str, password: str,
                        allowed_ips: list[str] | None = None, max_binds: int = 4,
                        max_msg_per_s: int = 100, default_sender: str = "") -> SmppAccount:
    actor.require(Perm.API_KEYS_MANAGE)
    if not SYSTEM_ID.match(system_id):
        raise ValidationFailed(details={"system_id": [
            _("1 to 16 letters, digits, '.', '_' or '-'.")]})
    _validate(password=password, allowed_ips=allowed_ips, max_binds=max_binds,
              max_msg_per_s=max_msg_per_s, default_sender=default_sender)
    smpp = SmppAccount(account=account, system_id=system_id, allowed_ips=allowed_ips or [],
                       max_binds=max_binds, max_msg_per_s=max_msg_per_s,
                       default_sender=default_sender)
    smpp.set_password(password)
    try:
        with transaction.atomic():
            smpp.save()
    except IntegrityError as exc:
        raise Conflict(_("This system_id is taken."), code="system_id_taken") from exc
    return smpp


def smpp_account_update(*, actor: Actor, smpp: SmppAccount, **changes: Any) -> SmppAccount:
    actor.require(Perm.API_KEYS_MANAGE)
    changes = {k: v for k, v in changes.items() if v is not None}
    _validate(password=changes.get("password"), allowed_ips=changes.get("allowed_ips"),
              max_binds=changes.get("max_binds"), max_msg_per_s=changes.get("max_msg_per_s"),
              default_sender=changes.get("default_sender"))
    if "password" in changes:
        smpp.set_password(changes.pop("password"))
    for name in ("allowed_ips", "max_binds", "max_msg_per_s", "default_sender", "enabled"):
        if name in changes:
            setattr(smpp, name, changes[name])
    smpp.save()
    return smpp


def smpp_account_delete(*, actor: Actor, smpp: SmppAccount) -> None:
    actor.require(Perm.API_KEYS_MANAGE)
    smpp.enabled = False  # binds end at their next request; submissions stay for receipts
    smpp.system_id = f"~{smpp.pk.hex[:15]}"
    smpp.save()
