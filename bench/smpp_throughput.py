"""SMPP throughput benchmark.

    .venv/bin/python bench/smpp_throughput.py --postgres                 # both figures
    .venv/bin/python bench/smpp_throughput.py --postgres --messages 20000 --window 50 --binds 2
    .venv/bin/python bench/smpp_throughput.py --only ingest --submits 20000

(a) platform → SMSC: N messages accepted through `sms_send`, then real `chappe gateway`
    process(es) with an SmppConnector (window W, B binds) to a real `chappe smsc-sim`
    process (receipts at once): msg/s from the gateway start to every message delivered
    (submit_sm, submit_sm_resp, receipt deliver_sm, inbox, status applied).
(b) client → SMPP server ingest: a real `chappe smpp-server` process; an asyncio ESME on
    our transport (window 100, another process) sends M submit_sm (one text to many
    numbers, or `--distinct-texts`); submit_sm/s from the first submit to the last
    submit_sm_resp (every message accepted through sms_send and committed before its
    resp).

It builds a throw-away database (temp SQLite file, or a fresh PostgreSQL database on
127.0.0.1:5432 dropped at the end).
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from throwaway import REPO, throwaway_platform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--only", choices=["e2e", "ingest"])
    parser.add_argument("--messages", type=int, default=20_000, help="(a) messages")
    parser.add_argument("--window", type=int, default=50, help="(a) window per bind")
    parser.add_argument("--binds", type=int, default=2, help="(a) binds")
    parser.add_argument("--gateways", type=int, default=1, help="(a) gateway processes")
    parser.add_argument("--submits", type=int, default=20_000, help="(b) submit_sm")
    parser.add_argument("--connections", type=int, default=1, help="(b) client binds")
    parser.add_argument("--distinct-texts", action="store_true",
                        help="(b) a different text in each submit_sm (OTP-like) instead of "
                             "one text to many numbers (bulk campaign)")
    args = parser.parse_args()

    with throwaway_platform(postgres=args.postgres) as data_dir:
        vendor = "PostgreSQL" if args.postgres else "SQLite"
        if args.only in (None, "e2e"):
            end_to_end(args, vendor, data_dir)
        if args.only in (None, "ingest"):
            ingest(args, vendor, data_dir)


def _funded_account(name: str, amount: int):
    from chappe.accounts.actor import SYSTEM
    from chappe.accounts.services import account_create, service_order
    from chappe.billing.models import PriceList
    from chappe.billing.services import (
        credit_order_create,
        payment_record,
        price_list_create,
        price_list_version_create,
    )

    account = account_create(actor=SYSTEM, name=name)
    service_order(actor=SYSTEM, account=account, kind="messaging")
    if not PriceList.objects.filter(code="bench").exists():
        prices = price_list_create(actor=SYSTEM, code="bench", name="Bench", is_default=True)
        price_list_version_create(actor=SYSTEM, price_list=prices,
                                  effective_from=datetime(2020, 1, 1, tzinfo=UTC),
                                  prices=[{"product": "sms", "unit_price": "0.045"}])
    order = credit_order_create(actor=SYSTEM.on(account), account=account,
                                amount=str(amount), currency="EUR")
    payment_record(actor=SYSTEM, invoice=order.invoice,
                   amount=str(order.invoice.total_micros / 1_000_000), method="transfer",
                   reference=f"bench-{name}")
    return account


def _start(args: list[str], data_dir: str, name: str) -> tuple[subprocess.Popen, int | None]:
    port_file = Path(data_dir) / f"{name}.port"
    env = {**os.environ, "CHAPPE_LOG_LEVEL": "WARNING"}
    has_port = "--port" in args
    if has_port:
        args = [*args, "--port-file", str(port_file)]
    process = subprocess.Popen([sys.executable, "-m", "chappe.runtime.cli", *args], cwd=REPO,
                               env=env, stdout=subprocess.DEVNULL)
    if not has_port:
        return process, None
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.05)
    return process, int(port_file.read_text())


def end_to_end(args: argparse.Namespace, vendor: str, data_dir: str) -> None:
    from chappe.accounts.actor import SYSTEM
    from chappe.carriers.models import Connector, Route
    from chappe.messaging.lifecycle import FINAL
    from chappe.messaging.models import Message
    from chappe.messaging.services.accept import MAX_RECIPIENTS, sms_send

    account = _funded_account("Bench e2e", args.messages)
    sim, port = _start(["smsc-sim", "--port", "0", "--latency", "0", "--window", "500"],
                       data_dir, "smsc-sim")
    connector = Connector.objects.create(
        name="bench-smpp", type="smpp",
        config={"host": "127.0.0.1", "port": port, "system_id": "chappe", "password": "secret",
                "window": args.window, "binds": args.binds, "message_id_format": "hex"})
    Route.objects.create(connector=connector)
    numbers = [f"+3361{n:07d}" for n in range(args.messages)]
    for offset in range(0, len(numbers), MAX_RECIPIENTS):
        sms_send(actor=SYSTEM.on(account), account=account, text="Votre code est 123456",
                 sender="Chappe", recipients=numbers[offset:offset + MAX_RECIPIENTS])
    start = time.perf_counter()
    gateways = [_start(["gateway", "--batch", "1000"], data_dir, f"gateway{i}")[0]
                for i in range(args.gateways)]
    try:
        while Message.objects.filter(status__in=list(FINAL)).count() < args.messages:
            time.sleep(0.1)
    finally:
        for process in [*gateways, sim]:
            process.terminate()
        for process in [*gateways, sim]:
            process.wait()
    seconds = time.perf_counter() - start
    delivered = Message.objects.filter(status="delivered").count()
    print(f"[{vendor}] (a) platform → smsc-sim over SMPP, {args.gateways} gateway(s), "
          f"{args.binds} bind(s), window {args.window}: {delivered}/{args.messages} delivered "
          f"in {seconds:.2f} s: {args.messages / seconds:,.0f} msg/s end to end", flush=True)


def ingest(args: argparse.Namespace, vendor: str, data_dir: str) -> None:
    from chappe.accounts.actor import SYSTEM
    from chappe.messaging.models import Message
    from chappe.smpp_server.services import smpp_account_create

    account = _funded_account("Bench ingest", args.submits)
    smpp_account_create(actor=SYSTEM.on(account), account=account, system_id="bench",
                        password="bench", max_binds=32, max_msg_per_s=10_000)
    server, port = _start(["smpp-server", "--port", "0"], data_dir, "smpp-server")
    try:
        seconds, errors = asyncio.run(_client(port, args.submits, args.connections,
                                              args.distinct_texts))
        cpu = _cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait()
    accepted = Message.objects.filter(account=account).count()
    texts = "distinct texts" if args.distinct_texts else "one text"
    # The server's own CPU time per submit: a figure a busy machine disturbs less.
    cpu_us = cpu / args.submits * 1e6
    print(f"[{vendor}] (b) client → smpp-server, {args.connections} bind(s), window 100, "
          f"{texts}: "
          f"{args.submits} submit_sm in {seconds:.2f} s: {args.submits / seconds:,.0f} "
          f"submit_sm/s ({accepted} messages accepted, {errors} errors; server CPU "
          f"{cpu_us:.0f} µs per submit_sm)", flush=True)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _client(port: int, total: int, connections: int,
                  distinct: bool) -> tuple[float, int]:
    from chappe.smpp import pdu as P
    from chappe.smpp.transport import Session, SmppError

    sessions = []
    for _ in range(connections):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        session = Session(reader, writer, window=100, name="bench-client")
        asyncio.create_task(session.run())  # noqa: RUF006
        await session.request(P.bind("trx", system_id="bench", password="bench"),
                              windowed=False)
        session.mode = "trx"
        sessions.append(session)
    errors = 0

    async def one(n: int) -> None:
        nonlocal errors
        request = P.submit_sm(source="Bench", source_ton=5, source_npi=0,
                              destination=f"3362{n:07d}", dest_ton=1, dest_npi=1,
                              short_message=(f"Code {n}" if distinct else "Soldes -50%")
                              .encode(), data_coding_value=0,
                              registered=1)
        try:
            await sessions[n % connections].request(request)
        except SmppError:
            errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(total)))
    seconds = time.perf_counter() - start
    for session in sessions:
        await session.unbind()
    return seconds, errors


if __name__ == "__main__":
    main()
