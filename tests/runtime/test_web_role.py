"""The web role uses the machine: `chappe web --workers N` runs N processes on one port,
and on PostgreSQL each process borrows from a bounded connection pool, so a burst of
clients far larger than the pool queues instead of getting HTTP 500."""

import subprocess
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from chappe.accounts.actor import SYSTEM
from chappe.accounts.services import api_key_create
from tests.ports import free_port
from tests.processes import role_process, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _children(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True, check=False).stdout
    return {int(line) for line in out.split()}


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def web(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the web role beside a test needs the test database on PostgreSQL")
    port = free_port()
    process = role_process(tmp_path, "web", "web", "--port", str(port), "--workers", "2",
                           CHAPPE_DB_POOL_SIZE="2", CHAPPE_DB_POOL_TIMEOUT="60",
                           PGAPPNAME="chappe-web-under-test")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base), 60, "the web role to answer")
        yield process, base
    finally:
        process.terminate()
        process.wait(20)


def test_two_workers_share_one_port(web):
    process, _base = web
    wait_for(lambda: len(_children(process.pid)) >= 2, 30, "two worker processes")


def test_a_burst_of_clients_queues_for_a_small_pool_and_none_gets_a_500(web, account):
    _process, base = web
    _key, raw = api_key_create(actor=SYSTEM.on(account), account=account, name="burst")
    headers = {"Authorization": f"Bearer {raw}"}

    def get(_n: int) -> int:
        with httpx.Client(timeout=120) as client:
            return client.get(f"{base}/api/v1/account", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=200) as pool:
        statuses = list(pool.map(get, range(400)))
    assert statuses.count(200) == 400, sorted(set(statuses))
    # Two processes, a pool of two each: never more than 4 connections of the web role.
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity "
                       "WHERE application_name = 'chappe-web-under-test'")
        assert 1 <= cursor.fetchone()[0] <= 4
