"""How the SMPP server's sessions reach the database: service calls run in executor
threads (the event loop never waits on a query), each thread with its own connection."""

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import OperationalError, close_old_connections, connection, connections

LOCKED_RETRIES = 50


def db_call[T](fn: Callable[[], T]) -> T:
    """Run a service call in an executor thread. SQLite's shared-cache test databases
    answer "table is locked" at once instead of waiting: retry those briefly."""
    close_old_connections()
    for _attempt in range(LOCKED_RETRIES - 1):
        try:
            return fn()
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.02)
    return fn()


def connections_close(pool: ThreadPoolExecutor, size: int) -> None:
    """Close the database connection of every thread of `pool` (one task per thread,
    held at a barrier so each thread takes exactly one)."""
    barrier = threading.Barrier(size)

    def close() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        connection.close()

    for future in [pool.submit(close) for _ in range(size)]:
        future.result(timeout=5)


def connections_close_all() -> None:
    connections.close_all()
