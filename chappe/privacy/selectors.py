from datetime import datetime

from django.db.models import QuerySet

from chappe.accounts.models import Account
from chappe.privacy.models import AuditEntry


def audit_entry_list(
    *,
    account: Account,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.filter(account=account)
    if action:
        entries = entries.filter(action__startswith=action)
    if since:
        entries = entries.filter(created_at__gte=since)
    if until:
        entries = entries.filter(created_at__lt=until)
    return entries
