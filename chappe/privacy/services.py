from typing import Any

from django.db import models

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.privacy.models import AuditEntry


def audit_record(
    *,
    actor: Actor,
    action: str,
    account: Account | None = None,
    target: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit entry; call it inside the transaction of the action it records."""
    return AuditEntry.objects.create(
        account=account if account is not None else actor.account,
        actor_user=actor.user,
        actor_api_key=actor.api_key,
        actor_label=actor.label,
        is_operator=actor.is_operator,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:254] if target is not None else "",
        details=details or {},
        ip=actor.ip,
        user_agent=actor.user_agent[:400],
    )
