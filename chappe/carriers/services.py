"""Carrier configuration: connectors (settings validated against their type's schema)
and routes, changed by the operator only and audited; the built-in simulator for the
embedded mode; a connection test. Gateways pick changes up at their next reload (30 s).
"""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.audit.services import audit_record
from chappe.carriers.base import ConnectionCheck
from chappe.carriers.models import Connector, RefusedTransition, Route
from chappe.carriers.registry import config_stored, config_validate, connector_build
from chappe.common.errors import ChappeError, Conflict, PermissionDenied, ValidationFailed

SIMULATOR_TYPE = "simulator"
NAME = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
PREFIX = re.compile(r"^\d{1,15}$")


def _require_operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise PermissionDenied(_("Only the platform operator can do this."))


@transaction.atomic
def connector_save(*, actor: Actor, connector: Connector | None = None, name: str, type: str,
                   config: dict[str, Any], enabled: bool = True) -> Connector:
    """Create (`connector` None) or change a connector. Its type must be registered and
    its settings valid for that type (errors per field: `name`, `type`,
    `config.<setting>`); they are stored as validated."""
    _require_operator(actor)
    if not NAME.match(name):
        raise ValidationFailed(details={"name": [
            _("1 to 64 letters, digits, '-' or '_'.")]})
    stored = config_stored(config_validate(type=type, config=config))
    created = connector is None
    connector = connector or Connector()
    connector.name, connector.type, connector.config = name, type, stored
    connector.enabled = enabled
    try:
        with transaction.atomic():
            connector.save()
    except IntegrityError as exc:
        raise Conflict(_("A connector with this name exists already."),
                       code="connector_name_taken") from exc
    # The setting names, never their values: a password is one of them.
    audit_record(actor=actor, action=f"carriers.connector.{'create' if created else 'update'}",
                 target=connector, details={"type": type, "enabled": enabled,
                                            "settings": sorted(stored)})
    return connector


@transaction.atomic
def connector_delete(*, actor: Actor, connector: Connector) -> None:
    _require_operator(actor)
    if Route.objects.filter(connector=connector).exists() or Route.objects.filter(
            fallback=connector).exists():
        raise Conflict(_("Routes use this connector: change or delete them first."),
                       code="connector_in_use")
    audit_record(actor=actor, action="carriers.connector.delete", target=connector,
                 details={"type": connector.type})
    connector.delete()


def connector_test(*, connector: Connector, timeout: float = 10.0) -> ConnectionCheck:
    """Try the connector's link once with its stored settings (a bind and an unbind for
    SMPP), apart from the gateways' own links."""
    try:
        instance = connector_build(name=connector.name, type=connector.type,
                                   config=connector.config)
    except ChappeError as exc:
        problems = "; ".join(f"{field}: {' '.join(messages)}"
                             for field, messages in exc.details.items())
        return ConnectionCheck(ok=False, detail=problems or exc.message)
    return instance.test(timeout=timeout)


def route_validate(*, connector: Connector, fallback: Connector | None, country: str,
                   prefix: str) -> None:
    """Refuse a route that could never match or fails over to itself (per field)."""
    errors: dict[str, list[str]] = {}
    if country and not COUNTRY.match(country):
        errors["country"] = [_("Two capital letters (ISO 3166), or empty for any country.")]
    if prefix and not PREFIX.match(prefix):
        errors["prefix"] = [_("Up to 15 digits, without '+'.")]
    if fallback is not None and fallback.pk == connector.pk:
        errors["fallback"] = [_("The fallback must be another connector.")]
    if errors:
        raise ValidationFailed(details=errors)


@transaction.atomic
def route_save(*, actor: Actor, route: Route | None = None, connector: Connector,
               fallback: Connector | None = None, country: str = "", prefix: str = "",
               priority: int = 100) -> Route:
    """Create (`route` None) or change a route: `country` an ISO code or empty (any),
    `prefix` E.164 digits or empty, a fallback other than the connector itself."""
    _require_operator(actor)
    route_validate(connector=connector, fallback=fallback, country=country, prefix=prefix)
    created = route is None
    route = route or Route()
    route.connector, route.fallback = connector, fallback
    route.country, route.prefix, route.priority = country, prefix, priority
    route.save()
    audit_record(actor=actor, action=f"carriers.route.{'create' if created else 'update'}",
                 target=route, details={"connector": connector.name, "country": country,
                                        "prefix": prefix, "priority": priority,
                                        "fallback": fallback.name if fallback else None})
    return route


@transaction.atomic
def route_delete(*, actor: Actor, route: Route) -> None:
    _require_operator(actor)
    audit_record(actor=actor, action="carriers.route.delete", target=route)
    route.delete()


def simulator_ensure(*, name: str = "simulator", config: dict[str, Any] | None = None) -> Connector:
    """The built-in simulator as a connector with a catch-all route (embedded mode)."""
    stored = config_stored(config_validate(type=SIMULATOR_TYPE, config=config or {}))
    connector, _created = Connector.objects.get_or_create(
        name=name, defaults={"type": SIMULATOR_TYPE, "config": stored})
    if not Route.objects.filter(connector=connector, country="", prefix="").exists():
        Route.objects.create(connector=connector, priority=1000)
    return connector


def transitions_refused_count(*, refused: Mapping[tuple[str, str], int], at: datetime) -> None:
    """Add refused status changes, by (from, to), to their shared count (see
    `RefusedTransition`), in the caller's transaction."""
    for (current, new), count in refused.items():
        row, _created = RefusedTransition.objects.get_or_create(
            from_status=current, to_status=new, defaults={"last_at": at})
        RefusedTransition.objects.filter(pk=row.pk).update(count=F("count") + count, last_at=at)


RCS_SIMULATOR_TYPE = "rcs_simulator"


def rcs_simulator_ensure(*, name: str = "rcs-simulator",
                         config: dict[str, Any] | None = None) -> Connector:
    """The built-in RCS simulator as a connector (embedded mode, the demo). It gets no SMS
    route: RCS messages go to a connector that carries RCS, SMS follow the routes."""
    stored = config_stored(config_validate(type=RCS_SIMULATOR_TYPE, config=config or {}))
    connector, _created = Connector.objects.get_or_create(
        name=name, defaults={"type": RCS_SIMULATOR_TYPE, "config": stored})
    return connector
