"""One phone number in the address book and the red list: the number a client types
(`recipient_number`, for the red list and recipients' rights), and the address book's part
of a recipient's erasure (P-12, decision 0018), which `chappe.privacy.rights` runs in its
transaction with the other apps' parts.

The address book's part: the contact is deleted (a raw, unnormalised twin too); the number
is cleared where it is another contact's phone; import error rows holding it go; files
uploaded but not imported yet that contain it are dropped; a red-list entry keeps only a
keyed hash of the number (`pseudonym`), so the person stays opted out — their objection
outlives the erasure — unless `keep_opt_out=False`. An import running could add the number
again: the erasure waits (409).
"""


from django.db.models import Q
from django.utils.translation import gettext as _

from chappe.accounts.models import Account
from chappe.common.erasure import number_variants
from chappe.common.errors import Conflict, ValidationFailed
from chappe.contacts.fields import FieldValueError, normalize_mobile
from chappe.contacts.models import (
    Contact,
    ContactImport,
    ContactImportError,
    ContactImportFile,
    ImportStatus,
    OptOut,
)
from chappe.contacts.pseudonym import number_hash
from chappe.contacts.selectors import cell_is_number, contacts_with_number, opt_outs_of_number
from chappe.contacts.tabular import FileInfo, UnreadableFile, iter_rows


def recipient_number(*, account: Account, number: str) -> str:
    """The E.164 form of a number typed by the client, or ValidationFailed."""
    try:
        return normalize_mobile((number or "").strip(), default_country=account.default_country)
    except FieldValueError as exc:
        raise ValidationFailed(details={"number": [exc.message]}) from None


def contacts_erase_number(*, account: Account, number: str,
                          keep_opt_out: bool = True) -> dict[str, int]:
    """Erase `number` (E.164) from the address book and the red list (see the module doc),
    in the caller's transaction; returns how many rows of each kind it touched."""
    if ContactImport.objects.filter(account=account, status__in=[
            ImportStatus.QUEUED, ImportStatus.RUNNING]).exists():
        raise Conflict(_("An import is running and could add this number again: erase it "
                         "once the import is over."), code="import_running")
    variants = number_variants(number)
    counts: dict[str, int] = {}
    _total, deleted = contacts_with_number(account=account, number=number).delete()
    counts["contacts"] = deleted.get(Contact._meta.label, 0)
    counts["phones_cleared"] = Contact.objects.filter(account=account, phone=number) \
        .update(phone="")
    counts["import_rows"], _detail = ContactImportError.objects.filter(
        contact_import__account=account).filter(
        Q(number=number) | Q(values__contains=number)
        | Q(values__contains=variants[-1])).delete()
    counts["imports_dropped"] = _drop_pending_uploads(account, number, variants)

    entries = opt_outs_of_number(account=account, number=number)
    if keep_opt_out:
        counts["opt_outs_kept"] = entries.update(
            number=None, number_hash=number_hash(account_id=account.pk, number=number), note="")
    else:
        _total, deleted = entries.delete()
        counts["opt_outs_deleted"] = deleted.get(OptOut._meta.label, 0)
    return counts


def _drop_pending_uploads(account: Account, e164: str, variants: list[str]) -> int:
    """Imports not started whose file holds the number: canceled, file dropped."""
    dropped = 0
    for imp in ContactImport.objects.filter(account=account, status=ImportStatus.UPLOADED):
        upload = ContactImportFile.objects.filter(pk=imp.pk).first()
        if upload is None:
            continue
        info = FileInfo(format=imp.file_format, encoding=imp.encoding, delimiter=imp.delimiter)
        try:
            found = any(cell_is_number(cell, e164, variants, account.default_country)
                        for row in iter_rows(bytes(upload.data), info) for cell in row)
        except UnreadableFile:
            found = True  # cannot tell: drop it
        if found:
            upload.delete()
            imp.status, imp.failure, imp.sample = ImportStatus.CANCELED, "recipient erased", []
            imp.save(update_fields=["status", "failure", "sample"])
            dropped += 1
    return dropped
