"""Reads of the address book and the red list. Every lookup is scoped to one account."""

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet

from chappe.accounts.models import Account
from chappe.common.bulk import among
from chappe.common.erasure import number_variants
from chappe.common.lookup import filtered, get_or_404, is_uuid
from chappe.common.numbers import InvalidNumber, e164_or_as_typed, normalize
from chappe.contacts.fields import (
    BUILTIN_FIELDS,
    CUSTOM_PREFIX,
    FieldSpec,
    FieldValueError,
    normalize_mobile,
    text_of,
)
from chappe.contacts.models import (
    Contact,
    ContactImport,
    ContactImportError,
    ContactList,
    CustomField,
    OptOut,
    RedListPolicy,
)
from chappe.contacts.pseudonym import number_hashes

_CHUNK = 900  # stays under SQLite's bound-parameter limit


# --- red list ------------------------------------------------------------------------------


def _among(entries: QuerySet[OptOut], column: str, values: list[str]) -> Iterable[str]:
    """`column` of the `entries` whose `column` is one of `values`: on PostgreSQL one
    array parameter (`common.bulk.among`: a campaign checks 10,000 numbers per
    transaction), elsewhere IN lists under SQLite's limit."""
    if connection.vendor == "postgresql":
        yield from among(entries, column, values).order_by().values_list(column, flat=True)
        return
    for start in range(0, len(values), _CHUNK):
        yield from entries.filter(**{f"{column}__in": values[start:start + _CHUNK]}) \
            .order_by().values_list(column, flat=True)


def opted_out_numbers(*, account: Account, numbers: Iterable[str]) -> set[str]:
    """Which of `numbers` (E.164) are on the account's red list — by number, and for
    erased entries (P-12) by their keyed hash."""
    wanted = list(dict.fromkeys(numbers))
    entries = OptOut.objects.filter(account=account)
    found = set(_among(entries, "number", wanted))
    if entries.filter(number__isnull=True).exists():
        by_hash = {h: n for n in wanted if n not in found
                   for h in number_hashes(account_id=account.pk, number=n)}
        found.update(by_hash[h] for h in _among(entries, "number_hash", list(by_hash)))
    return found


def opt_out_query(*, account: Account, search: str | None = None,
                  source: str | None = None) -> QuerySet[OptOut]:
    entries = filtered(OptOut.objects.filter(account=account), source=source)
    if search and search.strip():
        term = e164_or_as_typed(search, default_country=account.default_country)
        entries = entries.filter(Q(number__contains=term) | Q(note__icontains=term))
    return entries.order_by("-created_at", "-id")


def opt_out_get(*, account: Account, id: Any) -> OptOut:
    return get_or_404(OptOut.objects.filter(account=account), id)


def red_list_policy_get(*, account: Account) -> RedListPolicy:
    """The account's red-list policy; the default (managed by the platform) if it never
    chose."""
    return (RedListPolicy.objects.filter(account=account).first()
            or RedListPolicy(account=account))


# --- custom fields --------------------------------------------------------------------------


def custom_field_query(*, account: Account) -> QuerySet[CustomField]:
    return CustomField.objects.filter(account=account).order_by("created_at", "id")


def custom_field_get(*, account: Account, id: Any) -> CustomField:
    return get_or_404(CustomField.objects.filter(account=account), id)


def field_specs(*, account: Account) -> dict[str, FieldSpec]:
    return {f.key: FieldSpec(key=f.key, type=f.type, choices=tuple(f.choices), label=f.label)
            for f in custom_field_query(account=account)}


# --- contacts and lists ----------------------------------------------------------------------


def _search(contacts: QuerySet[Contact], search: str, default_country: str) -> QuerySet[Contact]:
    term = search.strip()
    with contextlib.suppress(InvalidNumber):
        if sum(c.isdigit() for c in term) >= 6:
            e164 = normalize(term, default_country=default_country).e164
            return contacts.filter(Q(mobile=e164) | Q(phone=e164))
    for word in term.split():
        digits = "".join(c for c in word if c.isdigit())
        match = (Q(first_name__icontains=word) | Q(last_name__icontains=word)
                 | Q(company__icontains=word) | Q(email__icontains=word)
                 | Q(city__icontains=word))
        if digits and len(digits) == len(word.lstrip("+")):
            match |= Q(mobile__contains=digits)
        contacts = contacts.filter(match)
    return contacts


def contact_query(
    *,
    account: Account,
    search: str | None = None,
    list_id: Any = None,
    field: str | None = None,
    value: str | None = None,
) -> QuerySet[Contact]:
    """The account's contacts, by name; `search` matches names, company, e-mail, city or
    the number; `field`/`value` match one field exactly (built-in, or a custom key)."""
    contacts = Contact.objects.filter(account=account)
    if list_id:
        if not is_uuid(list_id):
            return contacts.none()
        contacts = contacts.filter(memberships__contact_list_id=list_id)
    if search and search.strip():
        contacts = _search(contacts, search, account.default_country)
    if field:
        name = field.removeprefix(CUSTOM_PREFIX)
        if name in BUILTIN_FIELDS and not field.startswith(CUSTOM_PREFIX):
            contacts = contacts.filter(**{name: value or ""})
        elif value:
            contacts = contacts.filter(**{f"custom__{name}": value})
        else:
            contacts = contacts.exclude(custom__has_key=name)
    return contacts.order_by("last_name", "first_name", "mobile", "id")


def contact_get(*, account: Account, id: Any) -> Contact:
    return get_or_404(Contact.objects.filter(account=account).prefetch_related("lists"), id)


def contact_by_number(*, account: Account, number: str) -> Contact | None:
    return Contact.objects.filter(account=account, mobile=number).first()


