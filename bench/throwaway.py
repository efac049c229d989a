"""A throw-away platform for the benchmarks: a temp data dir and a fresh database (a temp
SQLite file, or a new PostgreSQL database on 127.0.0.1:5432 dropped at the end), Django
set up and migrated."""

import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _psql(sql: str, *, check: bool) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=check)


@contextlib.contextmanager
def throwaway_platform(*, postgres: bool, database_prefix: str = "chappe_bench") -> Iterator[str]:
    """Yields the data dir; the database (`<database_prefix>_<random>` on PostgreSQL)
    lives as long as the block."""
    data_dir = tempfile.mkdtemp(prefix="chappe-bench-")
    database = None
    if postgres:
        database = f"{database_prefix}_{secrets.token_hex(4)}"
        _psql(f"CREATE DATABASE {database}", check=True)
        os.environ["CHAPPE_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"
    else:
        os.environ.pop("CHAPPE_DATABASE_URL", None)
    os.environ["CHAPPE_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(REPO))
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        yield data_dir
    finally:
        if database:
            from django.db import connections

            connections.close_all()
            _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", check=False)


def funded_account(*, credit_eur: int, name: str = "Bench"):
    """A client account with messaging ordered, a default SMS price (0.045 €) and
    `credit_eur` of paid credit; the simulator as the only carrier (no latency)."""
    from datetime import UTC, datetime

    from chappe.accounts.actor import SYSTEM
    from chappe.accounts.services import account_create, service_order
    from chappe.billing.services import (
        credit_order_create,
        payment_record,
        price_list_create,
        price_list_version_create,
    )
    from chappe.carriers.services import simulator_ensure

    account = account_create(actor=SYSTEM, name=name)
    service_order(actor=SYSTEM, account=account, kind="messaging")
    prices = price_list_create(actor=SYSTEM, code="bench", name="Bench", is_default=True)
    price_list_version_create(actor=SYSTEM, price_list=prices,
                              effective_from=datetime(2020, 1, 1, tzinfo=UTC),
                              prices=[{"product": "sms", "unit_price": "0.045"}])
    order = credit_order_create(actor=SYSTEM.on(account), account=account,
                                amount=str(credit_eur), currency="EUR")
    payment_record(actor=SYSTEM, invoice=order.invoice,
                   amount=str(order.invoice.total_micros / 1_000_000), method="transfer",
                   reference="bench")
    simulator_ensure(config={"latency_ms": 0})
    return account
