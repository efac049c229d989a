"""The registry behind tests/test_tenant_isolation.py: how to build a tenant full of data,
and which of its object ids each API path parameter names.

Each app contributes one module here (`tests/tenancy/<app>.py`), so that teams adding
endpoints do not edit one shared file. A module may define:

* `PATH_PARAMS` — path parameter name → a factory `(Tenant) -> list of ids` of that
  tenant's objects (the FIRST id must be reachable by the tenant's own Administrator key
  without X-Account-Id: it is the positive control), or `NotTenantScoped(value, why)` for
  a parameter that is not an object id (a service kind, a format…);
* `seed(tenant)` — create the app's objects for the tenant (keep them in
  `tenant.objects`), so list endpoints have something to leak and path parameters have
  ids to point at; put `tenant.tag` in names where you can;
* `LISTS_WITHOUT_TENANT_DATA` — "GET /api/v1/path" → why the tenant's own call cannot
  show any of its ids (e.g. a computed quote);
* `BODY_OVERRIDES` — "METHOD /api/v1/path" → a JSON body, when the minimal body built
  from the OpenAPI schema is not valid.
"""

import importlib
import pkgutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from django.apps import apps
from django.db.models import ForeignKey, OneToOneField, Q

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.selectors import account_descendant_ids
from chappe.accounts.services import account_create, api_key_create, service_order
from tests.conftest import ApiClient


@dataclass
class Tenant:
    label: str
    tag: str  # unique text, put in names, so leaks of this tenant's data are visible
    account: Account
    sub: Account
    client: ApiClient  # an Administrator key of `account`
    objects: dict[str, Any] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class NotTenantScoped:
    """A path parameter that is not an object id: each account reads its own."""

    value: str
    why: str


IdFactory = Callable[[Tenant], list[Any]]


def contributions() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{info.name}")
            for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)]


def _merged(attribute: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for module in contributions():
        for key, value in getattr(module, attribute, {}).items():
            if key in merged:
                raise AssertionError(f"{key!r} is registered twice in tests/tenancy ({attribute})")
            merged[key] = value
    return merged


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = _merged("PATH_PARAMS")
LISTS_WITHOUT_TENANT_DATA: dict[str, str] = _merged("LISTS_WITHOUT_TENANT_DATA")
BODY_OVERRIDES: dict[str, Any] = _merged("BODY_OVERRIDES")


def build_tenant(label: str) -> Tenant:
    """An account with services, a sub-account, an Administrator API client, and every
    app's seeded objects."""
    tag = f"{label}-{uuid.uuid4().hex[:10]}"
    account = account_create(actor=SYSTEM, name=f"Company {tag}")
    for kind in ServiceKind.values:
        service_order(actor=SYSTEM, account=account, kind=kind)
    sub = account_create(actor=SYSTEM, name=f"Sub {tag}", parent=account)
    _key, raw = api_key_create(actor=SYSTEM, account=account, name=f"client {tag}")
    tenant = Tenant(label=label, tag=tag, account=account, sub=sub, client=ApiClient(raw))
    for module in contributions():
        if hasattr(module, "seed"):
            module.seed(tenant)
    tenant.markers |= {tag} | tenant_ids(tenant)
    return tenant


def tenant_rows(tenant: Tenant) -> dict[str, list[dict[str, Any]]]:
    """Every row of every model tied to the tenant's accounts by a foreign key."""
    ids = [tenant.account.pk, *account_descendant_ids(account=tenant.account)]
    rows: dict[str, list[dict[str, Any]]] = {}
    for model in apps.get_models():
        links = [f for f in model._meta.concrete_fields
                 if isinstance(f, ForeignKey | OneToOneField) and f.related_model is Account]
        condition = Q(pk__in=ids) if model is Account else Q()
        for link in links:
            condition |= Q(**{f"{link.name}__in": ids})
        if model is Account or links:
            rows[model._meta.label] = list(model.objects.filter(condition).order_by("pk").values())
    return rows


def tenant_ids(tenant: Tenant) -> set[str]:
    """The UUID primary keys of every row of the tenant."""
    return {str(row["id"]) for model_rows in tenant_rows(tenant).values()
            for row in model_rows if isinstance(row.get("id"), uuid.UUID)}
