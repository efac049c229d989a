from typing import Any

from django.db.models import QuerySet

from chappe.accounts.models import Account
from chappe.common.lookup import filtered, get_or_404
from chappe.webhooks.models import WebhookEvent


def webhook_event_list(*, account: Account, type: str | None = None,
                       status: str | None = None) -> QuerySet[WebhookEvent]:
    return filtered(WebhookEvent.objects.filter(account=account), type=type, status=status)


def webhook_event_get(*, account: Account, id: Any) -> WebhookEvent:
    return get_or_404(WebhookEvent.objects.filter(account=account)
                      .prefetch_related("attempt_log"), id)
