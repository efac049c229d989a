from datetime import datetime

from django.db.models import QuerySet

from chappe.accounts.models import Account
from chappe.common.lookup import filtered
from chappe.privacy.models import AuditEntry


def audit_entry_list(
    *,
    account: Account,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    return filtered(AuditEntry.objects.filter(account=account), action__startswith=action,
                    created_at__gte=since, created_at__lt=until)
