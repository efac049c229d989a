"""Live SMPP bind state on /metrics, read from `SmppBindState` at scrape time (the binds
live in gateway processes; the table is their shared report). The web role registers
the collector with the metrics it serves (`chappe.runtime.metrics`)."""

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from chappe.carriers.smpp.models import SmppBindState

STALE = timedelta(seconds=30)


class SmppCollector(Collector):
    def describe(self) -> list:
        # Without describe(), registering would call collect() and query the database.
        return []

    def collect(self) -> Iterator:
        fresh = list(SmppBindState.objects.filter(updated_at__gte=timezone.now() - STALE))
        bound = GaugeMetricFamily("chappe_smpp_binds", "SMPP binds to carriers by state",
                                  labels=["connector", "state"])
        counts: dict[tuple[str, str], int] = {}
        for row in fresh:
            counts[(row.connector, row.state)] = counts.get((row.connector, row.state), 0) + 1
        for key, value in counts.items():
            bound.add_metric(list(key), value)
        yield bound
        per = {"in_flight": GaugeMetricFamily(
                   "chappe_smpp_in_flight", "submit_sm awaiting a response", labels=["connector"]),
               "msg_per_s": GaugeMetricFamily(
                   "chappe_smpp_msg_per_second", "submit_sm per second (last interval)",
                   labels=["connector"])}
        totals = {name: CounterMetricFamily(f"chappe_smpp_{name}", help_, labels=["connector"])
                  for name, help_ in (("submitted", "submit_sm accepted by the SMSC"),
                                      ("errors", "submit_sm errors (permanent, timeouts)"),
                                      ("throttled", "ESME_RTHROTTLED / ESME_RMSGQFUL answers"),
                                      ("reconnects", "binds re-established"))}
        sums: dict[str, dict[str, float]] = {}
        for row in fresh:
            for name in (*per, *totals):
                sums.setdefault(name, {})
                sums[name][row.connector] = sums[name].get(row.connector, 0) + getattr(row, name)
        for name, family in {**per, **totals}.items():
            for connector, value in sums.get(name, {}).items():
                family.add_metric([connector], value)
            yield family
