"""The SMPP server's database work: the SMPP credentials of client accounts (system_id
≤ 15, password ≤ 8 characters as SMPP 3.4 allows, stored hashed like user passwords), and
what the sessions (`protocol.py`) need done — authenticate a bind, accept submits through
the messaging core, claim receipts and MOs to deliver, record what was delivered.

A bind acts as its own principal, `smpp:<system_id>` (an `Actor` granted sending and
reading its account's messages, nothing else), under which its sends, cancels, replaces
and binds are recorded. A bind is refused with one status (ESME_RBINDFAIL) whatever the
reason — unknown system_id, refused address, wrong password — after exactly one password
hash, so neither the answer nor its time tells a prober which system_ids exist.

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

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.activity import activity_touch
from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.audit.services import audit_record
from chappe.common.bulk import bulk_insert
from chappe.common.errors import ChappeError, Conflict, ValidationFailed
from chappe.common.leases import lease_claim
from chappe.messaging.lifecycle import FINAL
from chappe.messaging.models import Reply
from chappe.messaging.services.accept import SmsItem, sms_send, sms_send_each
from chappe.messaging.services.edit import message_cancel, message_edit
from chappe.smpp import pdu as P
from chappe.smpp import text as T
from chappe.smpp_server.models import (
    Alphabet,
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
                      "receipt_ids", "receipt_sent_at", "locked_until", "created_at")
# What a bind may do: send, and read its own account's messages (query_sm, receipts).
SMPP_GRANTS = frozenset({Perm.MESSAGING_SEND, Perm.MESSAGING_VIEW})

# SMPP 3.4 §4.1: system_id is a C-Octet String of 16 octets, password of 9, NUL included.
SYSTEM_ID_MAX, PASSWORD_MAX = 15, 8
SYSTEM_ID = re.compile(rf"^[A-Za-z0-9_.-]{{1,{SYSTEM_ID_MAX}}}$")
MAX_BINDS, MAX_MPS = 32, 10_000


def smpp_credentials_check(*, system_id: str | None = None, password: str | None = None,
                           default_alphabet: str | None = None) -> dict[str, list[str]]:
    """The problems of SMPP credentials by field (empty when they are fine): also used
    by the back-office form, which saves without the create service."""
    errors: dict[str, list[str]] = {}
    if system_id is not None and not SYSTEM_ID.match(system_id):
        errors["system_id"] = [_("1 to %d letters, digits, '.', '_' or '-' (SMPP 3.4).")
                               % SYSTEM_ID_MAX]
    if password is not None and not (1 <= len(password) <= PASSWORD_MAX
                                     and password.isprintable()):
        errors["password"] = [_("1 to %d printable characters (SMPP 3.4).") % PASSWORD_MAX]
    if default_alphabet is not None and default_alphabet not in Alphabet.values:
        errors["default_alphabet"] = [_("Either %s.") % " or ".join(Alphabet.values)]
    return errors


def _validate(*, password: str | None, allowed_ips: list[str] | None, max_binds: int | None,
              max_msg_per_s: int | None, default_sender: str | None,
              default_alphabet: str | None, system_id: str | None = None) -> None:
    errors = smpp_credentials_check(system_id=system_id, password=password,
                                    default_alphabet=default_alphabet)
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
                        max_msg_per_s: int = 100, default_sender: str = "",
                        default_alphabet: str | None = None) -> SmppAccount:
    """New SMPP credentials (`default_alphabet` None: GSM 03.38)."""
    actor.require(Perm.API_KEYS_MANAGE)
    _validate(system_id=system_id, password=password, allowed_ips=allowed_ips,
              max_binds=max_binds, max_msg_per_s=max_msg_per_s,
              default_sender=default_sender, default_alphabet=default_alphabet)
    smpp = SmppAccount(account=account, system_id=system_id, allowed_ips=allowed_ips or [],
                       max_binds=max_binds, max_msg_per_s=max_msg_per_s,
                       default_sender=default_sender,
                       default_alphabet=default_alphabet or Alphabet.GSM)
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
              default_sender=changes.get("default_sender"),
              default_alphabet=changes.get("default_alphabet"))
    if "password" in changes:
        smpp.set_password(changes.pop("password"))
    for name in ("allowed_ips", "max_binds", "max_msg_per_s", "default_sender",
                 "default_alphabet", "enabled"):
        if name in changes:
            setattr(smpp, name, changes[name])
    smpp.save()
    return smpp


def smpp_account_delete(*, actor: Actor, smpp: SmppAccount) -> None:
    actor.require(Perm.API_KEYS_MANAGE)
    smpp.enabled = False  # binds end at their next request; submissions stay for receipts
    smpp.system_id = f"~{smpp.pk.hex[:SYSTEM_ID_MAX - 1]}"
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
    # What data_coding 0 stands for in its submits: GSM 03.38 or Latin-1 (`Alphabet`).
    data_coding_0: int = T.DC_GSM
    peer: str = ""


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
    # The ids the client was given and expects receipts for: the message's own, or those
    # of the parts of a long message that asked, or its submit_multi's.
    receipt_ids: tuple[str, ...]
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


def _address_allowed(networks: list[str], peer: str) -> bool:
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


def smpp_bind_authenticate(*, system_id: str, password: str,
                           peer: str) -> tuple[int, Bound | None]:
    """The bind's status (ESME_ROK or ESME_RBINDFAIL, see the module's docstring) and,
    when accepted, its client. The address is checked before the password, which is not
    even compared from a refused address."""
    smpp = SmppAccount.objects.select_related("account").filter(
        system_id=system_id, enabled=True).first()
    if smpp is None or not _address_allowed(smpp.allowed_ips, peer):
        make_password(password)  # the time a password check takes
        return P.RBINDFAIL, None
    if not smpp.check_password(password):
        return P.RBINDFAIL, None
    try:
        service_require(account=smpp.account, kind=ServiceKind.MESSAGING)
    except ChappeError:
        return P.RBINDFAIL, None
    bound = Bound(smpp.pk, smpp.account_id, system_id, smpp.max_msg_per_s, smpp.max_binds,
                  smpp.default_sender,
                  T.DC_LATIN1 if smpp.default_alphabet == Alphabet.LATIN1 else T.DC_GSM, peer)
    audit_record(actor=bind_actor(bound, smpp.account), action="smpp.bind", target=smpp)
    activity_touch(account_id=smpp.account_id)
    return P.ROK, bound


def bind_actor(bound: Bound, account: Account) -> Actor:
    """Who acts for a bind: its own principal, never the operator."""
    return Actor(account=account, principal=f"smpp:{bound.system_id}", grants=SMPP_GRANTS,
                 ip=bound.peer or None, user_agent="smpp")


def _problem(item: Submit, text: str) -> int | None:
    """Why a submit cannot be accepted whatever the account's state, found before the
    batch so that it fails alone: a NUL character, which no text column stores (on
    PostgreSQL it would abort the whole batch's transaction)."""
    if "\x00" in text:
        return P.RINVMSGLEN
    if "\x00" in item.source:
        return P.RINVSRCADR
    if "\x00" in item.destination:
        return P.RINVDSTADR
    return None


@dataclass
class _Whole:
    """A whole message to accept: a submit, or the last part of a long one, with the
    part ids whose submits asked for a receipt (Kannel asks on part 1 only)."""

    index: int
    text: str
    registered: int
    part_ids: tuple[str, ...] = ()


def smpp_submits_accept(*, submits: list[Submit]) -> list[tuple[int, str]]:
    """Accept a group of submits in one transaction: per account, whole messages go
    through one `sms_send_each` (a Send and one debit per sender and schedule); a long
    message sent in parts is accepted when its last part arrives. Each submit is checked
    before the batch and each bind's group runs in its own savepoint, so a bad submit
    fails alone, never another client's. Answers (SMPP status, message id) per submit,
    in order."""
    accounts = {a.pk: a for a in Account.objects.filter(
        pk__in={item.bound.account_id for item in submits})}
    answers: list[tuple[int, str] | None] = [None] * len(submits)
    by_bind: dict[uuid.UUID, list[_Whole]] = defaultdict(list)
    with transaction.atomic():
        # Batches may run concurrently (PostgreSQL): the parts of one long message must
        # not land in two at once, or neither sees the other's. Its bind's row is locked
        # first, in one order for all, before any balance is.
        list(SmppAccount.objects.select_for_update().filter(
            pk__in={item.bound.smpp_id for item in submits if item.concat}).order_by("pk"))
        for index, item in enumerate(submits):
            text = T.decode(item.body, item.data_coding)
            if (problem := _problem(item, text)) is not None:
                answers[index] = (problem, "")
                continue
            if item.concat is None:
                by_bind[item.bound.smpp_id].append(_Whole(index, text, item.registered))
                continue
            try:
                with transaction.atomic():
                    whole = _concat_text(index, item, accounts[item.bound.account_id])
            except Exception as exc:
                answers[index] = (_status_for(exc), "")
                continue
            if isinstance(whole, tuple):
                answers[index] = whole
            else:
                by_bind[item.bound.smpp_id].append(whole)
        for group in by_bind.values():
            bound = submits[group[0].index].bound
            try:
                with transaction.atomic():  # whatever fails, fails this bind's group only
                    results = _accept_group(submits, group, accounts[bound.account_id])
            except Exception as exc:
                results = [(_status_for(exc), "")] * len(group)
            for whole, result in zip(group, results, strict=True):
                answers[whole.index] = result
    return [answer or (P.RSYSERR, "") for answer in answers]


def _status_for(exc: Exception) -> int:
    if isinstance(exc, ChappeError):
        return STATUS_FOR.get(exc.code, P.RSYSERR)
    log.exception("SMPP submit failed", exc_info=exc)
    return P.RSYSERR


def _accept_group(submits: list[Submit], group: list[_Whole],
                  account: Account) -> list[tuple[int, str]]:
    bound = submits[group[0].index].bound
    items = [submits[whole.index] for whole in group]
    outcomes = sms_send_each(actor=bind_actor(bound, account), account=account, items=[
        SmsItem(recipient=item.destination, text=whole.text,
                sender=item.source or bound.default_sender, send_at=item.send_at)
        for item, whole in zip(items, group, strict=True)])
    answers: list[tuple[int, str]] = []
    submissions = []
    now = timezone.now()
    for whole, outcome in zip(group, outcomes, strict=True):
        if outcome.message is None:
            answers.append((REFUSED.get(outcome.status)
                            or STATUS_FOR.get(outcome.error_code, P.RSUBMITFAIL), ""))
            continue
        message_id = str(outcome.message.id)
        receipt_ids = ""
        if whole.part_ids:  # the parts that asked, and this last one if it did too
            receipt_ids = " ".join(whole.part_ids + ((message_id,) if submits[
                whole.index].registered else ()))
        submissions.append((outcome.message.id, account.pk, bound.smpp_id, whole.registered,
                            receipt_ids, None, None, now))
        answers.append((P.ROK, message_id))
    bulk_insert(SmppSubmission, SUBMISSION_COLUMNS, submissions)
    return answers


def _concat_text(index: int, item: Submit, account: Account) -> _Whole | tuple[int, str]:
    """Keep this part; the whole message once every part is here, else the part's
    answer (its id, `part-<n>`)."""
    bound = item.bound
    ref, total, seq = item.concat  # type: ignore[misc]
    key = f"{item.source}|{item.destination}|{ref}|{total}"[:120]
    part, _created = SmppConcatPart.objects.get_or_create(
        smpp_account_id=bound.smpp_id, key=key, seq=seq,
        defaults={"account": account, "total": total, "data_coding": item.data_coding,
                  "body": item.body, "registered_delivery": item.registered})
    parts = list(SmppConcatPart.objects.filter(smpp_account_id=bound.smpp_id, key=key))
    text = T.reassemble({p.seq: bytes(p.body) for p in parts}, total, item.data_coding)
    if text is None:
        return P.ROK, f"part-{part.pk}"
    SmppConcatPart.objects.filter(smpp_account_id=bound.smpp_id, key=key).delete()
    asked = [p for p in parts if p.registered_delivery and p.pk != part.pk]
    return _Whole(index, text, max([item.registered] + [p.registered_delivery for p in asked]),
                  tuple(f"part-{p.pk}" for p in sorted(asked, key=lambda p: p.seq)))


def smpp_multi_accept(*, submit: Submit,
                      destinations: list[str]) -> tuple[int, str, list[tuple[int, int]]]:
    """submit_multi: one acceptance (one Send, one debit) of the text to several
    destinations. Answers the SMPP status, the id the client is given (the Send's, which
    the receipts of every destination carry) and the refused destinations (index,
    status)."""
    bound = submit.bound
    account = Account.objects.get(pk=bound.account_id)
    text = T.decode(submit.body, submit.data_coding)
    if (problem := _problem(submit, text)) is not None:
        return problem, "", []
    try:
        with transaction.atomic():
            outcome = sms_send(actor=bind_actor(bound, account), account=account,
                               recipients=destinations, text=text,
                               sender=submit.source or bound.default_sender,
                               send_at=submit.send_at)
            now, client_id = timezone.now(), str(outcome.send.pk)
            bulk_insert(SmppSubmission, SUBMISSION_COLUMNS, [
                (r.message.id, account.pk, bound.smpp_id, submit.registered, client_id,
                 None, None, now) for r in outcome.recipients if r.message is not None])
    except Exception as exc:
        return _status_for(exc), "", []
    refused = [(index, REFUSED.get(r.status) or STATUS_FOR.get(r.error_code, P.RSUBMITFAIL))
               for index, r in enumerate(outcome.recipients) if r.message is None]
    if len(refused) == len(destinations):
        return refused[0][1], "", []
    return P.ROK, client_id, refused


def _bind_message(bound: Bound, message_id: str) -> tuple[Account, Any] | None:
    message = smpp_message_find(account_id=bound.account_id, smpp_id=bound.smpp_id,
                                message_id=message_id)
    return None if message is None else (message.account, message)


@transaction.atomic
def smpp_message_cancel(*, bound: Bound, message_id: str) -> bool:
    """cancel_sm: whether the client's message (by our id) was canceled."""
    found = _bind_message(bound, message_id)
    if found is None:
        return False
    account, message = found
    actor = bind_actor(bound, account)
    try:
        with transaction.atomic():
            message_cancel(actor=actor, message=message)
    except ChappeError:
        return False
    audit_record(actor=actor, action="smpp.message.cancel", target=message)
    return True


@transaction.atomic
def smpp_message_replace(*, bound: Bound, message_id: str, text: str | None,
                         send_at: datetime | None) -> int:
    """replace_sm: a new text and/or time for the client's message while it is still
    scheduled (the messaging edit, re-rated as there); answers the SMPP status."""
    found = _bind_message(bound, message_id)
    if found is None:
        return P.RINVMSGID
    account, message = found
    actor = bind_actor(bound, account)
    try:
        with transaction.atomic():
            message_edit(actor=actor, message=message, text=text, send_at=send_at)
    except ChappeError as exc:
        return STATUS_FOR.get(exc.code, P.RREPLACEFAIL)
    audit_record(actor=actor, action="smpp.message.replace", target=message,
                 details={"text": text is not None, "send_at": str(send_at or "")})
    return P.ROK


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
                           receipt_ids=tuple(row.receipt_ids.split())
                           or (str(row.message.id),),
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
