"""Reads of support tickets, always scoped by account."""

from typing import Any

from django.db.models import QuerySet

from chappe.accounts.models import Account
from chappe.common.lookup import get_or_404
from chappe.support.models import Ticket


def ticket_list(*, account: Account) -> QuerySet[Ticket]:
    return Ticket.objects.filter(account=account)


def ticket_get(*, account: Account, id: Any) -> Ticket:
    return get_or_404(ticket_list(account=account), id)
