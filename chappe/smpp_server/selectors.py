from typing import Any

from django.db.models import QuerySet

from chappe.accounts.models import Account
from chappe.common.lookup import get_or_404
from chappe.smpp_server.models import SmppAccount


def smpp_account_list(*, account: Account) -> QuerySet[SmppAccount]:
    return SmppAccount.objects.filter(account=account).order_by("created_at")


def smpp_account_get(*, account: Account, id: Any) -> SmppAccount:
    return get_or_404(smpp_account_list(account=account), id)
