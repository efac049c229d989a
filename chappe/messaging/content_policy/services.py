"""The operator's changes to the content policy and its decisions on held sends (M-11):
each one audited, each list change bumping the policy version (`cache.policy_changed`)."""

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.audit.services import audit_record
from chappe.common.changes import changes_apply
from chappe.common.errors import Conflict, ValidationFailed
from chappe.messaging.content_policy.cache import policy_changed
from chappe.messaging.content_policy.models import (
    ContentReview,
    ContentRule,
    PolicyDomain,
    ProtectedBrand,
    RegisteredSender,
    ReviewStatus,
    RuleKind,
    ShortenerPermit,
)
from chappe.messaging.content_policy.policy import PatternError, compile_pattern
from chappe.messaging.content_policy.text import hosts
from chappe.messaging.lifecycle import MessageStatus as S
from chappe.messaging.models import CAMPAIGN_CHANNEL, Message
from chappe.messaging.services.accept import validity
from chappe.messaging.services.edit import messages_uncharge
from chappe.messaging.services.status import messages_transition


def domain_clean(raw: str) -> str | None:
    """A feed line's domain ("bad.example", "https://bad.example/x", "*.bad.example",
    "0.0.0.0 bad.example" as in hosts files), lower-case and decoded, or None."""
    value = raw.strip().lower()
    if not value or value.startswith(("#", "!", ";")):
        return None
    value = value.split()[-1].removeprefix("*.")
    found = hosts(value)
    return found[0] if len(found) == 1 else None


@transaction.atomic
def domains_import(*, actor: Actor, lines: Iterable[str], kind: str,
                   source: str = "operator", dry_run: bool = False) -> dict[str, int]:
    """Add the domains of a feed (one per line, or the first column of a CSV) as `kind`;
    a domain already listed keeps its row. Answers the counts (added, known, unreadable)."""
    actor.require_operator()
    found, unreadable = set(), 0
    for row in csv.reader(lines):
        if not row:
            continue
        domain = domain_clean(row[0])
        if domain is None:
            unreadable += row[0].strip() != "" and not row[0].lstrip().startswith("#")
            continue
        found.add(domain)
    known = set(PolicyDomain.objects.filter(domain__in=found).values_list("domain", flat=True))
    new = sorted(found - known)
    counts = {"added": len(new), "known": len(known), "unreadable": int(unreadable)}
    if dry_run:
        return counts
    PolicyDomain.objects.bulk_create(
        [PolicyDomain(domain=d, kind=kind, source=source[:100]) for d in new], batch_size=2000)
    policy_changed()
    audit_record(actor=actor, action="messaging.policy.domains_import",
                 details={"kind": kind, "source": source, **counts})
    return counts


def domains_import_text(*, actor: Actor, text: str, kind: str, source: str) -> dict[str, int]:
    return domains_import(actor=actor, lines=io.StringIO(text), kind=kind, source=source)


@transaction.atomic
def policy_entry_save(*, actor: Actor, obj: PolicyDomain | ProtectedBrand | ContentRule,
                      changes: Mapping[str, Any] | None = None):
    """Create (`changes` None) or change a list entry of the policy, validated."""
    actor.require_operator()
    if isinstance(obj, PolicyDomain) and (changes is None or "domain" in changes):
        domain = domain_clean(obj.domain if changes is None else changes["domain"])
        if domain is None:
            raise ValidationFailed(details={"domain": [_("Not a domain name.")]})
        if changes is None:
            obj.domain = domain
        else:
            changes = {**changes, "domain": domain}
    if isinstance(obj, ContentRule):
        kind = (changes or {}).get("kind", obj.kind)
        value = (changes or {}).get("value", obj.value)
        if kind == RuleKind.PATTERN:
            try:
                compile_pattern(value)
            except PatternError as exc:
                raise ValidationFailed(details={"value": [str(exc)]}) from None
    label = obj._meta.model_name
    if changes is None:
        try:
            obj.full_clean()
        except DjangoValidationError as exc:
            raise ValidationFailed(details=exc.message_dict) from None
        obj.save()
        audit_record(actor=actor, action=f"messaging.policy.{label}.create", target=obj)
    else:
        obj = type(obj).objects.select_for_update().get(pk=obj.pk)
        changed = changes_apply(obj, changes, editable=tuple(changes))
        audit_record(actor=actor, action=f"messaging.policy.{label}.update", target=obj,
                     details={"changed": sorted(changed)})
    policy_changed()
    return obj


