from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from chappe.accounts.models import Invitation
from chappe.accounts.services import invitation_token, services_close_due
from chappe.queue.registry import job_handler


@job_handler("accounts.services_close", every=timedelta(minutes=10))
def services_close(payload: dict) -> None:
    services_close_due()


@job_handler("accounts.send_invitation")
def send_invitation(payload: dict) -> None:
    invitation = Invitation.objects.select_related("account", "invited_by").get(
        pk=payload["invitation"]
    )
    if invitation.accepted_at or invitation.revoked_at:
        return
    with translation.override(payload.get("language", "en")):
        context = {
            "invitation": invitation,
            "url": f"{settings.PUBLIC_URL}/invitations/{invitation_token(invitation)}/",
        }
        subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
        body = render_to_string("accounts/email/invitation.txt", context)
    EmailMessage(subject, body, to=[invitation.email]).send()
