"""Reads of webhooks: the events of an account, and where an event goes."""

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from chappe.accounts.models import Account
from chappe.common.lookup import filtered, get_or_404
from chappe.webhooks.models import WebhookEvent, WebhookSettings


def webhook_event_list(*, account: Account, type: str | None = None,
                       status: str | None = None) -> QuerySet[WebhookEvent]:
    return filtered(WebhookEvent.objects.filter(account=account), type=type, status=status)


def webhook_event_get(*, account: Account, id: Any) -> WebhookEvent:
    return get_or_404(WebhookEvent.objects.filter(account=account)
                      .prefetch_related("attempt_log"), id)


def webhook_urls(*, targets: Sequence[tuple[Any, str]]) -> list[str]:
    """Where each event goes, for (account id, the callback URL given with the send or
    call): that URL, else the account's default URL, else "" (no event). One query for
    the whole batch, none when every target has its own URL."""
    without = {account_id for account_id, callback_url in targets if not callback_url}
    defaults = dict(WebhookSettings.objects.filter(account_id__in=without)
                    .values_list("account_id", "default_url")) if without else {}
    return [callback_url or defaults.get(account_id, "") for account_id, callback_url in targets]


def webhook_url(*, account_id: Any, callback_url: str) -> str:
    """`webhook_urls` for one event."""
    return webhook_urls(targets=[(account_id, callback_url)])[0]


def twilio_sms_url(*, account_id: Any) -> str:
    """Where the Twilio-compatible API POSTs the account's incoming messages ("" = none)."""
    return WebhookSettings.objects.filter(account_id=account_id).values_list(
        "twilio_sms_url", flat=True).first() or ""
