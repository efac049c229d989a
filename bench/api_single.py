"""One-recipient `POST /api/v1/sms` at fixed rates, open loop, against a real `chappe web`.

    .venv/bin/python bench/api_single.py                       # 100,300,500,1000 req/s
    .venv/bin/python bench/api_single.py --rates 300 --seconds 20 --workers 2

It builds a throw-away PostgreSQL database with a funded account and an API key, starts
`chappe web --workers N` on it, then for each rate sends requests **at scheduled times**
(request i leaves at start + i / rate, whether or not earlier ones were answered) over
keep-alive connections opened as needed. Latency is measured from the scheduled time, not
from when the request could be sent, so a server that falls behind shows its queue in
the figures instead of slowing the generator down (coordinated omission). It prints per
rate: achieved rate (answers per second over the run), p50/p95/p99/max latency, and the
errors (non-2xx answers, connection failures, requests still unanswered at the end).

The generator is a small asyncio HTTP/1.1 client of its own: a general-purpose client
costs more CPU per request than the server under test on a 2-core machine.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter

from throwaway import REPO, funded_account, throwaway_platform


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])


async def run_rate(host: str, port: int, body_for, headers: bytes, rate: float,
                   seconds: float) -> dict:
    idle: list[Connection] = []
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2

    async def one(index: int) -> None:
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        connection = idle.pop() if idle else None
        body = body_for(index)
        request = (b"POST /api/v1/sms HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers
                   + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        try:
            if connection is not None:
                try:
                    status = await connection.exchange(request)
                except (ConnectionResetError, asyncio.IncompleteReadError, IndexError):
                    # The server closed this keep-alive connection while it was idle
                    # (uvicorn: after 5 s): send again on a new one, as HTTP clients do.
                    connection.writer.close()
                    connection = None
            if connection is None:
                connection = Connection(*await asyncio.open_connection(host, port))
                status = await connection.exchange(request)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            errors[type(exc).__name__] += 1
            return
        latencies.append(time.perf_counter() - scheduled)
        idle.append(connection)
        if not 200 <= status < 300:
            errors[f"HTTP {status}"] += 1

    tasks = [asyncio.ensure_future(one(i)) for i in range(total)]
    _done, pending = await asyncio.wait(tasks, timeout=seconds + 30)
    for task in pending:
        task.cancel()
    if pending:
        errors["unanswered"] += len(pending)
    elapsed = time.perf_counter() - start
    for connection in idle:
        connection.writer.close()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    ok = total - sum(errors.values())
    return {"rate": rate, "sent": total, "achieved": ok / elapsed,
            "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0),
            "errors": dict(errors)} if latencies else {"rate": rate, "errors": dict(errors)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="100,300,500,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]

    with throwaway_platform(postgres=True, database_prefix="chappe_api_bench") as data_dir:
        from chappe.accounts.actor import SYSTEM
        from chappe.accounts.services import api_key_create

        account = funded_account(credit_eur=int(sum(rates) * args.seconds * 0.05) + 100)
        _key, raw = api_key_create(actor=SYSTEM.on(account), account=account, name="bench")
        port = _free_port()
        env = {**os.environ, "CHAPPE_DATA_DIR": data_dir, "CHAPPE_LOG_LEVEL": "WARNING"}
        web = subprocess.Popen([sys.executable, "-m", "chappe.runtime.cli", "web", "--port",
                                str(port), "--workers", str(args.workers)], cwd=REPO, env=env)
        try:
            _wait_up(port)
            headers = (f"Authorization: Bearer {raw}\r\n"
                       "Content-Type: application/json\r\n").encode()

            def body_for(index: int) -> bytes:
                return json.dumps({"recipients": [f"+3361{index % 10_000_000:07d}"],
                                   "text": "Votre code est 123456",
                                   "sender": "Chappe"}).encode()

            print(f"chappe web --workers {args.workers} on PostgreSQL, {args.seconds:.0f} s "
                  "per rate, open loop", flush=True)
            for rate in rates:
                result = asyncio.run(run_rate("127.0.0.1", port, body_for, headers, rate,
                                              args.seconds))
                if "p50" in result:
                    print(f"  {rate:>6.0f} req/s offered: {result['achieved']:7.1f} accepted/s"
                          f"  p50 {result['p50']:7.1f} ms  p95 {result['p95']:7.1f} ms"
                          f"  p99 {result['p99']:7.1f} ms  max {result['max']:7.1f} ms"
                          f"  errors {result['errors'] or 0}", flush=True)
                else:
                    print(f"  {rate:>6.0f} req/s offered: nothing answered, errors "
                          f"{result['errors']}", flush=True)
        finally:
            web.terminate()
            web.wait(20)


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Connection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("chappe web did not start")


if __name__ == "__main__":
    main()
