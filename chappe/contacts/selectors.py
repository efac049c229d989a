from collections.abc import Iterable

from chappe.accounts.models import Account
from chappe.contacts.models import OptOut

_CHUNK = 900  # stays under SQLite's bound-parameter limit


def opted_out_numbers(*, account: Account, numbers: Iterable[str]) -> set[str]:
    """Which of `numbers` (E.164) are on the account's red list."""
    wanted = list(dict.fromkeys(numbers))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        found.update(OptOut.objects.filter(
            account=account, number__in=wanted[start:start + _CHUNK]
        ).values_list("number", flat=True))
    return found
