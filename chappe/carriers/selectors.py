"""Reads of the carrier configuration."""

from chappe.carriers.models import Route
from chappe.carriers.routing import RouteRule


def routes_load() -> list[RouteRule]:
    """The routing table, as the pure router takes it."""
    return [RouteRule(connector=route.connector.name, country=route.country, prefix=route.prefix,
                      priority=route.priority,
                      fallback=route.fallback.name if route.fallback else None)
            for route in Route.objects.select_related("connector", "fallback")]
