from datetime import datetime

from django.db.models import Model, QuerySet

from chappe.audit.models import AuditEntry
from chappe.common.lookup import filtered


def audit_entry_list(
    *,
    account: Model,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    return filtered(AuditEntry.objects.filter(account=account), action__startswith=action,
                    created_at__gte=since, created_at__lt=until)
