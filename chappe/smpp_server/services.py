"""The SMPP server's database work: the SMPP credentials of client accounts (system_id
≤ 16, password ≤ 8 as SMPP 3.4 allows, stored hashed like user passwords), and what the
sessions (`protocol.py`) need done — authenticate a bind, accept submits through the
messaging core, claim receipts and MOs to deliver, record what was delivered.

The session side runs these in executor threads and speaks to them in plain data
(`Bound`, `Submit`, `ReceiptDue`, `MoDue`); answers to submits are SMPP statuses, since
mapping service errors to the protocol's codes is part of accepting over SMPP.
"""

import ipaddress
import logging
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.common.bulk import bulk_insert
from chappe.common.errors import ChappeError, Conflict, ValidationFailed
from chappe.common.leases import lease_claim
from chappe.messaging.lifecycle import FINAL
from chappe.messaging.models import Reply
from chappe.messaging.services.accept import SmsItem, sms_send_each
from chappe.messaging.services.edit import message_cancel
from chappe.smpp import pdu as P
from chappe.smpp import text as T
from chappe.smpp_server.models import (
    SmppAccount,
    SmppConcatPart,
    SmppMoDelivery,
    SmppSubmission,
)
from chappe.smpp_server.selectors import smpp_message_find

log = logging.getLogger("chappe.smpp_server")
RECEIPT_LEASE = timedelta(seconds=30)
MAX_BATCH = 500
STATUS_FOR = {
    "insufficient_credit": P.RSUBMITFAIL,
    "service_unavailable": P.RSUBMITFAIL,
    "permission_denied": P.RSUBMITFAIL,
    "too_many_segments": P.RINVMSGLEN,
    "validation_error": P.RINVMSGLEN,
}
# What a recipient's outcome that made no message answers over SMPP.
REFUSED = {"invalid": P.RINVDSTADR, "sender_rejected": P.RINVSRCADR}
SUBMISSION_COLUMNS = ("message_id", "account_id", "smpp_account_id", "registered_delivery",
                      "receipt_sent_at", "locked_until", "created_at")

SYSTEM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,16}$")
MAX_BINDS, MAX_MPS = 32, 10_000


def _validate(*, password: str | None, allowed_ips: list[str] | None, max_binds: int | None,
              max_msg_per_s: int | None, default_sender: str | None) -> None:
    errors: dict[str, list[str]] = {}
    if password is not None and not (1 <= len(password) <= 8 and password.isprintable()):
        errors["password"] = [_("1 to 8 printable characters (SMPP 3.4).")]
    for ip in allowed_ips or []:
        try:
            ipaddress.ip_network(ip, strict=False)
        except ValueError:
            errors.setdefault("allowed_ips", []).append(_("Not an IP address or network: %s")
                                                        % ip)
    if max_binds is not None and not 1 <= max_binds <= MAX_BINDS:
        errors["max_binds"] = [_("Between 1 and %d.") % MAX_BINDS]
    if max_msg_per_s is not None and not 1 <= max_msg_per_s <= MAX_MPS:
        errors["max_msg_per_s"] = [_("Between 1 and %d.") % MAX_MPS]
    if default_sender is not None and len(default_sender) > 16:
        errors["default_sender"] = [_("At most 16 characters.")]
    if errors:
        raise ValidationFailed(details=errors)


def smpp_account_create(*, actor: Actor, account: Account, system_id: str, password: str,
                        allowed_ips: list[str] | None = None, max_binds: int = 4,
                        max_msg_per_s: int = 100, default_sender: str = "") -> SmppAccount:
    actor.require(Perm.API_KEYS_MANAGE)
    if not SYSTEM_ID.match(system_id):
        raise ValidationFailed(details={"system_id": [
            _("1 to 16 letters, digits, '.', '_' or '-'.")]})
    _validate(password=password, allowed_ips=allowed_ips, max_binds=max_binds,
              max_msg_per_s=max_msg_per_s, default_sender=default_sender)
    smpp = SmppAccount(account=account, system_id=system_id, allowed_ips=allowed_ips or [],
                       max_binds=max_binds, max_msg_per_s=max_msg_per_s,
                       default_sender=default_sender)
    smpp.set_password(password)
    try:
        with transaction.atomic():
            smpp.save()
    except IntegrityError as exc:
        raise Conflict(_("This system_id is taken."), code="system_id_taken") from exc
    return smpp


def smpp_account_update(*, actor: Actor, smpp: SmppAccount, **changes: Any) -> SmppAccount:
    actor.require(Perm.API_KEYS_MANAGE)
    changes = {k: v for k, v in changes.items() if v is not None}
    _validate(password=changes.get("password"), allowed_ips=changes.get("allowed_ips"),
              max_binds=changes.get("max_binds"), max_msg_per_s=changes.get("max_msg_per_s"),
              default_sender=changes.get("default_sender"))
    if "password" in changes:
        smpp.set_password(changes.pop("password"))
    for name in ("allowed_ips", "max_binds", "max_msg_per_s", "default_sender", "enabled"):
        if name in changes:
            setattr(smpp, name, changes[name])
    smpp.save()
    return smpp


