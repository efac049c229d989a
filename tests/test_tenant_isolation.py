"""Tenant isolation (ARCHITECTURE convention 3, decision 0002): the harness.

Every operation of the `/api/v1/` API is discovered by walking the ninja API object, so an
endpoint added by a later issue is covered without touching this file — unless one of its
path parameters is new, in which case the test FAILS until a factory for it is registered
in the app's `tests/tenancy/<app>.py` (the registry; see tests/tenancy/__init__.py).

For each operation with path parameters, an Administrator of account A calls it with the
ids of account B's objects and must get 404 `not_found`, and B's rows (every model with a
foreign key to Account, audit trail included) must be unchanged. Every list endpoint (GET
without path parameters) called by A must not mention any of B's ids or planted markers.

Positive controls make each check able to fail: the same operation with A's own ids is
not a 404, and B's own list calls do show B's markers.
"""

import functools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import ApiKey, User
from chappe.accounts.services import account_create
from chappe.api.v1 import api
from tests.conftest import ApiClient
from tests.tenancy import (
    BODY_OVERRIDES,
    LISTS_WITHOUT_TENANT_DATA,
    PATH_PARAMS,
    IdFactory,
    NotTenantScoped,
    Tenant,
    tenant_rows,
)

API_PREFIX = "/api/v1"
WRITE_METHODS = {"POST", "PUT", "PATCH"}


# --- discovering the API ---------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # with the API prefix, ninja notation: /api/v1/users/{user_id}

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[str]:
        return re.findall(r"\{(?:[^{}:]+:)?([^{}:]+)\}", self.path)

    def url(self, values: dict[str, Any]) -> str:
        return re.sub(r"\{(?:[^{}:]+:)?([^{}:]+)\}", lambda m: str(values[m.group(1)]),
                      self.path)


def _join(*parts: str) -> str:
    return "/" + "/".join(p.strip("/") for p in parts if p.strip("/"))


def discover_operations() -> list[Operation]:
    """Every (path, method) of the API, from its mounted routers' path operations."""
    if hasattr(api, "_get_bound_routers"):  # django-ninja ≥ 1.5
        mounted = [(r.prefix, r.path_operations) for r in api._get_bound_routers()]
    else:  # pragma: no cover - older ninja
        mounted = [(prefix, r.path_operations) for prefix, r in api._routers]
    found = set()
    for prefix, path_operations in mounted:
        for path, path_view in path_operations.items():
            for operation in path_view.operations:
                for method in operation.methods:
                    found.add(Operation(method.upper(), _join(API_PREFIX, prefix, path)))
    return sorted(found, key=lambda op: (op.path, op.method))


OPERATIONS = discover_operations()
WITH_PARAMS = [op for op in OPERATIONS if op.params]
LISTS = [op for op in OPERATIONS if op.method == "GET" and not op.params]


@functools.cache
def _openapi() -> dict[str, Any]:
    return api.get_openapi_schema(path_prefix=API_PREFIX + "/")


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_resolve(part, spec))
        return merged
    for key in ("anyOf", "oneOf"):
        if key in schema:
            choices = [c for c in schema[key] if c.get("type") != "null"]
            return _resolve(choices[0], spec)
    return schema


def minimal_value(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """The smallest value a JSON schema accepts (required properties only)."""
    schema = _resolve(schema, spec)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: minimal_value(properties[name], spec) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal_value(schema.get("items", {}), spec)] * schema.get("minItems", 0)
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "binary":
            return SimpleUploadedFile("file.txt", b"x")
        if fmt == "email":
            return f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        if fmt == "uuid":
            return str(uuid.uuid4())
        if fmt == "date-time":
            return datetime.now(UTC).isoformat()
        if fmt == "date":
            return datetime.now(UTC).date().isoformat()
        return "x" * max(schema.get("minLength", 1), 1)
    return None


def request_for(op: Operation) -> tuple[dict[str, Any], Any, str | None]:
    """(query parameters, body, content type) of a minimal valid call of `op`."""
    spec = _openapi()
    details = spec["paths"][op.path][op.method.lower()]
    query = {p["name"]: minimal_value(p.get("schema", {}), spec)
             for p in details.get("parameters", []) if p["in"] == "query" and p.get("required")}
    if op.id in BODY_OVERRIDES:
        return query, BODY_OVERRIDES[op.id], "application/json"
    content = details.get("requestBody", {}).get("content", {})
    if op.method not in WRITE_METHODS or not content:
        return query, None, None
    if "application/json" in content:
        return query, minimal_value(content["application/json"]["schema"], spec), \
            "application/json"
    media = next(iter(content))
    return query, minimal_value(content[media]["schema"], spec), None  # multipart form


