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
            _psql(f"DROP DATABASE IF EXISTS {database}", check=False)
