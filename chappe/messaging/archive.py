"""History retention (M-13): messages leave the active tables after
`CHAPPE_MESSAGES_ACTIVE_MONTHS` (6) for an archive of compressed monthly files, searchable
and exportable by the client, and are deleted for good `CHAPPE_MESSAGES_ARCHIVE_MONTHS`
(12) later (decision 0052).

The archive is one file per account and month of acceptance under the data dir,
`archive/messages/<account>/<YYYY-MM>.jsonl.gz`: one JSON object per message with its
history. The directory is the index (a month's file, or none). Works the same on SQLite
and PostgreSQL.

Restartable: a month is archived by writing the file under a temporary name, merged with
what an interrupted run already wrote (by message id: nothing twice), renamed into place
atomically, and only then are its messages deleted from the tables. A crash at any point
leaves either the rows (archived again by the next run, merged without duplicates) or the
file (the rows already gone): never neither. Messages not yet final are never archived.
"""

import gzip
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.functions import TruncMonth
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account
from chappe.audit.services import audit_record
from chappe.common.erasure import ERASED
from chappe.messaging.lifecycle import FINAL
from chappe.messaging.models import CAMPAIGN_CHANNEL, Message, Send

# Messages read, and deleted, at a time: a month of a large account is streamed.
CHUNK = 2000
# What an archived message keeps (plus its send's reference and its history).
FIELDS = ("id", "send_id", "channel", "kind", "recipient", "country", "operator", "sender",
          "text", "encoding", "segments", "price_micros", "currency", "status",
          "error_code", "created_at", "sent_at", "status_changed_at")


def months_before(moment: datetime, months: int) -> datetime:
    """The first instant of the month `months` calendar months before `moment`'s (UTC):
    a message of a month leaves the active tables once the whole month is that old."""
    index = moment.year * 12 + moment.month - 1 - months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=moment.tzinfo or UTC)


def archive_root() -> Path:
    return Path(settings.DATA_DIR) / "archive" / "messages"


def _month_path(account_id: Any, month: date) -> Path:
    return archive_root() / str(account_id) / f"{month:%Y-%m}.jsonl.gz"


def _row(message: Message) -> dict[str, Any]:
    row = {name: getattr(message, name) for name in FIELDS}
    row["reference"] = message.send.reference
    row["history"] = [{"status": e.status, "at": e.at, "error_code": e.error_code}
                      for e in message.history()]
    return json.loads(json.dumps(row, default=str))


def _read(path: Path) -> Iterator[dict[str, Any]]:
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)