def call(client: ApiClient, op: Operation, values: dict[str, Any],
         headers: dict[str, str] | None = None):
    """Call `op` with a minimal valid request, as `client`."""
    query, body, content_type = request_for(op)
    kwargs: dict[str, Any] = {"headers": {**client.headers, **(headers or {})},
                              "query_params": query or None}
    if body is not None and content_type == "application/json":
        kwargs.update(data=json.dumps(body), content_type=content_type)
    elif body is not None:
        kwargs.update(data=encode_multipart(BOUNDARY, body), content_type=MULTIPART_CONTENT)
    return client.client.generic(op.method, op.url(values), **kwargs)


def text_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def param_values(op: Operation, tenant: Tenant) -> list[dict[str, Any]]:
    """The path-parameter values to try: each registered id of the tenant in turn. Fails
    the test when a parameter is not registered."""
    factories: dict[str, IdFactory] = {}
    fixed: dict[str, Any] = {}
    for name in op.params:
        entry = PATH_PARAMS.get(name)
        if entry is None:
            pytest.fail(
                f"{op.id}: path parameter {name!r} has no entry in PATH_PARAMS. Register it "
                f"in tests/tenancy/<app>.py (see tests/tenancy/__init__.py): a factory "
                f"returning the ids of a tenant's {name} objects, seeded by that module's "
                f"seed(), so the harness can check that another account gets 404 — or "
                f"NotTenantScoped(value, why) if it is not an object id."
            )
        if isinstance(entry, NotTenantScoped):
            fixed[name] = entry.value
        else:
            factories[name] = entry
    ids = {name: factory(tenant) for name, factory in factories.items()}
    rounds = max((len(v) for v in ids.values()), default=1)
    return [{**fixed, **{name: v[i % len(v)] for name, v in ids.items()}} for i in range(rounds)]


# --- the harness -----------------------------------------------------------------------


