"""The notices' e-mails, sent by jobs: a notice to the accounts it concerns (every
active top-level account when it names none), a forwarded recipient request to the
client's administrators."""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chappe.accounts.models import Account, AccountStatus
from chappe.callcenter.notices import billing_recipients, mail_send
from chappe.notices.models import Notice, RecipientRequest


def notice_email_send(*, notice_id: Any) -> int:
    """E-mail the notice once (a rerun after success sends nothing)."""
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice_id)
        if notice.emailed_at is not None:
            return 0
        targets = list(notice.accounts.all()) or list(
            Account.objects.filter(parent__isnull=True).exclude(
                status=AccountStatus.TERMINATED))
        sent = 0
        for account in targets:
            sent += mail_send(account=account, recipients=billing_recipients(account=account),
                              template="notice", prefix="notices/email",
                              context={"notice": notice, "account": account,
                                       "url": f"{settings.PUBLIC_URL}/notices/"})
        notice.emailed_at = timezone.now()
        notice.save(update_fields=["emailed_at"])
    return sent


def recipient_request_email_send(*, request_id: Any) -> int:
    request = RecipientRequest.objects.select_related("account").get(pk=request_id)
    account = request.account
    return mail_send(account=account, recipients=billing_recipients(account=account),
                     template="recipient_request", prefix="notices/email",
                     context={"request": request, "account": account,
                              "url": f"{settings.PUBLIC_URL}/notices/requests/"})
