"""SMS pipeline benchmark: accept rate and end-to-end rate on the built-in simulator.

    .venv/bin/python bench/sms_pipeline.py --messages 20000            # SQLite
    .venv/bin/python bench/sms_pipeline.py --messages 20000 --postgres  # PostgreSQL
    .venv/bin/python bench/sms_pipeline.py --postgres --gateways 2       # 2 gateway processes

It builds a throw-away database (a temp SQLite file, or a fresh PostgreSQL database on
127.0.0.1:5432 that it drops at the end), accepts N messages through `sms_send` in
requests of up to 10,000 recipients (rated, billed, written), then runs real
`chappe gateway` processes until every message has a final status (delivered by the
simulator with zero latency), and prints both rates.
"""

import argparse
import os
import subprocess
import sys
import time

from throwaway import REPO, funded_account, throwaway_platform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--gateways", type=int, default=1)
    args = parser.parse_args()

    with throwaway_platform(postgres=args.postgres):
        run(args)


def run(args: argparse.Namespace) -> None:
    from chappe.accounts.actor import SYSTEM
    from chappe.messaging.lifecycle import FINAL
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

    env = {**os.environ, "CHAPPE_LOG_LEVEL": "WARNING"}
    start = time.perf_counter()
    gateways = [subprocess.Popen([sys.executable, "-m", "chappe.runtime.cli", "gateway"],
                                 cwd=REPO, env=env) for _ in range(args.gateways)]
    try:
        while Message.objects.filter(status__in=list(FINAL)).count() < args.messages:
            time.sleep(0.1)
    finally:
        for gateway in gateways:
            gateway.terminate()
        for gateway in gateways:
            gateway.wait()
    e2e_seconds = time.perf_counter() - start
    delivered = Message.objects.filter(status="delivered").count()
    print(f"[{vendor}] {args.gateways} gateway(s): {delivered} delivered in {e2e_seconds:.2f} s: "
          f"{args.messages / e2e_seconds:,.0f} msg/s end to end (accepted → delivered)")


if __name__ == "__main__":
    main()
