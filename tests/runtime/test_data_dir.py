"""The embedded data directory holds session keys, webhook secrets and the secret key:
only its owner may read it (directory 700, SQLite files 600), also when it existed with
looser modes."""

import os
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WRITE = ("import django; django.setup(); from django.db import connection; "
         "c = connection.cursor(); c.execute('CREATE TABLE IF NOT EXISTS t (x int)'); "
         "c.execute('INSERT INTO t VALUES (1)')")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _run(data_dir: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "CHAPPE_DATABASE_URL"}
    subprocess.run([sys.executable, "-c", WRITE], cwd=REPO, check=True, env={
        **env, "CHAPPE_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "config.settings"})


def test_a_new_data_dir_is_private(tmp_path):
    data_dir = tmp_path / "var"
    _run(data_dir)
    assert _mode(data_dir) == 0o700
    files = [data_dir / "chappe.sqlite3", data_dir / "secret-key"]
    files += [p for p in data_dir.glob("chappe.sqlite3-*")]
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_an_existing_world_readable_data_dir_is_closed(tmp_path):
    data_dir = tmp_path / "var"
    _run(data_dir)
    data_dir.chmod(0o755)
    (data_dir / "chappe.sqlite3").chmod(0o644)
    _run(data_dir)
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "chappe.sqlite3") == 0o600
