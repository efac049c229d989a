"""Support e-mail, both ways: the operator's answers sent to the requester (a job), and
the inbound mailbox the worker polls for tickets sent by e-mail (decision 0053).

The inbound mailbox is a **maildir** (`CHAPPE_SUPPORT["maildir"]`): whatever receives
the platform's mail (Postfix, Dovecot, fetchmail/getmail from an IMAP or POP3 box)
delivers into it, so the application holds no mailbox password and the poll is a file
read. Each message in `new/` or `cur/` is read once and removed:

* its sender must be an active user of an account (else it is dropped and logged);
* a subject carrying a ticket reference `[#xxxxxxxx]` of that account adds to the
  ticket; any other opens a new ticket, within the month's quota — over the quota, the
  sender gets the refusal by e-mail;
* the text is the first `text/plain` part (or the HTML's text), cut at `BODY_MAX`.
"""

import logging
import mailbox
import re
from email import message_from_binary_file
from email.message import EmailMessage as ParsedMessage
from email.policy import default as default_policy
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import AccountStatus, User
from chappe.common.errors import ChappeError
from chappe.support.models import Channel, Ticket, TicketMessage
from chappe.support.services import BODY_MAX, SUBJECT_MAX, ticket_client_reply, ticket_open

logger = logging.getLogger(__name__)

REFERENCE = re.compile(r"\[#([0-9a-f]{8})\]")


def answer_email_send(*, message_id: Any) -> bool:
    """E-mail the operator's answer to the ticket's requester."""
    message = TicketMessage.objects.select_related("ticket__opened_by").get(pk=message_id)
    ticket = message.ticket
    subject = f"[#{ticket.reference}] {ticket.subject}"
    language = ticket.opened_by.language if ticket.opened_by else ""
    with translation.override(language or settings.LANGUAGE_CODE):
        hint = _("Reply to this e-mail to add to the ticket; keep the reference in the "
                 "subject.")
    body = f"{message.body}\n\n-- \n{settings.PUBLIC_URL}/support/{ticket.pk}/\n{hint}"
    EmailMessage(subject, body, to=[ticket.email],
                 reply_to=[settings.CHAPPE_SUPPORT["email"]]).send()
    return True


def _text(parsed: ParsedMessage) -> str:
    part = parsed.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        return ""
    if part.get_content_type() == "text/html":
        content = strip_tags(content)
    return str(content)[:BODY_MAX]


def _handle(parsed: ParsedMessage) -> str:
    """Open or add to a ticket from one e-mail; returns what was done (for the log)."""
    _name, sender = parseaddr(str(parsed.get("From", "")))
    sender = sender.strip().lower()
    user = (User.objects.select_related("account").filter(
        email__iexact=sender, is_active=True, account__isnull=False).first()
        if sender else None)
    if user is None or user.account.status == AccountStatus.TERMINATED:
        return "dropped: unknown sender"
    subject = " ".join(str(parsed.get("Subject", "")).split())[:SUBJECT_MAX] or _(
        "(no subject)")
    body = _text(parsed).strip() or _("(empty)")
    actor = Actor(account=user.account, user=user, user_agent="support-mail")
    match = REFERENCE.search(subject)
    ticket = (Ticket.objects.filter(account=user.account, reference=match.group(1)).first()
              if match else None)
    try:
        if ticket is not None:
            ticket_client_reply(actor=actor, ticket=ticket, body=body)
            return f"added to {ticket.pk}"
        ticket = ticket_open(actor=actor, account=user.account, subject=subject, body=body,
                             channel=Channel.EMAIL, email=sender)
        return f"opened {ticket.pk}"
    except ChappeError as exc:
        EmailMessage(f"Re: {subject}", exc.message, to=[sender]).send()
        return f"refused: {exc.code}"


def inbox_poll(*, path: str | Path | None = None) -> list[str]:
    """Read and remove every message of the support maildir (the periodic job)."""
    path = Path(path or settings.CHAPPE_SUPPORT["maildir"])
    box = mailbox.Maildir(path, factory=None, create=True)
    done = []
    for key in list(box.keys()):
        try:
            with box.get_file(key) as raw:
                parsed = message_from_binary_file(raw, policy=default_policy)
            outcome = _handle(parsed)
        except Exception:
            logger.exception("support mail %s could not be read", key)
            outcome = "dropped: unreadable"
        logger.info("support mail %s: %s", key, outcome)
        done.append(outcome)
        box.discard(key)
    return done
