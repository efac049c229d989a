"""E-mails of the contact center: a new voicemail to the users who asked for it, and the
notices about a rented number that could not be paid.

Why a module: both are rendered once per recipient, in that person's language and the
account's time zone, from templates under `callcenter/email/`, and sent by jobs
(tasks.py) — never inside a request or a call, so a slow mail server delays nobody.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone, translation

from chappe.accounts.models import Account
from chappe.accounts.roles import Role
from chappe.billing.periods import zone


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str


def _language(user_language: str) -> str:
    known = {code for code, _name in settings.LANGUAGES}
    return user_language if user_language in known else settings.LANGUAGE_CODE


def billing_recipients(*, account: Account) -> list[Recipient]:
    """Who hears about the account's money: its billing e-mail and its active
    administrators (each address once)."""
    found: dict[str, Recipient] = {}
    if account.billing_email:
        found[account.billing_email.lower()] = Recipient(account.billing_email,
                                                         settings.LANGUAGE_CODE)
    for user in account.users.filter(is_active=True, role=Role.ADMINISTRATOR):
        found.setdefault(user.email.lower(), Recipient(user.email, _language(user.language)))
    return list(found.values())


def user_recipient(user) -> Recipient:
    return Recipient(user.email, _language(user.language))


def mail_send(*, account: Account, recipients: Iterable[Recipient], template: str,
              context: dict[str, Any],
              attachments: Iterable[tuple[str, bytes, str]] = (),
              prefix: str = "callcenter/email") -> int:
    """Render `<prefix>/<template>.txt` (and `_subject.txt`) for each recipient and send
    it; returns how many were sent."""
    attachments = list(attachments)
    sent = 0
    for recipient in recipients:
        with translation.override(recipient.language), \
                timezone.override(zone(account.timezone)):
            subject = render_to_string(f"{prefix}/{template}_subject.txt",
                                       context).strip()
            body = render_to_string(f"{prefix}/{template}.txt", context)
        message = EmailMessage(" ".join(subject.split()), body, to=[recipient.email])
        for name, content, mimetype in attachments:
            message.attach(name, content, mimetype)
        message.send()
        sent += 1
    return sent
