"""Reads of the SMPP server: client credentials, and the messages a bind may ask about."""

import uuid
from typing import Any

from django.db.models import QuerySet

from chappe.accounts.models import Account
from chappe.common.lookup import get_or_404
from chappe.messaging.models import Message
from chappe.smpp_server.models import SmppAccount


def smpp_account_list(*, account: Account) -> QuerySet[SmppAccount]:
    return SmppAccount.objects.filter(account=account).order_by("created_at")


def smpp_account_get(*, account: Account, id: Any) -> SmppAccount:
    return get_or_404(smpp_account_list(account=account), id)


def smpp_message_find(*, account_id: uuid.UUID, smpp_id: uuid.UUID,
                      message_id: str) -> Message | None:
    """A message the account submitted over these SMPP credentials, by our id (None if
    the id is not one of them)."""
    try:
        pk = uuid.UUID(message_id)
    except ValueError:
        return None
    return Message.objects.filter(account_id=account_id, pk=pk,
                                  smpp__smpp_account_id=smpp_id).first()


def smpp_message_status(*, account_id: uuid.UUID, smpp_id: uuid.UUID,
                        message_id: str) -> tuple[str, str] | None:
    """query_sm: such a message's id (canonical) and status, or None."""
    message = smpp_message_find(account_id=account_id, smpp_id=smpp_id, message_id=message_id)
    return None if message is None else (str(message.id), message.status)
