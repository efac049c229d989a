"""Run several process roles as children of one process (`chappe up`).

A child that dies is restarted with back-off; one that keeps dying (5 times in a minute)
stops the whole tree with an error. SIGINT/SIGTERM stop every child gracefully (SIGTERM,
then SIGKILL after 10 s). Roles keep no state a restart could lose: their work is in the
database.
"""

import logging
import subprocess
import sys
import time
from collections import deque

from chappe.common.stopping import stop_on_signals

log = logging.getLogger("chappe.supervisor")

GRACE_SECONDS = 10
CRASH_WINDOW = 60
MAX_CRASHES = 5


def _start(name: str, args: list[str]) -> subprocess.Popen:
    log.info("starting %s", name)
    return subprocess.Popen([sys.executable, "-m", "chappe.runtime.cli", *args])  # noqa: S603


def _stop_all(children: dict[str, subprocess.Popen]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def supervise(commands: dict[str, list[str]]) -> int:
    stop = stop_on_signals()
    children = {name: _start(name, args) for name, args in commands.items()}
    crashes: dict[str, deque[float]] = {name: deque() for name in commands}
    status = 0
    try:
        while not stop.is_set():
            time.sleep(0.5)
            for name, child in list(children.items()):
                code = child.poll()
                if code is None or stop.is_set():
                    continue
                now = time.monotonic()
                recent = crashes[name]
                recent.append(now)
                while recent and now - recent[0] > CRASH_WINDOW:
                    recent.popleft()
                if len(recent) >= MAX_CRASHES:
                    log.error("%s exited %s times in a minute; stopping", name, len(recent))
                    stop.set()
                    status = 1
                    break
                log.warning("%s exited with %s; restarting", name, code)
                time.sleep(min(2 ** (len(recent) - 1), 16))
                children[name] = _start(name, commands[name])
    finally:
        _stop_all(children)
    return status
