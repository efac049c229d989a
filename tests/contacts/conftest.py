"""Fixtures of the address book tests: an administrator actor, file builders (CSV in any
encoding and separator, XLSX) and a helper that uploads, maps and runs an import the way
the worker does."""

import io
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from chappe.accounts.actor import Actor
from chappe.contacts.models import ContactImport
from chappe.contacts.services import (
    contact_import_configure,
    contact_import_create,
    contact_import_start,
)
from chappe.queue.jobs import jobs_run_due
from tests.billing.conftest import buy_credits, operator, price_list  # noqa: F401


@pytest.fixture
def funded_account(account, buy_credits):  # noqa: F811
    buy_credits(account, "100")
    return account


@pytest.fixture
def actor(admin_actor) -> Actor:
    return admin_actor


def csv_bytes(rows: Sequence[Sequence[Any]], *, delimiter: str = ",",
              encoding: str = "utf-8", line_end: str = "\r\n") -> bytes:
    text = line_end.join(delimiter.join(str(cell) for cell in row) for row in rows) + line_end
    return text.encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def run_import(actor) -> Callable[..., ContactImport]:
    """Upload `data`, optionally change the mapping/options, start it and run the job."""

    def run(data: bytes, *, file_name: str = "contacts.csv", mapping: list[str] | None = None,
            duplicates: str = "merge", target_list=None, has_header: bool | None = None,
            ) -> ContactImport:
        imp = contact_import_create(actor=actor, account=actor.account, file_name=file_name,
                                    data=data, duplicates=duplicates, target_list=target_list)
        if mapping is not None or has_header is not None:
            contact_import_configure(
                actor=actor, contact_import=imp, mapping=mapping or imp.mapping,
                has_header=imp.has_header if has_header is None else has_header,
                duplicates=duplicates, target_list=target_list)
        contact_import_start(actor=actor, contact_import=imp)
        while jobs_run_due(worker="test", limit=10):
            pass
        imp.refresh_from_db()
        return imp

    return run


@pytest.fixture
def admin(account, make_user):
    return make_user(account, email="admin@acme.example", first_name="Ada", last_name="Admin")


@pytest.fixture
def web(admin):
    from tests.web.support import client_for

    return client_for(admin)