def _write_month(path: Path, messages: Iterable[Message]) -> list[Any]:
    """Add `messages` to the month's file, atomically, streaming: the lines already there
    are copied (an interrupted run's), then each message not among them. Answers the ids
    of the messages given, all now in the file (those to delete from the tables)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    there: set[str] = set()
    given: list[Any] = []
    with gzip.open(partial, "wt", encoding="utf-8") as out:
        if path.exists():
            with gzip.open(path, "rt", encoding="utf-8") as lines:
                for line in lines:
                    there.add(json.loads(line)["id"])
                    out.write(line)
        for message in messages:
            given.append(message.pk)
            if str(message.pk) not in there:
                out.write(json.dumps(_row(message), ensure_ascii=False) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)
    return given


@dataclass
class RetentionReport:
    dry_run: bool
    archive_before: str = ""
    delete_before: str = ""
    archived: dict[str, int] = field(default_factory=dict)  # "<account>/<month>": messages
    deleted_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "archive_before": self.archive_before,
                "delete_before": self.delete_before, "archived": self.archived,
                "archived_total": sum(self.archived.values()),
                "deleted_files": self.deleted_files}


def _archived_delete(ids: list[Any]) -> None:
    """Delete archived messages from the tables (their events go with them; replies keep
    their text and lose the link), then the sends left without messages (their text and
    per-recipient report are history too; a campaign's send stays with its campaign)."""
    with transaction.atomic():
        sends = set(Message.objects.filter(pk__in=ids).values_list("send_id", flat=True))
        Message.objects.filter(pk__in=ids).delete()
        Send.objects.filter(pk__in=sends, messages__isnull=True).exclude(
            channel=CAMPAIGN_CHANNEL).delete()


def history_retention_run(*, now: datetime | None = None,
                          dry_run: bool = False) -> RetentionReport:
    """Archive the messages past the active period, delete the archive months past the
    archive period (module doc). `dry_run` answers what it would do and changes nothing."""
    now = now or timezone.now()
    active, kept = (settings.CHAPPE_MESSAGES_ACTIVE_MONTHS,
                    settings.CHAPPE_MESSAGES_ARCHIVE_MONTHS)
    archive_before = months_before(now, active)
    delete_before = months_before(now, active + kept)
    report = RetentionReport(dry_run=dry_run, archive_before=archive_before.isoformat(),
                             delete_before=delete_before.isoformat())
    due = (Message.objects.filter(created_at__lt=archive_before, status__in=list(FINAL))
           .annotate(month=TruncMonth("created_at", tzinfo=UTC))
           .values_list("account_id", "month").distinct().order_by("account_id", "month"))
    for account_id, month in list(due):
        month_start = month if isinstance(month, datetime) else datetime.combine(
            month, datetime.min.time(), UTC)
        rows = (Message.objects.filter(account_id=account_id, status__in=list(FINAL),
                                       created_at__gte=month_start,
                                       created_at__lt=months_before(month_start, -1))
                .select_related("send").prefetch_related("events"))
        key = f"{account_id}/{month_start:%Y-%m}"
        if dry_run:
            report.archived[key] = rows.count()
            continue
        # Only what went into the file is deleted (a message turning final meanwhile
        # waits for the next run).
        written = _write_month(_month_path(account_id, month_start.date()),
                               rows.iterator(chunk_size=CHUNK))
        report.archived[key] = len(written)
        for start in range(0, len(written), CHUNK):
            _archived_delete(written[start:start + CHUNK])
    for path in sorted(archive_root().glob("*/*.jsonl.gz")) if archive_root().exists() else ():
        month = datetime.strptime(path.name[:7], "%Y-%m").replace(tzinfo=UTC)
        if months_before(month, -1) <= delete_before:
            report.deleted_files.append(f"{path.parent.name}/{path.name[:7]}")
            if not dry_run:
                path.unlink()
    if not dry_run and (report.archived or report.deleted_files):
        audit_record(actor=SYSTEM, action="messaging.history_retention",
                     details=report.as_dict())
    return report


def archive_erase_number(*, account: Account, number: str) -> int:
    """A recipient's erasure (P-12) in the archive: their number and the texts sent to
    them replaced, as in the tables (`services.erasure`); each month's file rewritten
    atomically. Answers how many archived messages were erased."""
    folder = archive_root() / str(account.pk)
    erased = 0
    for path in sorted(folder.glob("*.jsonl.gz")) if folder.exists() else ():
        rows = list(_read(path))
        hits = [row for row in rows if row["recipient"] == number]
        if not hits:
            continue
        for row in hits:
            row["recipient"] = row["text"] = ERASED
        partial = path.with_suffix(".partial")
        with gzip.open(partial, "wt", encoding="utf-8") as out:
            out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
        erased += len(hits)
    return erased


def archive_search(*, account: Account, number: str | None = None,
                   since: datetime | None = None,
                   until: datetime | None = None) -> list[dict[str, Any]]:
    """The account's archived messages (to `number`, accepted in [since, until)), newest
    first: the months in range are read from their files."""
    folder = archive_root() / str(account.pk)
    if not folder.exists():
        return []
    found = []
    for path in sorted(folder.glob("*.jsonl.gz"), reverse=True):
        month = datetime.strptime(path.name[:7], "%Y-%m").replace(tzinfo=UTC)
        if (until and month >= until) or (since and months_before(month, -1) <= since):
            continue
        for row in _read(path):
            at = datetime.fromisoformat(row["created_at"])
            if number and row["recipient"] != number:
                continue
            if (since and at < since) or (until and at >= until):
                continue
            found.append(row)
    return sorted(found, key=lambda r: r["created_at"], reverse=True)


ARCHIVE_CSV_HEADER = ["id", "send_id", "created_at", "recipient", "country", "sender", "kind",
                      "status", "error_code", "segments", "encoding", "price", "currency",
                      "reference", "sent_at", "text"]


def archive_csv_rows(rows: list[dict[str, Any]]) -> Iterator[list[Any]]:
    """Archived messages as rows of ARCHIVE_CSV_HEADER (the active export's columns and
    the text, which the archive is the last copy of)."""
    for row in rows:
        yield [row["id"], row["send_id"], row["created_at"], row["recipient"],
               row["country"], row["sender"], row["kind"], row["status"], row["error_code"],
               row["segments"], row["encoding"], Decimal(row["price_micros"]) / 1_000_000,
               row["currency"], row.get("reference", ""), row["sent_at"] or "", row["text"]]
