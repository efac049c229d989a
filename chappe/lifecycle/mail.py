"""The e-mail of a termination notice (P-9, P-10), sent once by a job to the account's
administrators and billing address."""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chappe.callcenter.notices import billing_recipients, mail_send
from chappe.lifecycle.models import NoticeStatus, TerminationNotice


def notice_email_send(*, notice_id: Any) -> int:
    """E-mail the notice (once: a rerun after success sends nothing)."""
    with transaction.atomic():
        notice = TerminationNotice.objects.select_for_update().select_related(
            "account").get(pk=notice_id)
        if notice.emailed_at is not None or notice.status != NoticeStatus.RUNNING:
            return 0
        account = notice.account
        sent = mail_send(account=account, recipients=billing_recipients(account=account),
                         template=f"termination_{notice.kind}", prefix="lifecycle/email",
                         context={"notice": notice, "account": account,
                                  "url": f"{settings.PUBLIC_URL}/account/closure/"})
        notice.emailed_at = timezone.now()
        notice.save(update_fields=["emailed_at"])
    return sent
