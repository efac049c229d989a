"""Real threads racing on the database (PostgreSQL: row locks), for the tests that an
exact balance, a licence count or a key used once holds under concurrency."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection


def skip_unless_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")


def race(count: int, target: Callable[[int], Any]) -> list[Any]:
    """`target(i)` for i in range(count), each in a thread of its own, all released at
    once; what each returned, or the exception it raised."""
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = target(i)
        except Exception as exc:
            outcomes[i] = exc
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
