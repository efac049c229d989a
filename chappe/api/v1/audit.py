from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from chappe.accounts.roles import Perm
from chappe.api.v1.base import actor_of
from chappe.audit.selectors import audit_entry_list

router = Router(tags=["audit"])


class AuditEntryOut(Schema):
    id: int
    created_at: datetime
    actor: str
    is_operator: bool
    action: str
    target_type: str
    target_id: str
    target_label: str
    details: dict[str, Any]
    ip: str | None
    user_agent: str

    @staticmethod
    def resolve_actor(obj) -> str:
        return obj.actor_label


@router.get("/audit-log", response=list[AuditEntryOut])
@paginate(LimitOffsetPagination)
def audit_log(
    request: HttpRequest,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    """Who did what on this account, newest first (P-13). `action` matches a prefix."""
    actor = actor_of(request, Perm.AUDIT_VIEW)
    return audit_entry_list(account=actor.account, action=action, since=since, until=until)
