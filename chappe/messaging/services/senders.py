"""The operator's sender lists (M-2): the protected names (AF2M lists: SI names refused,
ISA names only with an authorisation) and the brands' written authorisations that let an
account use an ISA name. Kept by the operator in the back-office; every change audited."""

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from django.db import transaction

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.audit.services import audit_record
from chappe.common.changes import changes_apply
from chappe.common.errors import ValidationFailed
from chappe.messaging.content_policy.cache import policy_changed
from chappe.messaging.models import ProtectedSender, SenderAuthorisation
from chappe.messaging.senders import protection_key


def _created(obj: ProtectedSender | SenderAuthorisation) -> None:
    try:
        obj.full_clean()
    except DjangoValidationError as exc:
        raise ValidationFailed(details=exc.message_dict) from None
    obj.save()


@transaction.atomic
def protected_sender_create(*, actor: Actor, name: str, level: str,
                            note: str = "") -> ProtectedSender:
    actor.require_operator()
    sender = ProtectedSender(name=name, key=protection_key(name), level=level, note=note)
    _created(sender)
    audit_record(actor=actor, action="messaging.protected_sender.create", target=sender,
                 details={"name": name, "level": level})
    policy_changed()  # the content policy's look-alike check reads these names too
    return sender


@transaction.atomic
def protected_sender_update(*, actor: Actor, sender: ProtectedSender,
                            changes: Mapping[str, Any]) -> ProtectedSender:
    """Change a protected name (its comparison key follows), its level or its note."""
    actor.require_operator()
    sender = ProtectedSender.objects.select_for_update().get(pk=sender.pk)
    if "name" in changes:
        changes = {**changes, "key": protection_key(changes["name"])}
    changed = changes_apply(sender, changes, editable=("name", "key", "level", "note"))
    if changed:
        audit_record(actor=actor, action="messaging.protected_sender.update", target=sender,
                     details={"fields": changed})
        policy_changed()
    return sender


@transaction.atomic
def protected_sender_delete(*, actor: Actor, sender: ProtectedSender) -> None:
    actor.require_operator()
    audit_record(actor=actor, action="messaging.protected_sender.delete", target=sender,
                 details={"name": sender.name, "level": sender.level})
    sender.delete()
    policy_changed()


@transaction.atomic
def sender_authorisation_create(*, actor: Actor, account: Account, name: str,
                                valid_until: date | None = None,
                                document: File | None = None) -> SenderAuthorisation:
    """Record a brand's authorisation (with its scan) for `account` to send as `name`."""
    actor.require_operator()
    authorisation = SenderAuthorisation(account=account, name=name, valid_until=valid_until,
                                        document=document or "", recorded_by=actor.label)
    _created(authorisation)
    audit_record(actor=actor, account=account, action="messaging.sender_authorisation.create",
                 target=authorisation, details={
                     "name": name, "valid_until": valid_until.isoformat() if valid_until else None})
    return authorisation


@transaction.atomic
def sender_authorisation_update(*, actor: Actor, authorisation: SenderAuthorisation,
                                changes: Mapping[str, Any]) -> SenderAuthorisation:
    """Change an authorisation (its account, name, validity or document); the operator
    who changed it last is the one it records."""
    actor.require_operator()
    authorisation = SenderAuthorisation.objects.select_for_update().get(pk=authorisation.pk)
    changed = changes_apply(authorisation, changes,
                            editable=("account", "name", "valid_until", "document"))
    if changed:
        authorisation.recorded_by = actor.label
        authorisation.save(update_fields=["recorded_by"])
        audit_record(actor=actor, account=authorisation.account,
                     action="messaging.sender_authorisation.update", target=authorisation,
                     details={"fields": changed})
    return authorisation


@transaction.atomic
def sender_authorisation_delete(*, actor: Actor, authorisation: SenderAuthorisation) -> None:
    actor.require_operator()
    audit_record(actor=actor, account=authorisation.account,
                 action="messaging.sender_authorisation.delete", target=authorisation,
                 details={"name": authorisation.name})
    authorisation.delete()
