"""Campaign launch benchmark: a personalised marketing campaign to N contacts.

    .venv/bin/python bench/campaign_launch.py --postgres              # 1,000,000 contacts
    .venv/bin/python bench/campaign_launch.py --contacts 100000       # SQLite
    .venv/bin/python bench/campaign_launch.py --postgres --plain      # one text for all

It builds a throw-away database (a temp SQLite file, or a fresh PostgreSQL database on
127.0.0.1:5432 named chappe_helper_campaigns_<random>, dropped at the end), writes N
contacts with COPY (first names, a few outside GSM-7 so some messages go in UCS-2,
numbers over the French mobile ranges), a price list and enough prepaid credit, then
times through the services and the job queue exactly as in production:

* the launch request (`campaign_launch`: checks, cost estimate, operator-skew check);
* the launch job (`campaigns.launch`: audience snapshot, then acceptance in chunks —
  personalised, rated, billed, written), run by this process's worker loop;

and prints the accept time (request + job), the rate, and the peak memory (maxrss) of
this process, which did both; it checks one message per contact. Then it times what a
launched campaign of that size costs afterwards: a pacing step (backlog count, one wave
released, a progress sample), pausing and resuming; with --cancel, canceling (every
waiting message canceled and its charge reversed, chunk by chunk).
"""

import argparse
import json
import os
import resource
import time

from throwaway import throwaway_platform

FIRST = ["Zoé", "Léa", "Jérôme", "Chloé", "Noël", "Anaïs", "François", "Hélène", "Loïc", "Maëlle",
         "Łukasz", "Ewa", "Ștefan"]  # Ł and Ș are not GSM-7: those messages go in UCS-2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--plain", action="store_true",
                        help="no placeholder: every recipient gets the same text")
    parser.add_argument("--cancel", action="store_true",
                        help="also cancel the campaign and time it")
    args = parser.parse_args()
    with throwaway_platform(postgres=args.postgres, database_prefix="chappe_helper_campaigns"):
        run(args)


