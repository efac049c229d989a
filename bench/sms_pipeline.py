"""SMS pipeline benchmark: accept rate and end-to-end rate.

    .venv/bin/python bench/sms_pipeline.py --messages 20000            # SQLite
    .venv/bin/python bench/sms_pipeline.py --messages 20000 --postgres  # PostgreSQL
    .venv/bin/python bench/sms_pipeline.py --postgres --gateways 2       # 2 gateway processes
    .venv/bin/python bench/sms_pipeline.py --postgres --http             # the whole platform

It builds a throw-away database (a temp SQLite file, or a fresh PostgreSQL database on
127.0.0.1:5432 that it drops at the end). By default it accepts N messages through
`sms_send` in requests of up to 10,000 recipients (rated, billed, written), then runs real
`chappe gateway` processes until every message has a final status (delivered by the
built-in simulator with zero latency), and prints both rates.

With `--http`, every hop is real and the roles run as `chappe up` runs them by default
(`chappe web` with one worker per core, one `chappe gateway` per core on PostgreSQL, a
`chappe worker`): `--clients` keep-alive connections post `POST /api/v1/sms` requests of
`--per-request` recipients as fast as they are answered, the gateways send them over SMPP
(2 binds, window 50) to a `chappe smsc-sim` process, whose receipts bring each message to
its final status. It prints the accept rate through the API and the end-to-end rate (first
request sent → last message final).
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from api_single import Connection, _free_port, _wait_up
from smpp_throughput import _start
from throwaway import REPO, funded_account, throwaway_platform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--gateways", type=int,
                        help="gateway processes (default: 1; with --http as `chappe up`)")
    parser.add_argument("--http", action="store_true",
                        help="accept through the API of a running `chappe web`, send over "
                             "SMPP to `chappe smsc-sim`")
    parser.add_argument("--clients", type=int, default=4, help="--http: connections")
    parser.add_argument("--per-request", type=int, default=100,
                        help="--http: recipients per request")
    args = parser.parse_args()

    with throwaway_platform(postgres=args.postgres) as data_dir:
        if args.http:
            run_http(args, data_dir)
        else:
            run(args)


def run(args: argparse.Namespace) -> None:
    from chappe.accounts.actor import SYSTEM
    from chappe.messaging.models import Message
    from chappe.messaging.services.accept import MAX_RECIPIENTS, sms_send

    account = funded_account(credit_eur=args.messages)
    vendor = "PostgreSQL" if args.postgres else "SQLite"

    numbers = [f"+3361{n:07d}" for n in range(args.messages)]
    start = time.perf_counter()
    for offset in range(0, len(numbers), MAX_RECIPIENTS):
        sms_send(actor=SYSTEM.on(account), account=account, text="Votre code est 123456",
                 sender="Chappe", recipients=numbers[offset:offset + MAX_RECIPIENTS])
    accept_seconds = time.perf_counter() - start
    print(f"[{vendor}] accepted {args.messages} messages in {accept_seconds:.2f} s: "
          f"{args.messages / accept_seconds:,.0f} recipients/s", flush=True)

    gateways = args.gateways or 1
    start = time.perf_counter()
    roles = [_role("gateway") for _ in range(gateways)]
    try:
        _wait_final(args.messages)
    finally:
        _stop(roles)
    e2e_seconds = time.perf_counter() - start
    delivered = Message.objects.filter(status="delivered").count()
    print(f"[{vendor}] {gateways} gateway(s): {delivered} delivered in {e2e_seconds:.2f} s: "
          f"{args.messages / e2e_seconds:,.0f} msg/s end to end (accepted → delivered)")


def run_http(args: argparse.Namespace, data_dir: str) -> None:
    from django.db import connection

    from chappe.accounts.actor import SYSTEM
    from chappe.accounts.services import api_key_create
    from chappe.carriers.models import Connector, Route
    from chappe.messaging.models import Message
    from chappe.runtime.cli import _default_web_workers, default_gateways

    account = funded_account(credit_eur=args.messages)
    _key, api_key = api_key_create(actor=SYSTEM.on(account), account=account, name="bench")
    vendor = "PostgreSQL" if args.postgres else "SQLite"
    workers, gateways = _default_web_workers(), args.gateways or default_gateways()
    sim, sim_port = _start(["smsc-sim", "--port", "0", "--latency", "0", "--window", "500"],
                           data_dir, "smsc-sim")
    Route.objects.all().delete()
    Connector.objects.update(enabled=False)
    Route.objects.create(connector=Connector.objects.create(
        name="bench-smpp", type="smpp",
        config={"host": "127.0.0.1", "port": sim_port, "system_id": "chappe",
                "password": "secret", "window": 50, "binds": 2, "message_id_format": "hex"}))
    connection.close()
    port = _free_port()
    named = {"web": [_role("web", "--port", str(port), "--workers", str(workers))],
             "worker": [_role("worker")],
             "gateways": [_role("gateway") for _ in range(gateways)], "smsc-sim": [sim]}
    # Stopped in this order: the gateways unbind from an SMSC still there.
    roles = [process for processes in named.values() for process in processes]
    try:
        _wait_up(port)
        numbers = [f"+3361{n:07d}" for n in range(args.messages)]
        bodies = [json.dumps({"recipients": numbers[i:i + args.per_request],
                              "text": "Votre code est 123456", "sender": "Chappe"}).encode()
                  for i in range(0, len(numbers), args.per_request)]
        start = time.perf_counter()
        refused = asyncio.run(_post_all(port, api_key, bodies, args.clients))
        accept_seconds = time.perf_counter() - start
        _wait_final(args.messages - refused)
        e2e_seconds = time.perf_counter() - start
        cpu = {name: sum(_cpu_seconds(p.pid) for p in processes)
               for name, processes in named.items()}
        cpu["PostgreSQL"] = _postgres_cpu_seconds() if args.postgres else 0.0
    finally:
        _stop(roles)
    delivered = Message.objects.filter(status="delivered").count()
    print(f"[{vendor}] --http: web {workers} worker(s), {gateways} gateway(s), worker, "
          f"smsc-sim over SMPP (2 binds, window 50); {args.clients} clients, "
          f"{args.per_request} recipients a request", flush=True)
    print(f"[{vendor}] accepted {args.messages - refused} messages through the API in "
          f"{accept_seconds:.2f} s: {(args.messages - refused) / accept_seconds:,.0f} "
          f"recipients/s ({refused} refused)", flush=True)
    print(f"[{vendor}] {delivered} delivered in {e2e_seconds:.2f} s: "
          f"{(args.messages - refused) / e2e_seconds:,.0f} msg/s end to end "
          "(first request → last receipt)", flush=True)
    print(f"[{vendor}] CPU seconds over the run ({os.cpu_count()} cores x {e2e_seconds:.1f} s"
          f" = {(os.cpu_count() or 1) * e2e_seconds:.0f} available): "
          + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items()), flush=True)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (uvicorn's workers), from
    /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_seconds(int(child)) for child in children)


def _postgres_cpu_seconds() -> float:
    """CPU of the PostgreSQL backends serving the benchmark's database (still open)."""
    database = os.environ["CHAPPE_DATABASE_URL"].rsplit("/", 1)[1]
    total = 0.0
    for entry in os.listdir("/proc"):
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if entry.isdigit() and command.startswith(b"postgres: ") and database.encode() in command:
            total += _cpu_seconds(int(entry))
    return total


async def _post_all(port: int, api_key: str, bodies: list[bytes], clients: int) -> int:
    """Post every body over `clients` keep-alive connections; returns how many recipients
    were refused (non-2xx answers)."""
    pending = list(reversed(bodies))
    refused = 0
    headers = (f"Authorization: Bearer {api_key}\r\nContent-Type: application/json\r\n"
               "Host: 127.0.0.1\r\n").encode()

    async def client() -> None:
        nonlocal refused
        connection = Connection(*await asyncio.open_connection("127.0.0.1", port))
        while pending:
            body = pending.pop()
            status = await connection.exchange(
                b"POST /api/v1/sms HTTP/1.1\r\n" + headers + b"Content-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)
            if not 200 <= status < 300:
                refused += len(json.loads(body)["recipients"])
        connection.writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return refused


def _role(*args: str) -> subprocess.Popen:
    env = {**os.environ, "CHAPPE_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "chappe.runtime.cli", *args], cwd=REPO,
                            env=env)


def _wait_final(count: int) -> None:
    from chappe.messaging.lifecycle import FINAL
    from chappe.messaging.models import Message

    while Message.objects.filter(status__in=list(FINAL)).count() < count:
        time.sleep(0.1)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait()


if __name__ == "__main__":
    main()