def test_discovery_matches_the_openapi_schema():
    """The router walk finds exactly the operations the API publishes (and is not empty)."""
    published = {
        (method.upper(), path)
        for path, methods in _openapi()["paths"].items()
        for method in methods
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert {(op.method, op.path) for op in OPERATIONS} == published
    assert {"GET /api/v1/users/{user_id}", "DELETE /api/v1/api-keys/{key_id}",
            "PATCH /api/v1/subaccounts/{subaccount_id}", "GET /api/v1/audit-log"} <= {
        op.id for op in OPERATIONS}


def test_an_unregistered_path_parameter_fails_with_instructions(tenant_b):
    new_endpoint = Operation("GET", "/api/v1/widgets/{widget_id}")
    with pytest.raises(pytest.fail.Exception, match=r"'widget_id' has no entry in PATH_PARAMS"):
        param_values(new_endpoint, tenant_b)


@pytest.mark.parametrize("op", WITH_PARAMS, ids=lambda op: op.id)
def test_other_accounts_ids_answer_404_and_change_nothing(op, tenant_a, tenant_b):
    scoped = [name for name in op.params if not isinstance(PATH_PARAMS.get(name),
                                                            NotTenantScoped)]
    for values in param_values(op, tenant_b):
        before = tenant_rows(tenant_b)
        response = call(tenant_a.client, op, values)
        if scoped:
            assert response.status_code == 404, (
                f"{op.id} by account A with B's {values} answered {response.status_code}: "
                f"{response.content[:300]!r}"
            )
            assert response.json()["error"]["code"] == "not_found"
        else:
            # Only non-id parameters: A works on its own object; B must not be touched.
            assert response.status_code < 500, response.content
        assert tenant_rows(tenant_b) == before, f"{op.id} with {values} changed account B"


@pytest.mark.parametrize("op", WITH_PARAMS, ids=lambda op: op.id)
def test_own_ids_reach_the_object(op, tenant_a):
    """Positive control: the very call that must 404 for B's ids works on A's own."""
    values = param_values(op, tenant_a)[0]
    response = call(tenant_a.client, op, values)
    # The seed suspends A's contact-center service: a refusal for that reason came after
    # the lookup of A's object, so it reached it too.
    suspended = response.status_code == 403 \
        and response.json()["error"]["code"] == "service_suspended"
    assert response.status_code in (200, 201, 204, 409) or suspended, (
        f"{op.id} with A's own {values} answered {response.status_code}: "
        f"{response.content[:300]!r} — fix the factory or add a BODY_OVERRIDES entry"
    )


@pytest.mark.parametrize("op", LISTS, ids=lambda op: op.id)
def test_lists_never_show_another_accounts_objects(op, tenant_a, tenant_b):
    response = call(tenant_a.client, op, {})
    assert response.status_code == 200, text_of(response)[:300]
    text = text_of(response)
    leaked = sorted(marker for marker in tenant_b.markers if marker in text)
    assert not leaked, f"{op.id} for account A shows account B's {leaked}"

    # Positive control: B's own call shows B's data, so the check above can fail.
    own = text_of(call(tenant_b.client, op, {}))
    if op.id not in LISTS_WITHOUT_TENANT_DATA:
        assert any(marker in own for marker in tenant_b.markers), (
            f"B's own {op.id} shows none of B's objects, so isolation is untested: seed "
            f"B's data for it in build_tenant(), or list it in LISTS_WITHOUT_TENANT_DATA"
        )


# --- sub-accounts ------------------------------------------------------------------------


def test_a_sub_account_cannot_reach_its_parent(tenant_a, make_account, api_for):
    sub_client = api_for(tenant_a.sub)
    parent_id = str(tenant_a.account.pk)

    response = sub_client.get("/api/v1/account", headers={"X-Account-Id": parent_id})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

    response = sub_client.get(f"/api/v1/subaccounts/{parent_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

    response = sub_client.patch(f"/api/v1/subaccounts/{parent_id}", {"city": "Lyon"})
    assert response.status_code == 404
    tenant_a.account.refresh_from_db()
    assert tenant_a.account.city == ""

    response = sub_client.get(f"/api/v1/users/{tenant_a.objects["admin"].pk}")
    assert response.status_code == 404


def test_siblings_cannot_see_each_other(tenant_a, api_for):
    sibling = account_create(actor=SYSTEM, name="Sibling", parent=tenant_a.account)
    sibling_user = User.objects.create_user("sib@example.com", "correct-horse-battery-9",
                                            account=sibling)
    client = api_for(tenant_a.sub)

    assert client.get("/api/v1/account",
                      headers={"X-Account-Id": str(sibling.pk)}).status_code == 404
    assert client.get(f"/api/v1/subaccounts/{sibling.pk}").status_code == 404
    assert client.get(f"/api/v1/users/{sibling_user.pk}").status_code == 404
    listed = client.get("/api/v1/subaccounts")
    assert listed.status_code == 200
    assert str(sibling.pk) not in listed.content.decode()
    # Control: the parent does see the sibling.
    assert str(sibling.pk) in tenant_a.client.get("/api/v1/subaccounts").content.decode()


def test_a_parent_acts_on_its_sub_account_with_x_account_id(tenant_a):
    as_sub = {"X-Account-Id": str(tenant_a.sub.pk)}
    client = tenant_a.client

    response = client.get("/api/v1/account", headers=as_sub)
    assert response.status_code == 200
    assert response.json()["id"] == str(tenant_a.sub.pk)

    users = client.get("/api/v1/users", headers=as_sub).json()["items"]
    assert [u["id"] for u in users] == [str(tenant_a.objects["sub_user"].pk)]

    response = client.patch("/api/v1/account", {"city": "Nantes"}, headers=as_sub)
    assert response.status_code == 200
    tenant_a.sub.refresh_from_db()
    tenant_a.account.refresh_from_db()
    assert (tenant_a.sub.city, tenant_a.account.city) == ("Nantes", "")

    response = client.post("/api/v1/api-keys", {"name": "for the sub"}, headers=as_sub)
    assert response.status_code == 201
    assert ApiKey.objects.get(pk=response.json()["id"]).account_id == tenant_a.sub.pk


def test_a_parent_reaches_sub_accounts_at_any_depth(tenant_a):
    grandchild = account_create(actor=SYSTEM, name="Grandchild", parent=tenant_a.sub)
    response = tenant_a.client.get("/api/v1/account",
                                   headers={"X-Account-Id": str(grandchild.pk)})
    assert response.status_code == 200
    assert response.json()["id"] == str(grandchild.pk)
    assert tenant_a.client.get(f"/api/v1/subaccounts/{grandchild.pk}").status_code == 200


@pytest.mark.parametrize("target", ["b", "b-sub", "garbage", "random-uuid"])
def test_x_account_id_outside_the_tree_is_404(tenant_a, tenant_b, target):
    value = {"b": str(tenant_b.account.pk), "b-sub": str(tenant_b.sub.pk),
             "garbage": "not-a-uuid", "random-uuid": str(uuid.uuid4())}[target]
    response = tenant_a.client.get("/api/v1/users", headers={"X-Account-Id": value})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert str(tenant_b.objects["admin"].pk) not in response.content.decode()
