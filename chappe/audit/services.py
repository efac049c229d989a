"""Writing the audit trail (P-13). The trail sits below the apps that use it, so it
knows the one acting only as what it records of them (`AuditActor`)."""

from typing import Any, Protocol

from django.db import models
from django.db.models import Q

from chappe.audit.models import AuditEntry
from chappe.common.erasure import mentioning, number_variants, scrub


class AuditActor(Protocol):
    """What the trail records of whoever acts (`chappe.accounts.actor.Actor` is one)."""

    @property
    def account(self) -> Any: ...
    @property
    def user(self) -> Any: ...
    @property
    def api_key(self) -> Any: ...
    @property
    def label(self) -> str: ...
    @property
    def is_operator(self) -> bool: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def user_agent(self) -> str: ...


def audit_record(
    *,
    actor: AuditActor,
    action: str,
    account: models.Model | None = None,
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


def audit_entries_redact(*, account: models.Model, number: str) -> int:
    """The audit trail's part of a recipient's erasure (P-12, decision 0018): the number
    (E.164, or its national digits) redacted from the account's entries that mention it.
    The trail is append-only; this is the one update ever made to it."""
    variants = number_variants(number)
    entries = AuditEntry.objects.filter(account=account)
    redacted = 0
    for entry in entries.filter(Q(target_label__contains=number) | Q(
            pk__in=mentioning(entries, "details", variants).values("pk"))):
        AuditEntry.objects.filter(pk=entry.pk).update(
            target_label=scrub(entry.target_label, variants),
            details=scrub(entry.details, variants))
        redacted += 1
    return redacted