def smpp_account_delete(*, actor: Actor, smpp: SmppAccount) -> None:
    actor.require(Perm.API_KEYS_MANAGE)
    smpp.enabled = False  # binds end at their next request; submissions stay for receipts
    smpp.system_id = f"~{smpp.pk.hex[:15]}"
    smpp.save()


# -- what the sessions need done ------------------------------------------------------

@dataclass(frozen=True)
class Bound:
    """What a bind knows of its client (loaded once at bind)."""

    smpp_id: uuid.UUID
    account_id: uuid.UUID
    system_id: str
    max_mps: int
    max_binds: int
    default_sender: str


@dataclass
class Submit:
    """A submit_sm as the acceptance needs it (addresses normalised, body unpacked)."""

    bound: Bound
    source: str
    destination: str
    data_coding: int
    body: bytes
    concat: tuple[int, int, int] | None
    registered: int
    send_at: datetime | None = None


@dataclass(frozen=True)
class ReceiptDue:
    """A final message whose receipt its client asked for and has not acknowledged."""

    smpp_id: uuid.UUID
    message_id: uuid.UUID
    recipient: str
    sender: str
    status: str
    error_code: str
    submitted_at: datetime
    done_at: datetime
    text: str


@dataclass(frozen=True)
class MoDue:
    """A reply to a message the client sent over SMPP, not yet delivered to it."""

    smpp_id: uuid.UUID
    reply_id: uuid.UUID
    account_id: uuid.UUID
    from_number: str
    to: str
    text: str


def smpp_bind_authenticate(*, system_id: str, password: str,
                           peer: str) -> tuple[int, Bound | None]:
    """The bind's status (ESME_ROK, or why it is refused) and, when accepted, its client."""
    smpp = SmppAccount.objects.select_related("account").filter(
        system_id=system_id, enabled=True).first()
    if smpp is None:
        return P.RINVSYSID, None
    if not smpp.check_password(password):
        return P.RINVPASWD, None
    if smpp.allowed_ips:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return P.RBINDFAIL, None
        if not any(address in ipaddress.ip_network(net, strict=False)
                   for net in smpp.allowed_ips):
            return P.RBINDFAIL, None
    try:
        service_require(account=smpp.account, kind=ServiceKind.MESSAGING)
    except ChappeError:
        return P.RBINDFAIL, None
    return P.ROK, Bound(smpp.pk, smpp.account_id, system_id, smpp.max_msg_per_s,
                        smpp.max_binds, smpp.default_sender)


def _actor(bound: Bound, account: Account) -> Actor:
    # The bind authenticated the account, as an API key would; the audit trail and the
    # send's `created_by` say which SMPP credentials acted.
    return Actor(account=account, is_operator=True, user_agent=f"smpp:{bound.system_id}")


def smpp_submits_accept(*, submits: list[Submit]) -> list[tuple[int, str]]:
    """Accept a group of submits in one transaction: per account, whole messages go
    through one `sms_send_each` (a Send and one debit per sender and schedule); a long
    message sent in parts is accepted when its last part arrives. Answers (SMPP status,
    message id) per submit, in order."""
    accounts = {a.pk: a for a in Account.objects.filter(
        pk__in={item.bound.account_id for item in submits})}
    answers: list[tuple[int, str] | None] = [None] * len(submits)
    by_bind: dict[uuid.UUID, list[tuple[int, str]]] = defaultdict(list)
    with transaction.atomic():
        for index, item in enumerate(submits):
            if item.concat is None:
                by_bind[item.bound.smpp_id].append((index, T.decode(item.body,
                                                                    item.data_coding)))
                continue
            try:
                with transaction.atomic():
                    text = _concat_text(item, accounts[item.bound.account_id])
            except Exception as exc:
                answers[index] = (_status_for(exc), "")
                continue
            if isinstance(text, tuple):
                answers[index] = text
            else:
                by_bind[item.bound.smpp_id].append((index, text))
        for group in by_bind.values():
            bound = submits[group[0][0]].bound
            try:
                results = _accept_group([(submits[i], text) for i, text in group],
                                        accounts[bound.account_id])
            except Exception as exc:
                results = [(_status_for(exc), "")] * len(group)
            for (index, _text), result in zip(group, results, strict=True):
                answers[index] = result
    return [answer or (P.RSYSERR, "") for answer in answers]


def _status_for(exc: Exception) -> int:
    if isinstance(exc, ChappeError):
        return STATUS_FOR.get(exc.code, P.RSYSERR)
    log.exception("SMPP submit failed", exc_info=exc)
    return P.RSYSERR


