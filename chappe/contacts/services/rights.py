"""Recipients' rights (P-12): the client, as controller, rectifies and erases what it holds
about one phone number (access and export are `selectors.recipient_data` and
`export.recipient_document`).

Erasure, in one transaction:
* messages to the number that have not left are canceled (their price credited back); a
  message being handed to a carrier right now makes the erasure wait (409);
* the contact is deleted; the number is cleared where it is another contact's phone;
* messages and replies stay as anonymous records — number and text replaced — because
  their usage records are the billing proof (C-10) and never held the number;
* the number is scrubbed from send reports, webhook events, audit entries (a redaction:
  the only update ever made to the append-only trail) and import error reports; files
  uploaded but not imported yet that contain it are dropped;
* a red-list entry keeps only a keyed hash of the number (`pseudonym`), so the person
  stays opted out (their objection outlives the erasure) — unless `keep_opt_out=False`;
* `recipient_erased` is sent so other apps erase their own copies in the same
  transaction; one audit entry records the erasure, with the hash and the counts.
"""

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.models import AuditEntry
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, NotFound, ValidationFailed
from chappe.common.numbers import number_facts
from chappe.contacts.fields import FieldValueError, normalize_mobile, text_of
from chappe.contacts.models import (
    Contact,
    ContactImport,
    ContactImportError,
    ContactImportFile,
    ImportStatus,
    OptOut,
)
from chappe.contacts.pseudonym import number_hash, number_hashes
from chappe.contacts.services.contacts import contact_update
from chappe.contacts.signals import recipient_erased
from chappe.contacts.tabular import FileInfo, UnreadableFile, iter_rows
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import Message, Reply, Send
from chappe.messaging.services.edit import message_cancel
from chappe.webhooks.models import WebhookEvent

ERASED = "[erased]"
_CANONICAL = r"^\+[1-9][0-9]{6,14}$"


def recipient_number(*, account: Account, number: str) -> str:
    """The E.164 form of a number typed by the client, or ValidationFailed."""
    try:
        return normalize_mobile((number or "").strip(), default_country=account.default_country)
    except FieldValueError as exc:
        raise ValidationFailed(details={"number": [exc.message]}) from None


def _variants(e164: str) -> list[str]:
    """How the number may appear in free text: E.164, and its national digits."""
    facts = number_facts(e164)
    national = facts.national_digits if facts else ""
    return [e164, national] if len(national) >= 6 else [e164]


def _scrub(value: Any, variants: list[str], keys: frozenset[str] = frozenset()) -> Any:
    """`value` (JSON) with every string mentioning the number — and the values of `keys` —
    replaced by ERASED."""
    if isinstance(value, dict):
        return {k: ERASED if k in keys and value[k] not in (None, "")
                else _scrub(v, variants, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, variants, keys) for v in value]
    if isinstance(value, str) and any(v in value for v in variants):
        return ERASED
    return value


def _mentions(queryset, field: str, variants: list[str]):
    text = f"{field}_text"
    condition = Q()
    for variant in variants:
        condition |= Q(**{f"{text}__contains": variant})
    return queryset.annotate(**{text: Cast(field, TextField())}).filter(condition)


@dataclass
class ErasureReport:
    number_hash: str = ""
    contacts: int = 0
    phones_cleared: int = 0
    messages: int = 0
    canceled: int = 0
    replies: int = 0
    sends: int = 0
    webhook_events: int = 0
    audit_entries: int = 0
    import_rows: int = 0
    imports_dropped: int = 0
    opt_outs_kept: int = 0
    opt_outs_deleted: int = 0


@transaction.atomic
def recipient_rectify(*, actor: Actor, account: Account, number: str,
                      values: Mapping[str, Any] | None = None,
                      custom: Mapping[str, Any] | None = None) -> Contact:
    """Correct the contact of a number (P-12 rectification)."""
    e164 = recipient_number(account=account, number=number)
    contact = Contact.objects.filter(account=account, mobile=e164).first()
    if contact is None:
        raise NotFound(_("No contact has this number."))
    return contact_update(actor=actor, contact=contact, values=values, custom=custom)


def _drop_pending_uploads(account: Account, e164: str, variants: list[str]) -> int:
    """Imports not started whose file holds the number: canceled, file dropped."""
    dropped = 0
    for imp in ContactImport.objects.filter(account=account, status=ImportStatus.UPLOADED):
        upload = ContactImportFile.objects.filter(pk=imp.pk).first()
        if upload is None:
            continue
        info = FileInfo(format=imp.file_format, encoding=imp.encoding, delimiter=imp.delimiter)
        try:
            found = any(_cell_is(cell, e164, variants, account)
                        for row in iter_rows(bytes(upload.data), info) for cell in row)
        except UnreadableFile:
            found = True  # cannot tell: drop it
        if found:
            upload.delete()
            imp.status, imp.failure, imp.sample = ImportStatus.CANCELED, "recipient erased", []
            imp.save(update_fields=["status", "failure", "sample"])
            dropped += 1
    return dropped


