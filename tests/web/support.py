from decimal import Decimal

from django.test import Client

from chappe.accounts.models import User
from chappe.billing.selectors import balance_summary


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def usable(account) -> Decimal:
    """The account's usable prepaid credit, all currencies added (tests use EUR only)."""
    return sum((Decimal(row["usable_micros"]) / 1_000_000 for row in balance_summary(
        account=account)), Decimal(0))