@transaction.atomic
def policy_entry_delete(*, actor: Actor, obj: Any) -> None:
    actor.require_operator()
    audit_record(actor=actor, action=f"messaging.policy.{obj._meta.model_name}.delete",
                 target=obj)
    obj.delete()
    policy_changed()


@transaction.atomic
def shortener_permit_grant(*, actor: Actor, account: Account, note: str = "") -> ShortenerPermit:
    actor.require_operator()
    permit, _created = ShortenerPermit.objects.get_or_create(
        account=account, defaults={"note": note, "granted_by": actor.label})
    audit_record(actor=actor, account=account, action="messaging.policy.shorteners_allow",
                 target=permit)
    return permit


@transaction.atomic
def registered_sender_add(*, actor: Actor, country: str, name: str,
                          account: Account | None = None) -> RegisteredSender:
    """Record a sender registered in `country` (for `account`, or for all)."""
    actor.require_operator()
    row, _created = RegisteredSender.objects.get_or_create(
        country=country.upper(), name=name, account=account)
    audit_record(actor=actor, account=account, action="messaging.registered_sender.add",
                 target=row)
    return row


def _pending(review: ContentReview) -> ContentReview:
    locked = ContentReview.objects.select_for_update().get(pk=review.pk)
    if locked.status != ReviewStatus.PENDING:
        raise Conflict(_("This send was already reviewed."), code="already_reviewed",
                       details={"status": locked.status})
    return locked


def _held_messages(review: ContentReview) -> list[Message]:
    return list(Message.objects.filter(send_id=review.send_id, status=S.HELD))


@transaction.atomic
def review_release(*, actor: Actor, review: ContentReview, reason: str = "") -> ContentReview:
    """Let a held send's messages leave: due now (or at their own later time), valid
    from now on, as if accepted at this moment. A campaign's leave now: its pacing has
    walked past them (its waves release in id order, once), so they are not paced."""
    actor.require_operator()
    review = _pending(review)
    now = timezone.now()
    messages = _held_messages(review)
    campaign = review.send.channel == CAMPAIGN_CHANNEL
    later = [m for m in messages if m.due_at > now and not campaign]
    due_now = [m for m in messages if m.due_at <= now or campaign]
    messages_transition([m.id for m in due_now], S.QUEUED, at=now, detail="released",
                        updates={m.id: {"due_at": now, "expires_at": now + validity()}
                                 for m in due_now}, allowed_from=(S.HELD,))
    messages_transition([m.id for m in later], S.SCHEDULED, at=now, detail="released",
                        updates={m.id: {"expires_at": m.due_at + validity()} for m in later},
                        allowed_from=(S.HELD,))
    return _decided(actor=actor, review=review, status=ReviewStatus.RELEASED, reason=reason,
                    messages=len(messages))


@transaction.atomic
def review_refuse(*, actor: Actor, review: ContentReview, reason: str) -> ContentReview:
    """Reject a held send's messages (the client sees `rejected`, `content_refused` and
    the reason) and give back their charge."""
    actor.require_operator()
    if not reason.strip():
        raise ValidationFailed(details={"reason": [_("Give the reason the client will see.")]})
    review = _pending(review)
    refused = messages_transition([m.id for m in _held_messages(review)], S.REJECTED,
                                  at=timezone.now(), error_code="content_refused",
                                  detail=reason[:200], allowed_from=(S.HELD,))
    messages_uncharge(refused, reason="refused by the content policy")
    return _decided(actor=actor, review=review, status=ReviewStatus.REFUSED, reason=reason,
                    messages=len(refused))


def _decided(*, actor: Actor, review: ContentReview, status: str, reason: str,
             messages: int) -> ContentReview:
    review.status, review.decided_by = status, actor.label
    review.decided_at, review.decision_reason = timezone.now(), reason[:500]
    review.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit_record(actor=actor, account=review.account, action=f"messaging.review.{status}",
                 target=review, details={"reason": reason, "messages": messages})
    return review