def contact_list_query(*, account: Account) -> QuerySet[ContactList]:
    return (ContactList.objects.filter(account=account)
            .annotate(size=Count("memberships")).order_by("name", "id"))


def contact_list_get(*, account: Account, id: Any) -> ContactList:
    return get_or_404(contact_list_query(account=account), id)


def contact_lists_by_id(*, account: Account, ids: Iterable[Any]) -> list[ContactList]:
    """The account's lists among `ids` (ids of other accounts or malformed are left out)."""
    wanted = [i for i in ids if is_uuid(i)]
    return list(ContactList.objects.filter(account=account, pk__in=wanted))


# --- imports ------------------------------------------------------------------------------


def contact_import_query(*, account: Account) -> QuerySet[ContactImport]:
    return ContactImport.objects.filter(account=account).select_related("target_list")


def contact_import_get(*, account: Account, id: Any) -> ContactImport:
    return get_or_404(contact_import_query(account=account), id)


# --- duplicates --------------------------------------------------------------------------------


@dataclass
class DuplicateGroup:
    number: str  # E.164 they all normalise to
    contacts: list[Contact]


@dataclass
class DuplicateScan:
    groups: list[DuplicateGroup] = field(default_factory=list)
    # Contacts alone with their number but not stored in its E.164 form: (id, E.164).
    renumber: list[tuple[Any, str]] = field(default_factory=list)
    # Contacts whose stored number no longer parses.
    invalid: int = 0

    @property
    def extra_contacts(self) -> int:
        return sum(len(g.contacts) - 1 for g in self.groups)


def contact_duplicates(*, account: Account) -> DuplicateScan:
    """Contacts whose numbers are the same once normalised again with today's rules and
    the account's default country (numbers stored raw, or before a rule changed)."""
    by_number: dict[str, list[tuple[Any, str]]] = {}
    scan = DuplicateScan()
    rows = (Contact.objects.filter(account=account).order_by("pk")
            .values_list("pk", "mobile").iterator(chunk_size=5000))
    for pk, mobile in rows:
        try:
            e164 = normalize(mobile, default_country=account.default_country).e164
        except InvalidNumber:
            scan.invalid += 1
            continue
        by_number.setdefault(e164, []).append((pk, mobile))
    grouped: dict[Any, str] = {}
    for e164, members in by_number.items():
        if len(members) > 1:
            grouped.update((pk, e164) for pk, _mobile in members)
        elif members[0][1] != e164:
            scan.renumber.append((members[0][0], e164))
    contacts: dict[str, list[Contact]] = {}
    ids = list(grouped)
    for start in range(0, len(ids), _CHUNK):
        for contact in (Contact.objects.filter(pk__in=ids[start:start + _CHUNK])
                        .prefetch_related("lists")):
            contacts.setdefault(grouped[contact.pk], []).append(contact)
    scan.groups = [DuplicateGroup(number=n, contacts=sorted(cs, key=lambda c: c.created_at))
                   for n, cs in sorted(contacts.items())]
    return scan


# --- one number (P-12) -------------------------------------------------------------------------


def opt_outs_of_number(*, account: Account, number: str) -> QuerySet[OptOut]:
    """The red-list entries of `number` (E.164): by number, or erased and kept as its
    keyed hash."""
    return OptOut.objects.filter(account=account).filter(
        Q(number=number) | Q(number__isnull=True,
                             number_hash__in=number_hashes(account_id=account.pk, number=number)))


@dataclass
class NumberInAddressBook:
    """What the address book holds about one phone number."""

    contacts: list[Contact]
    # Contacts that have the number as their other phone.
    phone_of: list[Contact]
    opt_outs: list[OptOut]
    import_errors: QuerySet[ContactImportError]


# A mobile already stored in E.164 (others were kept as typed, from before normalisation).
_CANONICAL = r"^\+[1-9][0-9]{6,14}$"


def cell_is_number(cell: Any, e164: str, variants: list[str], default_country: str) -> bool:
    """Whether a cell (an imported value, a mobile kept as typed) holds the number."""
    text = text_of(cell)
    if not text:
        return False
    if any(v in text for v in variants):
        return True
    digits = sum(c.isdigit() for c in text)
    if digits < 6 or digits > 16:
        return False
    try:
        return normalize_mobile(text, default_country=default_country) == e164
    except FieldValueError:
        return False


def contacts_with_number(*, account: Account, number: str) -> QuerySet[Contact]:
    """The contacts whose mobile is `number` (E.164): stored so, or kept as typed before
    normalisation ("06 12 34 56 78") — what the right of access shows and an erasure
    deletes, the same rows."""
    variants = number_variants(number)
    typed = [c.pk for c in Contact.objects.filter(account=account)
             .exclude(mobile__regex=_CANONICAL).only("pk", "mobile")
             if cell_is_number(c.mobile, number, variants, account.default_country)]
    return Contact.objects.filter(account=account).filter(Q(mobile=number) | Q(pk__in=typed))


def number_in_address_book(*, account: Account, number: str) -> NumberInAddressBook:
    """Contacts (with their lists) and other phones, red-list entries (an erased one is
    found by its hash) and import error rows of `number` (E.164)."""
    return NumberInAddressBook(
        contacts=list(contacts_with_number(account=account, number=number)
                      .prefetch_related("lists")),
        phone_of=list(Contact.objects.filter(account=account, phone=number)
                      .exclude(mobile=number)),
        opt_outs=list(opt_outs_of_number(account=account, number=number)),
        import_errors=(ContactImportError.objects.filter(contact_import__account=account,
                                                         number=number)
                       .select_related("contact_import")),
    )
