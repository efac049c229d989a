"""Contact imports (M-4): upload → column mapping → preview → background run.

* **Upload** (`contact_import_create`): the file is read (format, encoding, separator,
  header), the column mapping guessed, and the bytes kept in the database so whichever
  worker runs the import can read them.
* **Mapping and preview** (`contact_import_configure`, `contact_import_preview`): the
  client corrects the mapping; the first rows are shown as they would be imported, with
  their errors and duplicates.
* **Run** (`contact_import_start` enqueues a job; `contact_import_run` does the work):
  rows are cleaned by the same code as a contact typed in (`fields.clean_contact`), then
  written in chunks of 2,000 — one `bulk_create` for new contacts, one multi-row UPDATE for
  merged ones, one insert of list memberships and one of error rows — each chunk in one
  transaction that also advances `rows_done`. A worker that dies mid-import leaves the
  job to be claimed again, which resumes after the last committed chunk; a second runner
  of the same import waits on the import's row lock and skips chunks already done.
* **Duplicates** (the same normalised number earlier in the file or already in the
  address book): `merge` writes the row's non-empty values over the contact's; `skip`
  leaves the contact as it is and counts the row as skipped.
"""

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.common.bulk import among
from chappe.common.errors import Conflict, ValidationFailed
from chappe.contacts.fields import (
    BUILTIN_FIELDS,
    CUSTOM_PREFIX,
    Cleaned,
    FieldSpec,
    clean_contact,
    text_of,
)
from chappe.contacts.merging import fill_from
from chappe.contacts.models import (
    Contact,
    ContactImport,
    ContactImportError,
    ContactImportFile,
    ContactList,
    DuplicateMode,
    ImportStatus,
    ListMembership,
)
from chappe.contacts.selectors import field_specs
from chappe.contacts.sql import bulk_insert, bulk_update_columns
from chappe.contacts.tabular import (
    FileInfo,
    UnreadableFile,
    guess_mapping,
    is_blank,
    iter_rows,
    looks_like_header,
    mapping_targets,
    sniff,
    xlsx_row_count,
)
from chappe.queue.jobs import job_enqueue, job_heartbeat

log = logging.getLogger(__name__)

MAX_BYTES = 50 * 1024 * 1024
CHUNK = 2000
LOOKUP_CHUNK = 900  # SQLite's bound-parameter limit, with room to spare
SAMPLE_ROWS = 20
PREVIEW_ROWS = 20
# Uploaded files never started are dropped after this; error reports are kept this long.
UPLOAD_TTL = timedelta(hours=24)
REPORT_TTL = timedelta(days=30)
WRITABLE = [name for name in BUILTIN_FIELDS if name != "mobile"]


def _info(imp: ContactImport) -> FileInfo:
    return FileInfo(format=imp.file_format, encoding=imp.encoding, delimiter=imp.delimiter)


def _data_rows(rows: Iterable[list[Any]], has_header: bool) -> Iterator[tuple[int, list[Any]]]:
    """(line in the file, cells) of every non-blank data row; the header is the first
    non-blank row."""
    header = has_header
    for line, cells in enumerate(rows, start=1):
        if is_blank(cells):
            continue
        if header:
            header = False
            continue
        yield line, cells


def _upload_data(imp: ContactImport) -> bytes:
    upload = ContactImportFile.objects.filter(pk=imp.pk).first()
    if upload is None:
        raise Conflict(_("The file of this import is no longer kept."), code="file_gone")
    return bytes(upload.data)


def column_labels(imp: ContactImport) -> list[str]:
    return [(h if imp.has_header and h else _("Column %(n)d") % {"n": i})
            for i, h in enumerate(imp.headers, start=1)]


# --- upload and mapping -----------------------------------------------------------------------