def _cell_is(cell: Any, e164: str, variants: list[str], account: Account) -> bool:
    text = text_of(cell)
    if not text:
        return False
    if any(v in text for v in variants):
        return True
    digits = sum(c.isdigit() for c in text)
    if digits < 6 or digits > 16:
        return False
    try:
        return normalize_mobile(text, default_country=account.default_country) == e164
    except FieldValueError:
        return False


@transaction.atomic
def recipient_erase(*, actor: Actor, account: Account, number: str,
                    keep_opt_out: bool = True) -> ErasureReport:
    """Erase what the account holds about a number (P-12); see the module docstring."""
    actor.require(Perm.ACCOUNT_MANAGE)
    e164 = recipient_number(account=account, number=number)
    variants = _variants(e164)
    if ContactImport.objects.filter(account=account, status__in=[
            ImportStatus.QUEUED, ImportStatus.RUNNING]).exists():
        raise Conflict(_("An import is running and could add this number again: erase it "
                         "once the import is over."), code="import_running")
    report = ErasureReport(number_hash=number_hash(account_id=account.pk, number=e164))

    # Messages: what has not left is canceled, then all are anonymised.
    messages = Message.objects.select_for_update().filter(account=account, recipient=e164)
    if messages.filter(status=MessageStatus.QUEUED).exists():
        raise Conflict(_("A message to this number is being sent right now; try again in a "
                         "minute."), code="message_in_flight")
    for message in messages.filter(status__in=[MessageStatus.ACCEPTED, MessageStatus.SCHEDULED]):
        message_cancel(actor=actor, message=message)
        report.canceled += 1
    message_ids = list(messages.values_list("pk", flat=True))
    send_ids = set(messages.values_list("send_id", flat=True))
    report.messages = Message.objects.filter(pk__in=message_ids).update(recipient=ERASED,
                                                                        text=ERASED)
    report.replies = Reply.objects.filter(account=account, from_number=e164).update(
        from_number=ERASED, text=ERASED)

    # Sends: the per-recipient report; the text of a send to this number alone.
    sends = Send.objects.filter(Q(pk__in=send_ids) | Q(account=account, report__contains=e164))
    for send in sends.select_for_update():
        rows = json.loads(send.report or "[]")
        send.report = json.dumps(_scrub(rows, variants)) if rows else send.report
        if not send.messages.exclude(recipient=ERASED).exists():
            send.text = ERASED
        send.save(update_fields=["report", "text"])
        report.sends += 1

    # Webhook events about these messages, or mentioning the number.
    subjects = [str(pk) for pk in message_ids]
    events = WebhookEvent.objects.filter(account=account).filter(
        Q(subject_id__in=subjects) | Q(pk__in=_mentions(
            WebhookEvent.objects.filter(account=account), "payload", variants).values("pk")))
    for event in events:
        event.payload = _scrub(event.payload, variants, frozenset({"text", "from", "recipient"}))
        event.save(update_fields=["payload"])
        report.webhook_events += 1

    # The address book.
    contacts = Contact.objects.filter(account=account).filter(Q(mobile=e164) | Q(
        pk__in=[c.pk for c in Contact.objects.filter(account=account).exclude(
            mobile__regex=_CANONICAL) if _cell_is(c.mobile, e164, variants, account)]))
    _total, deleted = contacts.delete()
    report.contacts = deleted.get(Contact._meta.label, 0)
    report.phones_cleared = Contact.objects.filter(account=account, phone=e164).update(phone="")
    report.import_rows, _detail = ContactImportError.objects.filter(
        contact_import__account=account).filter(
        Q(number=e164) | Q(values__contains=e164)
        | Q(values__contains=variants[-1])).delete()
    report.imports_dropped = _drop_pending_uploads(account, e164, variants)

    # The red list keeps the objection, not the number.
    entries = OptOut.objects.filter(account=account).filter(
        Q(number=e164) | Q(number__isnull=True,
                           number_hash__in=number_hashes(account_id=account.pk, number=e164)))
    if keep_opt_out:
        report.opt_outs_kept = entries.update(number=None, number_hash=report.number_hash,
                                              note="")
    else:
        _total, deleted = entries.delete()
        report.opt_outs_deleted = deleted.get(OptOut._meta.label, 0)

    # The audit trail: the number redacted where an entry mentioned it.
    mentioned = _mentions(AuditEntry.objects.filter(account=account), "details", variants)
    for entry in AuditEntry.objects.filter(account=account).filter(
            Q(target_label__contains=e164) | Q(pk__in=mentioned.values("pk"))):
        AuditEntry.objects.filter(pk=entry.pk).update(
            target_label=_scrub(entry.target_label, variants),
            details=_scrub(entry.details, variants))
        report.audit_entries += 1

    recipient_erased.send(sender=Account, account=account, number=e164,
                          number_hash=report.number_hash)
    audit_record(actor=actor, account=account, action="recipient.erase",
                 details={**asdict(report), "keep_opt_out": keep_opt_out})
    return report