def _contacts(account, count: int) -> float:
    """Write `count` contacts with COPY (PostgreSQL) or executemany (SQLite); seconds."""
    from django.db import connection, transaction
    from django.utils import timezone

    from chappe.common.bulk import bulk_insert
    from chappe.common.ids import uuid7
    from chappe.contacts.fields import mobile_facts
    from chappe.contacts.models import Contact

    columns = ["id", "account_id", "mobile", "first_name", "last_name", "company", "phone",
               "email", "address", "city", "country", "custom", "mobile_country",
               "mobile_operator", "created_at", "updated_at"]
    empty = "{}" if connection.vendor == "postgresql" else {}
    now = timezone.now()
    facts: dict[str, tuple[str, str]] = {}

    def rows():
        for i in range(count):
            number = f"+336{1 + i % 8}{i // 8:07d}"
            prefix = number[:8]  # the operator ranges, derived once per prefix
            if prefix not in facts:
                facts[prefix] = mobile_facts(number)
            yield (uuid7(), account.pk, number, FIRST[i % len(FIRST)], "Martin", "", "", "",
                   "", "Paris", "", empty, *facts[prefix], now, now)

    started = time.perf_counter()
    with transaction.atomic():
        bulk_insert(Contact, columns, rows())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_contact")
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> None:
    from datetime import UTC, datetime

    from django.conf import settings
    from django.db import connection
    from django.db.models import Count

    from chappe.accounts.actor import SYSTEM
    from chappe.accounts.services import account_create, service_order
    from chappe.billing.services import (
        credit_order_create,
        payment_record,
        price_list_create,
        price_list_version_create,
    )
    from chappe.campaigns.models import Campaign
    from chappe.campaigns.services import campaign_create, campaign_launch
    from chappe.messaging.models import Message
    from chappe.queue.jobs import jobs_run_due

    vendor = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    account = account_create(actor=SYSTEM, name="Bench")
    service_order(actor=SYSTEM, account=account, kind="messaging")
    prices = price_list_create(actor=SYSTEM, code="bench", name="Bench", is_default=True)
    price_list_version_create(actor=SYSTEM, price_list=prices,
                              effective_from=datetime(2020, 1, 1, tzinfo=UTC),
                              prices=[{"product": "sms", "country": "FR",
                                       "unit_price": "0.045"}])
    order = credit_order_create(actor=SYSTEM.on(account), account=account,
                                amount=str(args.contacts // 5 + 100), currency="EUR")
    payment_record(actor=SYSTEM, invoice=order.invoice,
                   amount=str(order.invoice.total_micros / 1_000_000), method="transfer",
                   reference="bench")
    took = _contacts(account, args.contacts)
    print(f"[{vendor}] {args.contacts:,} contacts written in {took:.1f} s (setup, not timed "
          f"below)", flush=True)

    actor = SYSTEM.on(account)
    text = ("Bonjour, les soldes commencent samedi : -30 % sur tout le magasin."
            if args.plain else
            "Bonjour {first_name|client}, les soldes commencent samedi : -30 % sur tout "
            "le magasin.")
    campaign = campaign_create(actor=actor, account=account, name="Soldes", sender="Boutique",
                               text=text, kind="marketing", all_contacts=True)
    cpu = _cpu_seconds()
    started = time.perf_counter()
    campaign = campaign_launch(actor=actor, campaign=campaign)
    requested = time.perf_counter()
    assert campaign.status == "launching", campaign.status
    while not Campaign.objects.filter(pk=campaign.pk, launched_at__isnull=False).exists():
        if not jobs_run_due(worker="bench", limit=1):
            time.sleep(0.01)
    finished = time.perf_counter()
    cpu = [after - before for before, after in zip(cpu, _cpu_seconds(), strict=True)]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    campaign.refresh_from_db()
    accept = finished - started
    print(f"  launch request (checks, estimate, skew)  {requested - started:6.2f} s")
    print(f"  launch job (snapshot + acceptance)       {finished - requested:6.2f} s")
    print(f"  accept time                              {accept:6.2f} s  "
          f"({campaign.processed / accept:,.0f} recipients/s)")
    lanes = settings.CHAPPE_LAUNCH_LANES
    print(f"  lanes {lanes} (CHAPPE_LAUNCH_LANES); CPU: this process {cpu[0]:.1f} s, "
          + (f"its database backend {cpu[1]:.1f} s" if cpu[1] >= 0 and lanes == 1
             else "the lanes' database backends not measured (one per lane thread)"
             if lanes > 1 else "its database backend unknown (not on this machine)"))
    print(f"  peak memory (maxrss of this process)     {peak_mb:6.0f} MB")
    print(f"  messages {campaign.messages:,}  cost {campaign.cost_micros / 1e6:,.2f} "
          f"{campaign.currency}  ({'plain' if args.plain else 'personalised'} text)")
    made = Message.objects.filter(send_id=campaign.send_id)
    assert made.count() == campaign.processed == args.contacts
    assert made.values("recipient").distinct().count() == args.contacts
    encodings = dict(made.values_list("encoding").annotate(n=Count("pk")).order_by())
    print(f"  encodings {json.dumps(encodings)}; one message per contact: checked")
    _afterwards(campaign, actor, cancel=args.cancel)


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process and by its PostgreSQL backend (read from
    /proc: the server is on this machine; -1 when it is not, or on SQLite)."""
    from django.db import connection

    usage = resource.getrusage(resource.RUSAGE_SELF)
    backend = -1.0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return usage.ru_utime + usage.ru_stime, backend


def _timed(label: str, work) -> None:
    started = time.perf_counter()
    work()
    print(f"  {label:<41}{time.perf_counter() - started:6.2f} s")


def _afterwards(campaign, actor, *, cancel: bool) -> None:
    from django.utils import timezone

    from chappe.campaigns.models import Campaign
    from chappe.campaigns.services import (
        campaign_cancel,
        campaign_pace,
        campaign_pause,
        campaign_resume,
    )
    from chappe.campaigns.services.pacing import sample_take
    from chappe.queue.jobs import jobs_run_due

    campaign.refresh_from_db()
    _timed("pacing step (backlog, a wave, a sample)", lambda: campaign_pace(
        campaign_id=campaign.pk, run=campaign.run, step=10**6))
    _timed("progress sample alone", lambda: sample_take(campaign, now=timezone.now()))
    _timed("pause (hold again what was released)", lambda: campaign_pause(
        actor=actor, campaign=campaign))
    _timed("resume", lambda: campaign_resume(actor=actor, campaign=campaign))
    if cancel:
        def cancel_all():
            campaign_cancel(actor=actor, campaign=campaign)
            while Campaign.objects.filter(pk=campaign.pk, status="canceling").exists():
                jobs_run_due(worker="bench", limit=1)

        started = time.perf_counter()
        cancel_all()
        took = time.perf_counter() - started
        print(f"  cancel (all waiting, charges reversed)  {took:6.2f} s  "
              f"({campaign.messages / took:,.0f} messages/s)")


if __name__ == "__main__":
    main()
