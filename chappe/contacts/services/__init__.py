"""Writes of the address book and the red list (M-4, M-5), and their part of a recipient's
erasure (P-12, run by `chappe.privacy.rights`)."""

from chappe.contacts.services.contacts import (
    contact_create,
    contact_delete,
    contact_list_add,
    contact_list_create,
    contact_list_delete,
    contact_list_remove,
    contact_list_update,
    contact_update,
    contacts_delete,
    custom_field_create,
    custom_field_delete,
    custom_field_update,
)
from chappe.contacts.services.dedupe import DedupeReport, contacts_dedupe, contacts_merge
from chappe.contacts.services.erasure import contacts_erase_number, recipient_number
from chappe.contacts.services.imports import (
    PreviewRow,
    column_labels,
    contact_import_cancel,
    contact_import_configure,
    contact_import_create,
    contact_import_preview,
    contact_import_run,
    contact_import_start,
    contact_imports_purge,
)
from chappe.contacts.services.red_list import (
    RedListImport,
    opt_out_add,
    opt_out_remove,
    opt_outs_import,
    red_list_policy_set,
)

__all__ = [
    "DedupeReport",
    "PreviewRow",
    "RedListImport",
    "column_labels",
    "contact_create",
    "contact_delete",
    "contact_import_cancel",
    "contact_import_configure",
    "contact_import_create",
    "contact_import_preview",
    "contact_import_run",
    "contact_import_start",
    "contact_imports_purge",
    "contact_list_add",
    "contact_list_create",
    "contact_list_delete",
    "contact_list_remove",
    "contact_list_update",
    "contact_update",
    "contacts_dedupe",
    "contacts_delete",
    "contacts_erase_number",
    "contacts_merge",
    "custom_field_create",
    "custom_field_delete",
    "custom_field_update",
    "opt_out_add",
    "opt_out_remove",
    "opt_outs_import",
    "recipient_number",
    "red_list_policy_set",
]