def _accept_group(submits: list[tuple[Submit, str]], account: Account) -> list[tuple[int, str]]:
    bound = submits[0][0].bound
    outcomes = sms_send_each(actor=_actor(bound, account), account=account, items=[
        SmsItem(recipient=item.destination, text=text,
                sender=item.source or bound.default_sender, send_at=item.send_at)
        for item, text in submits])
    answers: list[tuple[int, str]] = []
    submissions = []
    now = timezone.now()
    for (item, _text), outcome in zip(submits, outcomes, strict=True):
        if outcome.message is None:
            answers.append((REFUSED.get(outcome.status)
                            or STATUS_FOR.get(outcome.error_code, P.RSUBMITFAIL), ""))
            continue
        submissions.append((outcome.message.id, account.pk, bound.smpp_id, item.registered,
                            None, None, now))
        answers.append((P.ROK, str(outcome.message.id)))
    bulk_insert(SmppSubmission, SUBMISSION_COLUMNS, submissions)
    return answers


def _concat_text(item: Submit, account: Account) -> str | tuple[int, str]:
    """Keep this part; the whole text once every part is here, else the part's answer."""
    bound = item.bound
    ref, total, seq = item.concat  # type: ignore[misc]
    key = f"{item.source}|{item.destination}|{ref}|{total}"[:120]
    part, _created = SmppConcatPart.objects.get_or_create(
        smpp_account_id=bound.smpp_id, key=key, seq=seq,
        defaults={"account": account, "total": total, "data_coding": item.data_coding,
                  "body": item.body})
    parts = {p.seq: bytes(p.body) for p in SmppConcatPart.objects.filter(
        smpp_account_id=bound.smpp_id, key=key)}
    text = T.reassemble(parts, total, item.data_coding)
    if text is None:
        return P.ROK, f"part-{part.pk}"
    SmppConcatPart.objects.filter(smpp_account_id=bound.smpp_id, key=key).delete()
    return text


def smpp_message_cancel(*, bound: Bound, message_id: str) -> bool:
    """cancel_sm: whether the client's message (by our id) was canceled."""
    message = smpp_message_find(account_id=bound.account_id, smpp_id=bound.smpp_id,
                                message_id=message_id)
    if message is None:
        return False
    try:
        message_cancel(actor=_actor(bound, Account.objects.get(pk=bound.account_id)),
                       message=message)
    except ChappeError:
        return False
    return True


def smpp_outbound_claim(*, smpp_ids: list[uuid.UUID]) -> tuple[list[ReceiptDue], list[MoDue]]:
    """Receipts due (final messages, not yet acknowledged) and MOs for these clients.
    Receipts are leased for a while so another server process does not send them too;
    those a client asked for on failure only (registered_delivery 2) are settled here
    when the message was delivered."""
    now = timezone.now()
    due = (SmppSubmission.objects.select_related("message")
           .filter(smpp_account_id__in=smpp_ids, receipt_sent_at__isnull=True,
                   registered_delivery__gt=0, message__status__in=list(FINAL)))
    rows = lease_claim(due, limit=MAX_BATCH, now=now, lease=RECEIPT_LEASE, of=("self",))
    skip = {r.pk for r in rows
            if r.registered_delivery == 2 and r.message.status == "delivered"}
    if skip:
        SmppSubmission.objects.filter(pk__in=skip).update(receipt_sent_at=now)
    receipts = [ReceiptDue(smpp_id=row.smpp_account_id, message_id=row.message.id,
                           recipient=row.message.recipient, sender=row.message.sender,
                           status=row.message.status, error_code=row.message.error_code,
                           submitted_at=row.message.created_at,
                           done_at=row.message.status_changed_at, text=row.message.text)
                for row in rows if row.pk not in skip]
    mos = [MoDue(smpp_id=reply.message.smpp.smpp_account_id, reply_id=reply.pk,
                 account_id=reply.account_id, from_number=reply.from_number, to=reply.to,
                 text=reply.text)
           for reply in (Reply.objects.filter(message__smpp__smpp_account_id__in=smpp_ids,
                                              smpp_delivery__isnull=True)
                         .select_related("message__smpp").order_by("received_at")[:MAX_BATCH])]
    return receipts, mos


def smpp_outbound_record(*, acked: list[uuid.UUID], mos: list[tuple[uuid.UUID, uuid.UUID]],
                         failed: list[uuid.UUID]) -> None:
    """Receipts acknowledged by the client are sent; those not acknowledged are free to
    be claimed again at once; delivered MOs (reply id, account id) are not sent again."""
    now = timezone.now()
    with transaction.atomic():
        SmppSubmission.objects.filter(pk__in=acked).update(receipt_sent_at=now)
        SmppSubmission.objects.filter(pk__in=failed).update(locked_until=None)
        SmppMoDelivery.objects.bulk_create(
            [SmppMoDelivery(reply_id=reply, account_id=account, delivered_at=now)
             for reply, account in mos], ignore_conflicts=True)