@transaction.atomic
def contact_import_create(
    *,
    actor: Actor,
    account: Account,
    file_name: str,
    data: bytes,
    duplicates: str = DuplicateMode.MERGE,
    target_list: ContactList | None = None,
    language: str = "en",
) -> ContactImport:
    """Read an uploaded file and guess its mapping; nothing is imported yet."""
    actor.require(Perm.CONTACTS_MANAGE)
    if len(data) > MAX_BYTES:
        raise ValidationFailed(details={"file": [_("The file is larger than %(n)d MB.") % {
            "n": MAX_BYTES // 1024 // 1024}]})
    if duplicates not in DuplicateMode.values:
        raise ValidationFailed(details={"duplicates": [_("Either merge or skip.")]})
    if target_list is not None and target_list.account_id != account.pk:
        raise ValidationFailed(details={"list_id": [_("Unknown list.")]})
    try:
        info = sniff(data, file_name)
        lines: list[tuple[int, list[Any]]] = []
        for line, cells in enumerate(iter_rows(data, info), start=1):
            if not is_blank(cells):
                lines.append((line, cells))
            if len(lines) > SAMPLE_ROWS:
                break
    except UnreadableFile as exc:
        raise ValidationFailed(details={"file": [exc.message]}) from None
    if not lines:
        raise ValidationFailed(details={"file": [_("The file has no rows.")]})
    sample = [cells for _line, cells in lines]
    has_header = looks_like_header(sample[0], default_country=account.default_country)
    width = max(len(row) for row in sample)
    headers = [text_of(c) for c in sample[0]] if has_header else []
    headers += [""] * (width - len(headers))
    specs = list(field_specs(account=account).values())
    mapping = guess_mapping(headers, custom=specs, samples=sample[1:] if has_header else sample,
                            default_country=account.default_country)[:width]
    imp = ContactImport.objects.create(
        account=account, created_by=actor.label, file_name=(file_name or "contacts")[:200],
        file_format=info.format, encoding=info.encoding, delimiter=info.delimiter,
        has_header=has_header, headers=headers, mapping=mapping, duplicates=duplicates,
        target_list=target_list, language=(language or "en")[:8],
        sample=[[line, [text_of(c) for c in cells]] for line, cells in lines])
    ContactImportFile.objects.create(contact_import=imp, data=data)
    audit_record(actor=actor, account=account, action="contact_import.create", target=imp,
                 details={"file": imp.file_name, "format": info.format, "bytes": len(data)})
    return imp


def _check_mapping(imp: ContactImport, mapping: Sequence[str],
                   specs: Sequence[FieldSpec]) -> list[str]:
    targets = set(mapping_targets(specs))
    mapping = [str(t or "") for t in mapping]
    problems = []
    if len(mapping) != len(imp.headers):
        problems.append(_("Give one target per column (%(n)d columns).") % {
            "n": len(imp.headers)})
    unknown = sorted({t for t in mapping if t and t not in targets})
    if unknown:
        problems.append(_("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)})
    used = [t for t in mapping if t]
    twice = sorted({t for t in used if used.count(t) > 1})
    if twice:
        problems.append(_("Each field can take one column only: %(fields)s.") % {
            "fields": ", ".join(twice)})
    if "mobile" not in used:
        problems.append(_("Choose the column of the mobile number."))
    if problems:
        raise ValidationFailed(details={"mapping": problems})
    return mapping


@transaction.atomic
def contact_import_configure(
    *,
    actor: Actor,
    contact_import: ContactImport,
    mapping: Sequence[str],
    has_header: bool,
    duplicates: str,
    target_list: ContactList | None,
) -> ContactImport:
    """Set the mapping and options of an import not started yet."""
    actor.require(Perm.CONTACTS_MANAGE)
    imp = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
    if imp.status != ImportStatus.UPLOADED:
        raise Conflict(_("This import has already started."), code="import_started")
    if duplicates not in DuplicateMode.values:
        raise ValidationFailed(details={"duplicates": [_("Either merge or skip.")]})
    if target_list is not None and target_list.account_id != imp.account_id:
        raise ValidationFailed(details={"list_id": [_("Unknown list.")]})
    imp.mapping = _check_mapping(imp, mapping,
                                 list(field_specs(account=imp.account).values()))
    imp.has_header, imp.duplicates, imp.target_list = bool(has_header), duplicates, target_list
    imp.save(update_fields=["mapping", "has_header", "duplicates", "target_list"])
    return imp


# --- preview ----------------------------------------------------------------------------------


@dataclass
class PreviewRow:
    line: int
    values: dict[str, str]  # target → the cell as read
    errors: dict[str, list[str]] = field(default_factory=dict)
    # "" (new contact), "file" (same number earlier in the file), "book" (in the address book).
    duplicate: str = ""
    mobile: str = ""  # E.164 when valid


def _split(cells: Sequence[Any], mapping: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for index, target in enumerate(mapping):
        if not target:
            continue
        cell = cells[index] if index < len(cells) else None
        if target.startswith(CUSTOM_PREFIX):
            custom[target.removeprefix(CUSTOM_PREFIX)] = cell
        else:
            values[target] = cell
    return values, custom


def contact_import_preview(*, contact_import: ContactImport,
                           limit: int = PREVIEW_ROWS) -> list[PreviewRow]:
    """The first rows as they would be imported with the current mapping."""
    imp = contact_import
    if imp.is_final:
        return []
    account = imp.account
    specs = field_specs(account=account)
    rows: list[PreviewRow] = []
    seen: set[str] = set()
    for index, (line, cells) in enumerate(imp.sample):
        if index == 0 and imp.has_header:
            continue
        values, custom = _split(cells, imp.mapping)
        cleaned = clean_contact(values, custom=custom, specs=specs,
                                default_country=account.default_country)
        row = PreviewRow(line=line, errors=cleaned.errors,
                         values={**{k: text_of(v) for k, v in values.items()},
                                 **{CUSTOM_PREFIX + k: text_of(v) for k, v in custom.items()}})
        if mobile := cleaned.values.get("mobile"):
            row.mobile = mobile
            row.duplicate = "file" if mobile in seen else ""
            seen.add(mobile)
        rows.append(row)
        if len(rows) >= limit:
            break
    in_book = set(Contact.objects.filter(account=account, mobile__in=[r.mobile for r in rows
                                                                        if r.mobile])
                  .values_list("mobile", flat=True))
    for row in rows:
        if row.mobile in in_book and not row.duplicate:
            row.duplicate = "book"
    return rows


# --- start, cancel ----------------------------------------------------------------------------


@transaction.atomic
def contact_import_start(*, actor: Actor, contact_import: ContactImport) -> ContactImport:
    """Queue the import for a worker (in the same transaction: nothing started is lost)."""
    actor.require(Perm.CONTACTS_MANAGE)
    imp = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
    if imp.status != ImportStatus.UPLOADED:
        raise Conflict(_("This import has already started."), code="import_started")
    _check_mapping(imp, imp.mapping, list(field_specs(account=imp.account).values()))
    imp.status = ImportStatus.QUEUED
    imp.save(update_fields=["status"])
    job_enqueue(name="contacts.import_run", payload={"import_id": str(imp.pk)},
                unique_key=f"contacts.import_run:{imp.pk}", max_attempts=5)
    audit_record(actor=actor, account=imp.account, action="contact_import.start", target=imp,
                 details={"duplicates": imp.duplicates})
    return imp


@transaction.atomic
def contact_import_cancel(*, actor: Actor, contact_import: ContactImport) -> ContactImport:
    """Stop an import; the rows already imported stay."""
    actor.require(Perm.CONTACTS_MANAGE)
    imp = ContactImport.objects.select_for_update().get(pk=contact_import.pk)
    if imp.is_final:
        raise Conflict(_("This import is already over."), code="import_over")
    imp.status = ImportStatus.CANCELED
    imp.finished_at = timezone.now()
    imp.sample = []
    imp.save(update_fields=["status", "finished_at", "sample"])
    ContactImportFile.objects.filter(pk=imp.pk).delete()
    audit_record(actor=actor, account=imp.account, action="contact_import.cancel", target=imp,
                 details={"rows_done": imp.rows_done})
    return imp


# --- the run ------------------------------------------------------------------------------------


@dataclass
class _Context:
    imp_id: Any
    account: Account
    specs: dict[str, FieldSpec]
    mapping: list[str]
    mode: str


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0


def _error_row(imp_id: Any, line: int, cells: Sequence[Any], cleaned: Cleaned,
               labels: dict[str, str]) -> ContactImportError:
    fields = list(cleaned.errors)
    message = "; ".join(f"{labels.get(name, name)}: {' '.join(messages)}"
                        for name, messages in cleaned.errors.items())
    return ContactImportError(
        contact_import_id=imp_id, row=line, field=",".join(fields)[:60],
        code=cleaned.codes.get(fields[0], "invalid")[:32], message=message[:300],
        number=cleaned.values.get("mobile", ""),
        values=json.dumps([text_of(c) for c in cells], ensure_ascii=False))


def _existing(account: Account, numbers: list[str], *, full: bool) -> dict[str, dict[str, Any]]:
    """The account's contacts among `numbers`, by number: their id, and with `full` the
    fields an import may change (plain values: no model instances for 100,000 rows)."""
    columns = ["pk", "mobile", *([*WRITABLE, "custom"] if full else [])]
    if connection.vendor == "postgresql":
        return {row["mobile"]: row for row in among(
            Contact.objects.filter(account=account), "mobile", numbers)
            .order_by().values(*columns)}
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(numbers), LOOKUP_CHUNK):
        # No ORDER BY: with the default ordering SQLite walks the name index of the whole
        # account instead of looking each number up (quadratic over an import).
        for row in Contact.objects.filter(
                account=account, mobile__in=numbers[start:start + LOOKUP_CHUNK]
        ).order_by().values(*columns):
            found[row["mobile"]] = row
    return found


def _apply_chunk(ctx: _Context, start: int, batch: list[tuple[int, list[Any]]],
                 labels: dict[str, str]) -> bool:
    """Import rows `start` … `start + len(batch)` (counted among non-blank data rows).
    False when the import is no longer running (canceled)."""
    account = ctx.account
    counts = _Counts()
    errors: list[ContactImportError] = []
    groups: dict[str, list[Cleaned]] = {}
    for line, cells in batch:
        values, custom = _split(cells, ctx.mapping)
        cleaned = clean_contact(values, custom=custom, specs=ctx.specs,
                                default_country=account.default_country)
        if not cleaned.ok:
            errors.append(_error_row(ctx.imp_id, line, cells, cleaned, labels))
            continue
        groups.setdefault(cleaned.values["mobile"], []).append(cleaned)
    counts.errors = len(errors)

    with transaction.atomic():
        imp = ContactImport.objects.select_for_update().get(pk=ctx.imp_id)
        if imp.status != ImportStatus.RUNNING:
            return False
        if imp.rows_done > start:
            return True  # another runner of this import did this chunk already
        existing = _existing(account, list(groups), full=ctx.mode == DuplicateMode.MERGE)
        now = timezone.now()
        to_create: list[Contact] = []
        to_update: list[Contact] = []
        members: list[Any] = []
        for mobile, rows in groups.items():
            if ctx.mode == DuplicateMode.SKIP:
                counts.skipped += len(rows) - 1
                rows = rows[:1]
            else:
                counts.updated += len(rows) - 1
            values: dict[str, Any] = {}
            custom: dict[str, Any] = {}
            for row in rows:
                values = fill_from(values, row.values)
                custom = fill_from(custom, row.custom)
            current = existing.get(mobile)
            if current is None:
                country, operator = rows[0].mobile_facts
                contact = Contact(account=account, mobile=mobile, mobile_country=country,
                                  mobile_operator=operator,
                                  **{n: values.get(n, "") for n in WRITABLE},
                                  custom={k: v for k, v in custom.items() if v is not None})
                to_create.append(contact)
                members.append(contact.pk)
                counts.created += 1
            elif ctx.mode == DuplicateMode.SKIP:
                counts.skipped += 1
            else:
                counts.updated += 1
                members.append(current["pk"])
                merged = {n: values.get(n) or current[n] for n in WRITABLE}
                merged_custom = fill_from(current["custom"], custom)
                if merged != {n: current[n] for n in WRITABLE} or \
                        merged_custom != current["custom"]:
                    to_update.append(Contact(pk=current["pk"], account=account, mobile=mobile,
                                             **merged, custom=merged_custom, updated_at=now))
        bulk_insert(to_create)
        bulk_update_columns(to_update, [*WRITABLE, "custom", "updated_at"])
        if imp.target_list_id is not None and members:
            ListMembership.objects.bulk_create(
                [ListMembership(contact_list_id=imp.target_list_id, contact_id=pk)
                 for pk in members],
                batch_size=1000, ignore_conflicts=True)
        ContactImportError.objects.bulk_create(errors, batch_size=1000)
        ContactImport.objects.filter(pk=ctx.imp_id).update(
            rows_done=start + len(batch),
            created_count=F("created_count") + counts.created,
            updated_count=F("updated_count") + counts.updated,
            skipped_count=F("skipped_count") + counts.skipped,
            error_count=F("error_count") + counts.errors)
    return True


def _field_labels(specs: dict[str, FieldSpec]) -> dict[str, str]:
    labels = {"mobile": _("Mobile"), "first_name": _("First name"), "last_name": _("Last name"),
              "company": _("Company"), "phone": _("Phone"), "email": _("E-mail"),
              "address": _("Address"), "city": _("City"), "country": _("Country")}
    labels.update({f"custom.{key}": spec.label or key for key, spec in specs.items()})
    return labels


def _finish(imp_id: Any, status: str, failure: str = "") -> None:
    with transaction.atomic():
        imp = ContactImport.objects.select_for_update().get(pk=imp_id)
        if imp.status != ImportStatus.RUNNING:
            return
        imp.status = status
        imp.failure = failure[:300]
        imp.finished_at = timezone.now()
        if status == ImportStatus.DONE:
            imp.total_rows = imp.rows_done
        imp.sample = []
        imp.save(update_fields=["status", "failure", "finished_at", "total_rows", "sample"])
        ContactImportFile.objects.filter(pk=imp_id).delete()


def contact_import_run(*, import_id: Any) -> None:
    """Do an import (the worker's job). Safe to run again: it resumes where it stopped."""
    with transaction.atomic():
        imp = (ContactImport.objects.select_for_update().select_related("account")
               .filter(pk=import_id).first())
        if imp is None or imp.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return
        if imp.status == ImportStatus.QUEUED:
            imp.status = ImportStatus.RUNNING
            imp.started_at = timezone.now()
            imp.save(update_fields=["status", "started_at"])
    try:
        with translation.override(imp.language):
            _run(imp)
    except Exception as exc:
        log.exception("contact import %s failed", import_id)
        message = exc.message if isinstance(exc, UnreadableFile) else _(
            "An unexpected error stopped the import; the rows before it were imported.")
        _finish(import_id, ImportStatus.FAILED, str(message))
        return
    _finish(import_id, ImportStatus.DONE)


def _run(imp: ContactImport) -> None:
    try:
        data = _upload_data(imp)
    except Conflict as exc:
        raise UnreadableFile("file_gone", exc.message) from None
    info = _info(imp)
    if not imp.total_rows:
        if info.format == "xlsx":  # a second pass over a workbook costs as much as the import
            total = max(xlsx_row_count(data) - int(imp.has_header), 0)
        else:
            total = sum(1 for _row in _data_rows(iter_rows(data, info), imp.has_header))
        ContactImport.objects.filter(pk=imp.pk).update(total_rows=total)
    specs = field_specs(account=imp.account)
    ctx = _Context(imp_id=imp.pk, account=imp.account, specs=specs, mapping=list(imp.mapping),
                   mode=imp.duplicates)
    labels = _field_labels(specs)
    done = imp.rows_done
    index = 0
    batch: list[tuple[int, list[Any]]] = []
    for line, cells in _data_rows(iter_rows(data, info), imp.has_header):
        index += 1
        if index <= done:
            continue  # imported before this run (resumed after a crash)
        batch.append((line, cells))
        if len(batch) == CHUNK:
            if not _apply_chunk(ctx, index - len(batch), batch, labels):
                return
            batch = []
            job_heartbeat()
    if batch:
        _apply_chunk(ctx, index - len(batch), batch, labels)


# --- housekeeping ------------------------------------------------------------------------------


def contact_imports_purge(*, now: Any = None) -> dict[str, int]:
    """Drop files of imports never started (after a day) and error reports of finished
    imports (after 30 days): they hold recipients' personal data (P-12 minimisation)."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(ContactImport.objects.filter(status=ImportStatus.UPLOADED,
                                                  created_at__lt=now - UPLOAD_TTL)
                     .values_list("pk", flat=True))
        ContactImport.objects.filter(pk__in=stale).update(
            status=ImportStatus.CANCELED, finished_at=now, sample=[],
            failure="expired before it was started")
        files, _detail = ContactImportFile.objects.filter(
            contact_import__status__in=[ImportStatus.DONE, ImportStatus.FAILED,
                                        ImportStatus.CANCELED]).delete()
        reports, _detail = ContactImportError.objects.filter(
            contact_import__finished_at__lt=now - REPORT_TTL).delete()
    return {"expired": len(stale), "files": files, "error_rows": reports}
