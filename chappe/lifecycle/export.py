"""The export bundle (P-9): everything an account holds, in one zip, for its
administrators — before termination and until the purge after it.

The zip holds `contacts.csv`, `messages.csv`, `replies.csv`, `calls.csv`, each
recording and voicemail as WAV, each invoice as PDF and CSV, and `manifest.json` last:
for every file its name, size, SHA-256 and (for a CSV) its number of rows, plus the
counts per kind. The CSVs reuse the columns of the web app's and the API's exports.

Built by a job (`lifecycle.export_build`): the rows stream from the database into the
zip (an account with millions of messages fits), the progress (per cent of the
sections done) is saved as it goes, and a rerun of a half-built bundle starts over.
"""

import hashlib
import json
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, AccountStatus
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.billing.documents import INVOICE_CSV_HEADER, invoice_csv_rows, invoice_pdf
from chappe.billing.models import Invoice
from chappe.callcenter.models import CallRecord, CallRecording, Voicemail
from chappe.callcenter.services import CALLS_CSV_HEADER, calls_csv_rows
from chappe.common.csv_export import csv_rows
from chappe.common.errors import Conflict
from chappe.common.lookup import get_or_404
from chappe.contacts.export import contact_header, contact_rows
from chappe.contacts.models import Contact
from chappe.contacts.selectors import field_specs
from chappe.lifecycle.models import BundleStatus, ExportBundle
from chappe.messaging.export import MESSAGE_CSV_HEADER, message_csv_rows
from chappe.messaging.models import Message, Reply
from chappe.privacy.models import AccountPurge
from chappe.queue.jobs import job_enqueue

logger = logging.getLogger(__name__)

REPLY_CSV_HEADER = ["id", "received_at", "from", "to", "text", "is_stop"]


def export_available(account: Account) -> bool:
    """An account's data can be exported until its purge (P-9)."""
    return not AccountPurge.objects.filter(account=account).exists()


@transaction.atomic
def export_request(*, actor: Actor, account: Account,
                   now: datetime | None = None) -> ExportBundle:
    """Ask for a new bundle (the account's administrator); built in the background."""
    actor.require(Perm.ACCOUNT_MANAGE)
    if not export_available(account):
        raise Conflict(_("The account's data was deleted."), code="account_purged")
    if ExportBundle.objects.filter(account=account, status__in=[
            BundleStatus.QUEUED, BundleStatus.BUILDING]).exists():
        raise Conflict(_("An export is already being prepared."), code="export_running")
    bundle = ExportBundle.objects.create(account=account, requested_by=actor.user,
                                         requested_at=now or timezone.now())
    audit_record(actor=actor, account=account, action="export.request", target=bundle,
                 details={"terminated": account.status == AccountStatus.TERMINATED})
    job_enqueue(name="lifecycle.export_build", payload={"bundle": str(bundle.pk)})
    return bundle


def export_get(*, account: Account, id: Any) -> ExportBundle:
    return get_or_404(ExportBundle.objects.filter(account=account), id)


def export_download_record(*, actor: Actor, bundle: ExportBundle) -> None:
    """Each download is audited (who took the whole of the account's data, when)."""
    actor.require(Perm.ACCOUNT_MANAGE)
    audit_record(actor=actor, account=bundle.account, action="export.download",
                 target=bundle, details={"sha256": bundle.sha256})


