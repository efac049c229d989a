"""Connector configuration: load the enabled connectors and the routing table."""

from typing import Any

from django.utils.module_loading import import_string

from chappe.carriers.models import Connector, Route
from chappe.carriers.routing import RouteRule

SIMULATOR_TYPE = "chappe.carriers.simulator.connector.SimulatorConnector"


def connectors_load() -> dict[str, Any]:
    """Instances of every enabled connector, by name."""
    return {row.name: import_string(row.type)(row.name, row.config)
            for row in Connector.objects.filter(enabled=True)}


def routes_load() -> list[RouteRule]:
    return [RouteRule(connector=route.connector.name, country=route.country, prefix=route.prefix,
                      priority=route.priority,
                      fallback=route.fallback.name if route.fallback else None)
            for route in Route.objects.select_related("connector", "fallback")]


def simulator_ensure(*, name: str = "simulator", config: dict[str, Any] | None = None) -> Connector:
    """The built-in simulator as a connector with a catch-all route (embedded mode)."""
    connector, _created = Connector.objects.get_or_create(
        name=name, defaults={"type": SIMULATOR_TYPE, "config": config or {}})
    if not Route.objects.filter(connector=connector, country="", prefix="").exists():
        Route.objects.create(connector=connector, priority=1000)
    return connector
