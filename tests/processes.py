"""Real `chappe` role processes beside a test, on the test's own (PostgreSQL) database,
and waiting for what they do."""

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

REPO = Path(__file__).resolve().parents[1]


def role_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a role process: this test's database and data dir, quiet logs,
    and the `CHAPPE_*` settings given."""
    db = connection.settings_dict
    return {**os.environ, "CHAPPE_DATA_DIR": str(data_dir), "CHAPPE_LOG_LEVEL": "WARNING",
            "CHAPPE_DATABASE_URL":
                f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            **settings}


def role_process(data_dir: Path, name: str, *args: str, **settings: str) -> subprocess.Popen:
    """`chappe <args>` in the background, its output in `<data_dir>/<name>.log`."""
    log = (data_dir / f"{name}.log").open("a")
    return subprocess.Popen([sys.executable, "-m", "chappe.runtime.cli", *args], cwd=REPO,
                            env=role_env(data_dir, **settings), stdout=log,
                            stderr=subprocess.STDOUT)


def wait_for(condition: Callable[[], Any], timeout: float, what: str,
             every: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}")
