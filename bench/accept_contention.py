"""Concurrent senders on one prepaid account: throughput and the balance lock's share.

    .venv/bin/python bench/accept_contention.py                    # 4 threads, batches 1, 50
    .venv/bin/python bench/accept_contention.py --threads 8 --batches 1,20 --seconds 10

Each thread calls `sms_send_many` (one transaction, one debit) with `--batches` one-
recipient requests at a time — 1 is a request accepted alone, more is what the group
commit of a web process writes under load — on one funded account, PostgreSQL. It
prints the sends per second, and, per transaction, how long the account's balance row
was locked (from the moment `balance_lock` returned to the end of the commit) and how
long it was waited for, as shares of the time the transactions took (decision 0028).
"""

import argparse
import statistics
import threading
import time

from throwaway import funded_account, throwaway_platform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--batches", default="1,50")
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()

    with throwaway_platform(postgres=True, database_prefix="chappe_contention"):
        from django.db import connection

        import chappe.billing.services.usage as usage
        from chappe.accounts.actor import SYSTEM
        from chappe.messaging.services.accept import SmsRequest, sms_send_many

        account = funded_account(credit_eur=20_000)
        local = threading.local()
        locking = usage.balance_lock

        def timed_lock(**kwargs):
            asked = time.perf_counter()
            balance = locking(**kwargs)
            local.locked_at = time.perf_counter()
            local.waited = local.locked_at - asked
            return balance

        usage.balance_lock = timed_lock  # measured where the debit takes it
        print(f"{args.threads} threads on one account, PostgreSQL, {args.seconds:.0f} s each")
        for batch in [int(b) for b in args.batches.split(",")]:
            took, held, waited, sent = [], [], [], [0]

            def sender(thread: int, batch: int = batch, took=took, held=held,
                       waited=waited, sent=sent) -> None:
                end, n = time.perf_counter() + args.seconds, 0
                while time.perf_counter() < end:
                    requests = [SmsRequest(
                        actor=SYSTEM.on(account), account=account, sender="Chappe",
                        recipients=[f"+336{batch % 10}{thread:02d}{n % 100_000:05d}"],
                        text="Votre code est 123456") for n in range(n, n + batch)]
                    n += batch
                    start = time.perf_counter()
                    sms_send_many(requests=requests)
                    done = time.perf_counter()
                    took.append(done - start)
                    held.append(done - local.locked_at)
                    waited.append(local.waited)
                    sent[0] += batch
                connection.close()

            threads = [threading.Thread(target=sender, args=(i,)) for i in range(args.threads)]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
            print(f"  batches of {batch:>3}: {sent[0] / elapsed:6.0f} sends/s; a transaction "
                  f"{statistics.median(took) * 1000:5.1f} ms (median), the lock held "
                  f"{statistics.median(held) * 1000:5.1f} ms = {sum(held) / sum(took):4.0%} "
                  f"of the time, waited for {sum(waited) / sum(took):4.0%}", flush=True)


if __name__ == "__main__":
    main()
