"""A 100,000-row file imports in well under a minute (bench/contacts_import.py measures it
on both databases; this keeps the figure from regressing)."""

import time

import pytest

from chappe.contacts.models import Contact
from tests.contacts.conftest import csv_bytes

ROWS = 100_000
BUDGET_SECONDS = 60


@pytest.mark.slow
def test_a_100000_row_file(actor, run_import):
    rows = [["Prénom", "Nom", "Mobile", "E-mail", "Ville"]]
    rows += [[f"Zoé {i}", "Lefèvre", f"06{10_000_000 + i:08d}" if i % 2 else
              f"+336{10_000_000 + i:08d}", f"c{i}@example.com", "Orléans"] for i in range(ROWS)]
    data = csv_bytes(rows, delimiter=";", encoding="cp1252")
    started = time.perf_counter()
    imp = run_import(data)
    took = time.perf_counter() - started
    assert (imp.status, imp.total_rows, imp.rows_done, imp.created_count, imp.error_count) == (
        "done", ROWS, ROWS, ROWS, 0)
    assert Contact.objects.filter(account=actor.account).count() == ROWS
    assert Contact.objects.get(mobile="+33610000001").city == "Orléans"
    assert took < BUDGET_SECONDS, f"{ROWS:,} rows took {took:.1f} s"
