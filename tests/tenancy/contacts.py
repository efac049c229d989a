"""Tenant data and path parameters of chappe.contacts: a custom field, a list, a contact
in it plus a legacy duplicate of it (stored raw), an import waiting for its mapping, a
red-list entry and the red-list policy."""

import zlib

from chappe.accounts.actor import SYSTEM
from chappe.contacts.models import Contact, OptOutSource
from chappe.contacts.services import (
    contact_create,
    contact_import_create,
    contact_list_create,
    custom_field_create,
    opt_out_add,
    red_list_policy_set,
)
from tests.tenancy import IdFactory, NotTenantScoped, Tenant


def seed(t: Tenant) -> None:
    o = t.objects
    actor = SYSTEM.on(t.account)
    digits = zlib.crc32(t.tag.encode()) % 10_000_000
    o["contact_field"] = custom_field_create(actor=actor, account=t.account, key="tier",
                                             label=f"Tier {t.tag}", type="text")
    o["contact_list"] = contact_list_create(actor=actor, account=t.account, name=f"List {t.tag}")
    o["contact"] = contact_create(actor=actor, account=t.account, mobile=f"+3375{digits:07d}",
                                  values={"last_name": f"Name {t.tag}"},
                                  custom={"tier": t.tag}, lists=[o["contact_list"]])
    # The same number stored raw (before normalisation): a duplicate to clean.
    o["duplicate"] = Contact.objects.create(account=t.account, mobile=f"075{digits:07d}",
                                            first_name=f"Dup {t.tag}")
    o["contact_import"] = contact_import_create(
        actor=actor, account=t.account, file_name=f"{t.tag}.csv",
        data=f"mobile;first_name\n+3376{digits:07d};Imported {t.tag}\n".encode())
    o["opt_out"] = opt_out_add(actor=actor, account=t.account, number=f"+3377{digits:07d}",
                               source=OptOutSource.MANUAL, note=f"note {t.tag}")
    red_list_policy_set(actor=actor, account=t.account, self_managed=True,
                        statement=f"The company {t.tag} manages its red list itself.")


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "contact_id": lambda t: [t.objects["contact"].pk, t.objects["duplicate"].pk],
    "list_id": lambda t: [t.objects["contact_list"].pk],
    "field_id": lambda t: [t.objects["contact_field"].pk],
    "import_id": lambda t: [t.objects["contact_import"].pk],
    "opt_out_id": lambda t: [t.objects["opt_out"].pk],
}
