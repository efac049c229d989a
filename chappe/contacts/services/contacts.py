"""Contacts, contact lists and custom fields (M-4): writes.

Audit entries name the fields changed, never their values (recipients' personal data has
no place in a 10-year audit trail, and erasure must be able to leave nothing behind).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ValidationFailed
from chappe.contacts.fields import clean_contact, merged_custom, validate_key
from chappe.contacts.models import (
    Contact,
    ContactList,
    CustomField,
    CustomFieldType,
    ListMembership,
)
from chappe.contacts.selectors import field_specs
from chappe.contacts.sql import bulk_update_columns

MAX_CHOICES = 200


def _duplicate(account: Account, mobile: str) -> Conflict:
    existing = Contact.objects.filter(account=account, mobile=mobile).values_list(
        "pk", flat=True).first()
    return Conflict(_("A contact with this mobile number already exists."),
                    code="duplicate_contact",
                    details={"mobile": [_("Already in the address book.")],
                             "contact_id": str(existing) if existing else None})


def _set_lists(contact: Contact, lists: Sequence[ContactList]) -> None:
    wanted = {cl.pk for cl in lists}
    current = set(contact.memberships.values_list("contact_list_id", flat=True))
    contact.memberships.filter(contact_list_id__in=current - wanted).delete()
    ListMembership.objects.bulk_create(
        [ListMembership(contact=contact, contact_list_id=pk) for pk in wanted - current],
        ignore_conflicts=True)


def _check_lists(account: Account, lists: Sequence[ContactList] | None) -> None:
    if lists and any(cl.account_id != account.pk for cl in lists):
        raise ValidationFailed(details={"lists": [_("Unknown list.")]})


@transaction.atomic
def contact_create(
    *,
    actor: Actor,
    account: Account,
    mobile: str,
    values: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    lists: Sequence[ContactList] | None = None,
) -> Contact:
    """A new contact. `values` are the other built-in fields (first_name, …), `custom`
    the custom field values by key."""
    actor.require(Perm.CONTACTS_MANAGE)
    _check_lists(account, lists)
    cleaned = clean_contact({**(values or {}), "mobile": mobile}, custom=custom,
                            specs=field_specs(account=account),
                            default_country=account.default_country)
    if not cleaned.ok:
        raise ValidationFailed(details=cleaned.errors)
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                account=account, **cleaned.values,
                custom={k: v for k, v in cleaned.custom.items() if v is not None})
    except IntegrityError:
        raise _duplicate(account, cleaned.values["mobile"]) from None
    if lists:
        _set_lists(contact, lists)
    audit_record(actor=actor, account=account, action="contact.create", target=contact,
                 details={"fields": sorted([*cleaned.values, *cleaned.custom])})
    return contact


@transaction.atomic
def contact_update(
    *,
    actor: Actor,
    contact: Contact,
    values: Mapping[str, Any] | None = None,
    custom: Mapping[str, Any] | None = None,
    lists: Sequence[ContactList] | None = None,
) -> Contact:
    """Change some fields of a contact (rectification, P-12). Only the fields given
    change; an empty value clears a field, a custom value of None removes it. `lists`,
    when given, are the lists the contact is in afterwards."""
    actor.require(Perm.CONTACTS_MANAGE)
    account = contact.account
    _check_lists(account, lists)
    cleaned = clean_contact(values or {}, custom=custom, specs=field_specs(account=account),
                            default_country=account.default_country, require_mobile=False)
    if not cleaned.ok:
        raise ValidationFailed(details=cleaned.errors)
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    changed = [name for name, value in cleaned.values.items()
               if getattr(contact, name) != value]
    for name in changed:
        setattr(contact, name, cleaned.values[name])
    new_custom = merged_custom(contact.custom, cleaned.custom)
    changed_custom = sorted(k for k in set(new_custom) | set(contact.custom)
                            if new_custom.get(k) != contact.custom.get(k))
    contact.custom = new_custom
    if changed or changed_custom:
        try:
            with transaction.atomic():
                contact.save()
        except IntegrityError:
            raise _duplicate(account, contact.mobile) from None
    if lists is not None:
        _set_lists(contact, lists)
    if changed or changed_custom or lists is not None:
        audit_record(actor=actor, account=account, action="contact.update", target=contact,
                     details={"fields": sorted(changed) + [f"custom.{k}" for k in changed_custom],
                              **({"lists": len(lists)} if lists is not None else {})})
    return contact


@transaction.atomic
def contact_delete(*, actor: Actor, contact: Contact) -> None:
    """Delete a contact for good (the red list is separate: deleting is not opting out)."""
    actor.require(Perm.CONTACTS_MANAGE)
    audit_record(actor=actor, account=contact.account, action="contact.delete", target=contact)
    contact.delete()


@transaction.atomic
def contacts_delete(*, actor: Actor, account: Account, ids: Sequence[Any]) -> int:
    """Delete several contacts of the account (ids of others are ignored)."""
    actor.require(Perm.CONTACTS_MANAGE)
    contacts = Contact.objects.filter(account=account, pk__in=list(ids))
    count = contacts.count()
    if count:
        contacts.delete()
        audit_record(actor=actor, account=account, action="contact.delete_many",
                     details={"count": count})
    return count


# --- lists ------------------------------------------------------------------------------------


def _list_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(details={"name": [_("Give the list a name.")]})
    if len(name) > 100:
        raise ValidationFailed(details={"name": [_("At most 100 characters.")]})
    return name


@transaction.atomic
def contact_list_create(*, actor: Actor, account: Account, name: str,
                        description: str = "") -> ContactList:
    actor.require(Perm.CONTACTS_MANAGE)
    name = _list_name(name)
    try:
        with transaction.atomic():
            contact_list = ContactList.objects.create(account=account, name=name,
                                                      description=description.strip()[:300])
    except IntegrityError:
        raise Conflict(_("A list with this name already exists."), code="duplicate_list",
                       details={"name": [_("A list with this name already exists.")]}) from None
    audit_record(actor=actor, account=account, action="contact_list.create", target=contact_list)
    return contact_list


@transaction.atomic
def contact_list_update(*, actor: Actor, contact_list: ContactList, name: str | None = None,
                        description: str | None = None) -> ContactList:
    actor.require(Perm.CONTACTS_MANAGE)
    if name is not None:
        contact_list.name = _list_name(name)
    if description is not None:
        contact_list.description = description.strip()[:300]
    try:
        with transaction.atomic():
            contact_list.save(update_fields=["name", "description"])
    except IntegrityError:
        raise Conflict(_("A list with this name already exists."), code="duplicate_list",
                       details={"name": [_("A list with this name already exists.")]}) from None
    audit_record(actor=actor, account=contact_list.account, action="contact_list.update",
                 target=contact_list)
    return contact_list


@transaction.atomic
def contact_list_delete(*, actor: Actor, contact_list: ContactList) -> None:
    """Delete a list; its contacts stay in the address book."""
    actor.require(Perm.CONTACTS_MANAGE)
    audit_record(actor=actor, account=contact_list.account, action="contact_list.delete",
                 target=contact_list)
    contact_list.delete()


@transaction.atomic
def contact_list_add(*, actor: Actor, contact_list: ContactList,
                     contacts: Sequence[Contact]) -> int:
    """Put contacts in a list; returns how many were not in it yet."""
    actor.require(Perm.CONTACTS_MANAGE)
    ids = {c.pk for c in contacts if c.account_id == contact_list.account_id}
    already = set(ListMembership.objects.filter(contact_list=contact_list, contact_id__in=ids)
                  .values_list("contact_id", flat=True))
    new = ids - already
    ListMembership.objects.bulk_create(
        [ListMembership(contact_list=contact_list, contact_id=pk) for pk in new],
        ignore_conflicts=True, batch_size=1000)
    if new:
        audit_record(actor=actor, account=contact_list.account, action="contact_list.add",
                     target=contact_list, details={"count": len(new)})
    return len(new)


@transaction.atomic
def contact_list_remove(*, actor: Actor, contact_list: ContactList,
                        contacts: Sequence[Contact]) -> int:
    """Take contacts out of a list (they stay in the address book)."""
    actor.require(Perm.CONTACTS_MANAGE)
    removed, _detail = ListMembership.objects.filter(
        contact_list=contact_list, contact_id__in=[c.pk for c in contacts]).delete()
    if removed:
        audit_record(actor=actor, account=contact_list.account, action="contact_list.remove",
                     target=contact_list, details={"count": removed})
    return removed


# --- custom fields ------------------------------------------------------------------------------


def _clean_choices(field_type: str, choices: Sequence[str] | None) -> list[str]:
    if field_type != CustomFieldType.CHOICE:
        return []
    cleaned: list[str] = []
    for choice in choices or []:
        text = str(choice).strip()
        if text and text.casefold() not in {c.casefold() for c in cleaned}:
            cleaned.append(text)
    if not cleaned:
        raise ValidationFailed(details={"choices": [_("Give at least one choice.")]})
    if len(cleaned) > MAX_CHOICES or any(len(c) > 100 for c in cleaned):
        raise ValidationFailed(details={"choices": [
            _("At most %(n)d choices of 100 characters.") % {"n": MAX_CHOICES}]})
    return cleaned


def _label(label: str) -> str:
    label = (label or "").strip()
    if not label or len(label) > 100:
        raise ValidationFailed(details={"label": [_("Give a label of at most 100 characters.")]})
    return label


@transaction.atomic
def custom_field_create(*, actor: Actor, account: Account, key: str, label: str, type: str,
                        choices: Sequence[str] | None = None) -> CustomField:
    actor.require(Perm.CONTACTS_MANAGE)
    key = (key or "").strip()
    errors: dict[str, list[str]] = {}
    if problem := validate_key(key):
        errors["key"] = [problem]
    if type not in CustomFieldType.values:
        errors["type"] = [_("One of: %(types)s.") % {"types": ", ".join(CustomFieldType.values)}]
    if errors:
        raise ValidationFailed(details=errors)
    try:
        with transaction.atomic():
            field = CustomField.objects.create(account=account, key=key, label=_label(label),
                                               type=type, choices=_clean_choices(type, choices))
    except IntegrityError:
        raise Conflict(_("A field with this key already exists."), code="duplicate_field",
                       details={"key": [_("A field with this key already exists.")]}) from None
    audit_record(actor=actor, account=account, action="contact_field.create", target=field,
                 details={"key": key, "type": type})
    return field


@transaction.atomic
def custom_field_update(*, actor: Actor, field: CustomField, label: str | None = None,
                        choices: Sequence[str] | None = None) -> CustomField:
    """Rename a field or change its choices. Its key and type stay: they name stored
    values. A choice still used by contacts cannot be removed."""
    actor.require(Perm.CONTACTS_MANAGE)
    if label is not None:
        field.label = _label(label)
    if choices is not None and field.type == CustomFieldType.CHOICE:
        new = _clean_choices(field.type, choices)
        removed = [c for c in field.choices if c not in new]
        in_use = Contact.objects.filter(account=field.account, **{
            f"custom__{field.key}__in": removed}).count() if removed else 0
        if in_use:
            raise Conflict(
                _("%(n)d contacts have a choice you removed; change them first.") % {"n": in_use},
                code="choice_in_use", details={"choices": [_("A removed choice is in use.")]})
        field.choices = new
    field.save(update_fields=["label", "choices"])
    audit_record(actor=actor, account=field.account, action="contact_field.update", target=field)
    return field


@transaction.atomic
def custom_field_delete(*, actor: Actor, field: CustomField) -> int:
    """Delete a field and its value in every contact; returns how many contacts had one."""
    actor.require(Perm.CONTACTS_MANAGE)
    holders = list(Contact.objects.filter(account=field.account, custom__has_key=field.key)
                   .only("id", "custom"))
    now = timezone.now()
    for contact in holders:
        contact.custom.pop(field.key, None)
        contact.updated_at = now
    bulk_update_columns(holders, ["custom", "updated_at"])
    audit_record(actor=actor, account=field.account, action="contact_field.delete", target=field,
                 details={"key": field.key, "values_removed": len(holders)})
    field.delete()
    return len(holders)


__all__ = [
    "contact_create",
    "contact_delete",
    "contact_list_add",
    "contact_list_create",
    "contact_list_delete",
    "contact_list_remove",
    "contact_list_update",
    "contact_update",
    "contacts_delete",
    "custom_field_create",
    "custom_field_delete",
    "custom_field_update",
]