class _Writer:
    """Adds files to the zip and keeps the manifest's entry of each."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.files: list[dict[str, Any]] = []

    def chunks(self, name: str, chunks: Iterable[bytes], rows: int | None = None) -> None:
        digest, size = hashlib.sha256(), 0
        with self.archive.open(name, "w", force_zip64=True) as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        entry: dict[str, Any] = {"name": name, "bytes": size, "sha256": digest.hexdigest()}
        if rows is not None:
            entry["rows"] = rows
        self.files.append(entry)

    def csv(self, name: str, header: list[str], rows: Iterator[list[Any]]) -> int:
        count = 0

        def lines() -> Iterator[bytes]:
            nonlocal count
            for index, line in enumerate(csv_rows(header, rows)):
                count = index
                yield line.encode()

        self.chunks(name, lines())
        self.files[-1]["rows"] = count
        return count

    def path(self, name: str, path: Path) -> bool:
        if not path.is_file():
            logger.warning("export: %s is missing", path)
            return False

        def read() -> Iterator[bytes]:
            with path.open("rb") as source:
                while chunk := source.read(1 << 20):
                    yield chunk

        self.chunks(name, read())
        return True


def _sections(account: Account) -> list[tuple[str, Callable[[_Writer], int]]]:
    data = Path(settings.DATA_DIR)

    def contacts(w: _Writer) -> int:
        specs = list(field_specs(account=account).values())
        return w.csv("contacts.csv", contact_header(specs),
                     contact_rows(Contact.objects.filter(account=account), specs))

    def messages(w: _Writer) -> int:
        rows = Message.objects.filter(account=account).select_related("send").order_by(
            "created_at")
        return w.csv("messages.csv", MESSAGE_CSV_HEADER, message_csv_rows(rows))

    def replies(w: _Writer) -> int:
        rows = ([r.pk, r.received_at, r.from_number, r.to, r.text, r.is_stop] for r in
                Reply.objects.filter(account=account).order_by("received_at").iterator())
        return w.csv("replies.csv", REPLY_CSV_HEADER, rows)

    def calls(w: _Writer) -> int:
        return w.csv("calls.csv", CALLS_CSV_HEADER, calls_csv_rows(
            CallRecord.objects.filter(account=account).order_by("started_at")))

    def recordings(w: _Writer) -> int:
        return sum(w.path(f"recordings/{r.call_id}.wav", data / r.path)
                   for r in CallRecording.objects.filter(account=account).iterator())

    def voicemails(w: _Writer) -> int:
        return sum(w.path(f"voicemails/{v.pk}.wav", data / v.path)
                   for v in Voicemail.objects.filter(account=account).iterator())

    def invoices(w: _Writer) -> int:
        count = 0
        for invoice in Invoice.objects.filter(account=account).order_by("issued_at"):
            w.chunks(f"invoices/{invoice.number}.pdf", [invoice_pdf(invoice)])
            w.chunks(f"invoices/{invoice.number}.csv",
                     [line.encode() for line in csv_rows(INVOICE_CSV_HEADER,
                                                         invoice_csv_rows(invoice))])
            count += 1
        return count

    return [("contacts", contacts), ("messages", messages), ("replies", replies),
            ("calls", calls), ("recordings", recordings), ("voicemails", voicemails),
            ("invoices", invoices)]


def export_build(*, bundle_id: Any) -> ExportBundle:
    """Build the bundle (the job); idempotent: a ready bundle is left alone."""
    bundle = ExportBundle.objects.select_related("account").get(pk=bundle_id)
    if bundle.status == BundleStatus.READY:
        return bundle
    account = bundle.account
    ExportBundle.objects.filter(pk=bundle.pk).update(status=BundleStatus.BUILDING, progress=0)
    sections = _sections(account)
    counts: dict[str, int] = {}
    try:
        with tempfile.TemporaryFile(dir=settings.DATA_DIR) as raw:
            with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                writer = _Writer(archive)
                for done, (name, write) in enumerate(sections, start=1):
                    counts[name] = write(writer)
                    ExportBundle.objects.filter(pk=bundle.pk).update(
                        progress=done * 100 // (len(sections) + 1))
                manifest = {
                    "account": {"id": str(account.pk), "name": account.name},
                    "generated_at": timezone.now().isoformat(),
                    "counts": counts, "files": writer.files,
                }
                archive.writestr("manifest.json", json.dumps(manifest, indent=2))
            raw.seek(0)
            digest = hashlib.sha256()
            while chunk := raw.read(1 << 20):
                digest.update(chunk)
            raw.seek(0)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            bundle.file.save(f"export-{stamp}-{bundle.pk.hex[:8]}.zip", File(raw), save=False)
            bundle.size = bundle.file.size
    except Exception as exc:
        logger.exception("export %s failed", bundle.pk)
        ExportBundle.objects.filter(pk=bundle.pk).update(status=BundleStatus.FAILED,
                                                         error=str(exc)[:2000])
        raise
    bundle.status, bundle.progress, bundle.manifest = BundleStatus.READY, 100, manifest
    bundle.sha256, bundle.finished_at = digest.hexdigest(), timezone.now()
    bundle.save(update_fields=["status", "progress", "manifest", "sha256", "finished_at",
                               "file", "size"])
    return bundle
