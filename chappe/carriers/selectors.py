"""Reads of the carrier configuration."""

from chappe.carriers.models import Connector, RefusedTransition, Route
from chappe.carriers.routing import RouteRule


def routes_load() -> list[RouteRule]:
    """The routing table, as the pure router takes it."""
    return [RouteRule(connector=route.connector.name, country=route.country, prefix=route.prefix,
                      priority=route.priority,
                      fallback=route.fallback.name if route.fallback else None)
            for route in Route.objects.select_related("connector", "fallback")]


def transitions_refused() -> list[tuple[str, str, int]]:
    """Every refused status change so far: (from, to, how many times)."""
    return list(RefusedTransition.objects.order_by("from_status", "to_status")
                .values_list("from_status", "to_status", "count"))


def connector_of_type(*, name: str, type: str) -> Connector | None:
    """The enabled connector `name` if it is of type `type` (a carrier's webhook names
    its connector in the URL: any other name is unknown to it)."""
    return Connector.objects.filter(name=name, type=type, enabled=True).first()
