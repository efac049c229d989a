"""Jobs of the address book: the background import and the housekeeping of import files."""

from datetime import timedelta

from chappe.contacts.services import contact_import_run, contact_imports_purge
from chappe.queue.registry import job_handler


@job_handler("contacts.import_run")
def import_run(payload: dict) -> None:
    contact_import_run(import_id=payload["import_id"])


@job_handler("contacts.imports_purge", every=timedelta(hours=1))
def imports_purge(payload: dict) -> None:
    contact_imports_purge()
