"""Contact import benchmark: a 100,000-row file imported by the real background job.

    .venv/bin/python bench/contacts_import.py                    # SQLite, CSV
    .venv/bin/python bench/contacts_import.py --postgres         # PostgreSQL
    .venv/bin/python bench/contacts_import.py --format xlsx      # an Excel file
    .venv/bin/python bench/contacts_import.py --rows 20000 --postgres

It builds a throw-away database (a temp SQLite file, or a fresh PostgreSQL database on
127.0.0.1:5432 that it drops at the end) and a file of N contacts (national and E.164
numbers, accents, an e-mail, a city, a custom number field, 1 % bad numbers, 1 % numbers
repeated). It then times, through the services and the job queue exactly as in
production:

* upload + mapping guess + preview (what the web page does before "Start");
* the first import (everything new, duplicates merged, rows in error recorded);
* a changed file (other names, cities, points) with duplicates merged: every row updates
  an existing contact;
* the changed file again with duplicates skipped.
"""

import argparse
import io
import random
import time

from throwaway import throwaway_platform

FIRST = ["Zoé", "Léa", "Jérôme", "Chloé", "Noël", "Anaïs", "François", "Hélène", "Loïc", "Maëlle"]
LAST = ["Lefèvre", "Martin", "Dubois", "Öztürk", "Garçon", "Bernard", "Müller", "Roux", "Faure"]
CITY = ["Paris", "Lyon", "Orléans", "Besançon", "Nîmes", "Saint-Étienne", "Brest", "Lille"]


def make_rows(count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)  # noqa: S311 (test data)
    rows = [["Prénom", "Nom", "Mobile", "E-mail", "Ville", "points"]]
    for i in range(count):
        if i % 100 == 37:
            mobile = "12345"  # a bad number
        elif i % 100 == 71 and i > 0:
            mobile = f"+336{10_000_000 + i - 1:08d}"  # the previous row's number again
        else:
            mobile = f"06{10_000_000 + i:08d}" if i % 2 else f"+336{10_000_000 + i:08d}"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append([first, last, mobile, f"c{i}@example.com", rng.choice(CITY),
                     str(rng.randint(0, 5000))])
    return rows


def make_file(rows: list[list[str]], kind: str) -> bytes:
    if kind == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
    return "\r\n".join(";".join(row) for row in rows).encode("cp1252")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    args = parser.parse_args()

    with throwaway_platform(postgres=args.postgres):
        run(args)


def run(args: argparse.Namespace) -> None:
    from django.db import connection

    from chappe.accounts.actor import SYSTEM
    from chappe.accounts.services import account_create, service_order
    from chappe.contacts.models import Contact
    from chappe.contacts.services import (
        contact_import_configure,
        contact_import_create,
        contact_import_preview,
        contact_import_start,
        custom_field_create,
    )
    from chappe.queue.jobs import jobs_run_due

    account = account_create(actor=SYSTEM, name="Bench")
    service_order(actor=SYSTEM, account=account, kind="messaging")
    actor = SYSTEM.on(account)
    custom_field_create(actor=actor, account=account, key="points", label="Points",
                        type="number")
    data = make_file(make_rows(args.rows, 6), args.format)
    changed = make_file(make_rows(args.rows, 7), args.format)
    engine = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    print(f"{engine}: {args.rows:,} rows, {args.format.upper()} file of "
          f"{len(data) / 1e6:.1f} MB")

    def one(label: str, duplicates: str, data: bytes) -> None:
        started = time.perf_counter()
        imp = contact_import_create(actor=actor, account=account,
                                    file_name=f"bench.{args.format}", data=data,
                                    duplicates=duplicates)
        contact_import_preview(contact_import=imp)
        contact_import_configure(actor=actor, contact_import=imp, mapping=imp.mapping,
                                 has_header=imp.has_header, duplicates=duplicates,
                                 target_list=None)
        uploaded = time.perf_counter()
        contact_import_start(actor=actor, contact_import=imp)
        while jobs_run_due(worker="bench"):
            pass
        finished = time.perf_counter()
        imp.refresh_from_db()
        assert imp.status == "done", (imp.status, imp.failure)
        took = finished - uploaded
        print(f"  {label:<34} {took:6.2f} s  ({imp.rows_done / took:,.0f} rows/s)  "
              f"upload+preview {uploaded - started:.2f} s  new {imp.created_count:,}  "
              f"merged {imp.updated_count:,}  skipped {imp.skipped_count:,}  "
              f"errors {imp.error_count:,}")

    one("import into an empty book", "merge", data)
    one("changed file, merge (all updated)", "merge", changed)
    one("changed file, skip", "skip", changed)
    print(f"  contacts in the book: {Contact.objects.filter(account=account).count():,}")


if __name__ == "__main__":
    main()
