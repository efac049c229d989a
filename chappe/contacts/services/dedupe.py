"""Duplicate cleaning in the address book (M-4).

Numbers are stored in E.164, so duplicates come from numbers stored raw or normalised
under older rules: `contact_duplicates` re-normalises every number; this merges each
group into one contact (`merging.plan_merge`: the most complete, gaps filled from the
others, every list membership kept) stored under the E.164 form, and rewrites the numbers
of contacts that were alone but not in E.164.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.contacts.fields import TEXT_FIELDS, mobile_facts
from chappe.contacts.merging import Record, plan_merge
from chappe.contacts.models import Contact, ListMembership
from chappe.contacts.selectors import contact_duplicates


@dataclass
class DedupeReport:
    groups: int = 0
    removed: int = 0
    renumbered: int = 0


def _record(contact: Contact) -> Record:
    return Record(id=contact.pk, values={n: getattr(contact, n) for n in TEXT_FIELDS},
                  custom=contact.custom, created_at=contact.created_at,
                  updated_at=contact.updated_at)


def contacts_merge(*, contacts: Sequence[Contact], number: str) -> Contact:
    """Merge `contacts` (same person) into one stored under `number`; call inside a
    transaction with the rows locked."""
    plan = plan_merge([_record(c) for c in contacts])
    keep = next(c for c in contacts if c.pk == plan.keep)
    lists = set(ListMembership.objects.filter(contact_id__in=[c.pk for c in contacts])
                .values_list("contact_list_id", flat=True))
    Contact.objects.filter(pk__in=plan.drop).delete()
    ListMembership.objects.bulk_create(
        [ListMembership(contact_id=keep.pk, contact_list_id=pk) for pk in lists],
        ignore_conflicts=True)
    for name, value in plan.values.items():
        setattr(keep, name, value)
    keep.custom = plan.custom
    keep.mobile = number
    keep.updated_at = timezone.now()
    keep.save()
    return keep


def contacts_dedupe(*, actor: Actor, account: Account,
                    numbers: Sequence[str] | None = None) -> DedupeReport:
    """Merge every group of duplicates (or only those of `numbers`, E.164) and store
    every number in its E.164 form."""
    actor.require(Perm.CONTACTS_MANAGE)
    scan = contact_duplicates(account=account)
    wanted = set(numbers) if numbers is not None else None
    report = DedupeReport()
    with transaction.atomic():
        for group in scan.groups:
            if wanted is not None and group.number not in wanted:
                continue
            locked = list(Contact.objects.select_for_update().filter(
                account=account, pk__in=[c.pk for c in group.contacts]))
            if len(locked) < 2:
                continue  # merged or deleted meanwhile
            contacts_merge(contacts=locked, number=group.number)
            report.groups += 1
            report.removed += len(locked) - 1
        for pk, e164 in scan.renumber:
            if wanted is not None and e164 not in wanted:
                continue
            if not Contact.objects.filter(account=account, mobile=e164).exists():
                country, operator = mobile_facts(e164)
                report.renumbered += Contact.objects.filter(account=account, pk=pk).update(
                    mobile=e164, mobile_country=country, mobile_operator=operator,
                    updated_at=timezone.now())
        if report.groups or report.renumbered:
            audit_record(actor=actor, account=account, action="contact.dedupe",
                         details={"groups": report.groups, "removed": report.removed,
                                  "renumbered": report.renumbered})
    return report
