from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Schema
from pydantic import Field

from chappe.contacts.models import (
    Contact,
    ContactImport,
    CustomFieldType,
    DuplicateMode,
    OptOut,
    OptOutSource,
)


class ContactIn(Schema):
    mobile: str = Field(min_length=1, max_length=40,
                        description="In E.164 or national form (the account's default country)")
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    company: str = Field("", max_length=200)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    address: str = Field("", max_length=300)
    city: str = Field("", max_length=100)
    country: str = Field("", max_length=60)
    custom: dict[str, Any] = Field(default_factory=dict,
                                   description="Custom field values by field key")
    list_ids: list[str] = Field(default_factory=list, max_length=1000)


class ContactPatch(Schema):
    mobile: str | None = Field(None, min_length=1, max_length=40)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    company: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    address: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=100)
    country: str | None = Field(None, max_length=60)
    custom: dict[str, Any] | None = Field(None, description="Values to set; null removes one")
    list_ids: list[str] | None = Field(None, max_length=1000,
                                       description="The lists the contact is in afterwards")


class ListRef(Schema):
    id: UUID
    name: str


class ContactOut(Schema):
    id: UUID
    mobile: str
    first_name: str
    last_name: str
    company: str
    phone: str
    email: str
    address: str
    city: str
    country: str
    custom: dict[str, Any]
    lists: list[ListRef]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_lists(obj: Contact) -> list[dict[str, Any]]:
        return [{"id": cl.pk, "name": cl.name} for cl in obj.lists.all()]


class ContactListIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=300)


class ContactListPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=300)


class ContactListOut(Schema):
    id: UUID
    name: str
    description: str
    size: int = 0
    created_at: datetime


class MembersIn(Schema):
    contact_ids: list[str] = Field(default_factory=list, max_length=10_000)


class MembersOut(Schema):
    changed: int
    not_found: list[str]


class CustomFieldIn(Schema):
    key: str = Field(min_length=1, max_length=40, description="e.g. loyalty_level")
    label: str = Field(min_length=1, max_length=100)
    type: CustomFieldType
    choices: list[str] = Field(default_factory=list, max_length=200,
                               description="For the choice type")


class CustomFieldPatch(Schema):
    label: str | None = Field(None, min_length=1, max_length=100)
    choices: list[str] | None = Field(None, max_length=200)


class CustomFieldOut(Schema):
    id: UUID
    key: str
    label: str
    type: str
    choices: list[str]
    created_at: datetime


class DuplicateGroupOut(Schema):
    number: str
    contacts: list[ContactOut]


class DuplicatesOut(Schema):
    groups: list[DuplicateGroupOut]
    contacts_to_remove: int
    numbers_to_rewrite: int
    invalid_numbers: int


class DedupeIn(Schema):
    numbers: list[str] | None = Field(None, description="Only these groups (E.164); all if "
                                                        "absent")


class DedupeOut(Schema):
    groups: int
    removed: int
    renumbered: int


# --- imports ------------------------------------------------------------------------------


class ImportColumn(Schema):
    index: int
    header: str
    target: str = Field(description='"" (ignored), a contact field, or "custom:<key>"')


class ContactImportOut(Schema):
    id: UUID
    file_name: str
    file_format: str
    encoding: str
    delimiter: str
    has_header: bool
    duplicates: DuplicateMode
    list_id: UUID | None
    status: str
    columns: list[ImportColumn]
    total_rows: int
    rows_done: int
    percent: int
    created: int
    updated: int
    skipped: int
    errors: int
    failure: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_list_id(obj: ContactImport) -> UUID | None:
        return obj.target_list_id

    @staticmethod
    def resolve_columns(obj: ContactImport) -> list[dict[str, Any]]:
        return [{"index": i, "header": h, "target": obj.mapping[i] if i < len(obj.mapping) else ""}
                for i, h in enumerate(obj.headers)]

    @staticmethod
    def resolve_created(obj: ContactImport) -> int:
        return obj.created_count

    @staticmethod
    def resolve_updated(obj: ContactImport) -> int:
        return obj.updated_count

    @staticmethod
    def resolve_skipped(obj: ContactImport) -> int:
        return obj.skipped_count

    @staticmethod
    def resolve_errors(obj: ContactImport) -> int:
        return obj.error_count


class PreviewRowOut(Schema):
    line: int
    values: dict[str, str]
    errors: dict[str, list[str]]
    duplicate: str = Field(description='"", "file" (earlier in the file) or "book" (already a '
                                       'contact)')


class ContactImportDetail(ContactImportOut):
    targets: list[str] = Field(default_factory=list, description="What a column can map to")
    preview: list[PreviewRowOut] = Field(default_factory=list)


class ContactImportPatch(Schema):
    mapping: list[str] | None = Field(None, max_length=200)
    has_header: bool | None = None
    duplicates: DuplicateMode | None = None
    list_id: str | None = None


# --- red list --------------------------------------------------------------------------------


class OptOutIn(Schema):
    number: str = Field(min_length=1, max_length=40)
    note: str = Field("", max_length=200)


class OptOutRemove(Schema):
    reason: str = Field(min_length=3, max_length=500, description="Why (audited)")


class OptOutOut(Schema):
    id: int
    number: str | None = Field(description="null once the number was erased (P-12): the entry "
                                           "then keeps only a keyed hash")
    erased: bool
    source: OptOutSource
    responsible: str
    added_by: str
    note: str
    created_at: datetime

    @staticmethod
    def resolve_erased(obj: OptOut) -> bool:
        return obj.erased


class RedListImportOut(Schema):
    added: int
    already: int
    duplicates: int
    invalid: int
    errors: list[dict[str, Any]]


class PolicyIn(Schema):
    self_managed: bool
    statement: str = Field("", max_length=5000,
                           description="The company's written choice (required to self-manage)")


class PolicyOut(Schema):
    self_managed: bool
    responsible: str
    statement: str
    decided_by: str
    decided_at: datetime | None


# --- recipients (P-12) ------------------------------------------------------------------------


class RecipientIn(Schema):
    number: str = Field(min_length=1, max_length=40)


class RecipientRectify(ContactPatch):
    number: str = Field(min_length=1, max_length=40)


class ErasureIn(RecipientIn):
    keep_opt_out: bool = Field(True, description="Keep the person opted out (as a keyed hash "
                                                 "of the number)")


class ErasureOut(Schema):
    number_hash: str
    contacts: int
    phones_cleared: int
    messages: int
    canceled: int
    replies: int
    sends: int
    webhook_events: int
    audit_entries: int
    import_rows: int
    imports_dropped: int
    opt_outs_kept: int
    opt_outs_deleted: int
