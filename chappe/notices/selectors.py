"""Reads of notices and terms for the web app (the banner on every page)."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from chappe.accounts.models import Account
from chappe.notices.models import Notice, TermsVersion
from chappe.notices.services import (
    notices_current,
    terms_accepted,
    terms_current,
)


@dataclass(frozen=True)
class Banner:
    notices: list[Notice]
    # The version in force that the account's administrators have not accepted.
    terms_to_accept: TermsVersion | None


def banner_for(*, account: Account, administrator: bool,
               now: datetime | None = None) -> Banner:
    now = now or timezone.now()
    current = terms_current(now=now)
    pending = (current if administrator and current is not None
               and terms_accepted(account=account, terms=current) is None else None)
    return Banner(notices=list(notices_current(account=account, now=now)[:5]),
                  terms_to_accept=pending)
