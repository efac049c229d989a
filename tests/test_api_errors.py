"""The API's one error shape `{"error": {"code", "message", "details"}}` (ARCHITECTURE
convention 2), its status codes, and the published OpenAPI schema and docs."""

import json
import re
import uuid

import pytest
from django.http import Http404
from django.test import Client, RequestFactory

from chappe.accounts.roles import Role
from chappe.api.v1 import api as ninja_api
from tests.conftest import ApiClient


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/nope", "/api/v1/account/nope/deeper",
                                  f"/api/v1/users/{uuid.uuid4()}/sessions"])
def test_unknown_api_paths_are_404_in_the_error_shape(api, path):
    assert_error(api.get(path), 404, "not_found")
    assert_error(api.post(path, {}), 404, "not_found")
    assert_error(Client().get(path), 404, "not_found")


def test_a_body_that_is_not_json_is_a_validation_error(api):
    response = api.client.post("/api/v1/subaccounts", data="{name: oops",
                               content_type="application/json", headers=api.headers)
    error = assert_error(response, 400, "validation_error")
    assert list(error["details"]) == ["body"]


def test_missing_and_mistyped_fields_are_listed(api):
    error = assert_error(api.post("/api/v1/subaccounts", {}), 400, "validation_error")
    assert list(error["details"]) == ["name"]
    assert error["details"]["name"]

    error = assert_error(api.post("/api/v1/api-keys", {"name": ["x"], "role": "king"}), 400,
                         "validation_error")
    assert set(error["details"]) == {"name", "role"}


def test_bad_query_parameters_are_listed(api):
    error = assert_error(api.get("/api/v1/users", {"limit": "many"}), 400, "validation_error")
    assert any("limit" in key for key in error["details"])
    error = assert_error(api.get("/api/v1/audit-log", {"since": "yesterday"}), 400,
                         "validation_error")
    assert any("since" in key for key in error["details"])


def test_401_403_404_are_distinct(account, api_for, make_user):
    someone = make_user(account, Role.AGENT)
    missing = uuid.uuid4()
    admin = api_for(account)
    agent = api_for(account, Role.AGENT)

    # No credentials: 401 before anything else, even for an object that does not exist.
    for path in ("/api/v1/users", f"/api/v1/users/{missing}"):
        response = Client().get(path)
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == 'Bearer realm="chappe"'

    # Authenticated but the role does not allow it: 403, without a WWW-Authenticate.
    response = agent.get("/api/v1/users")
    error = assert_error(response, 403, "permission_denied")
    assert error["details"] == {"permission": "users.view"}
    assert "WWW-Authenticate" not in response
    assert_error(agent.get(f"/api/v1/users/{someone.pk}"), 403, "permission_denied")

    # Allowed, but no such object in this account: 404.
    assert_error(admin.get(f"/api/v1/users/{missing}"), 404, "not_found")
    assert_error(admin.get("/api/v1/users/not-a-uuid"), 404, "not_found")
    assert admin.get(f"/api/v1/users/{someone.pk}").status_code == 200


def test_conflicts_are_409(api):
    assert api.post("/api/v1/services", {"kind": "messaging"}).status_code == 409
    assert_error(api.post("/api/v1/services", {"kind": "messaging"}), 409, "conflict")


def test_http404_raised_by_a_view_keeps_the_shape(db):
    request = RequestFactory().get("/api/v1/whatever")
    assert_error(ninja_api.on_exception(request, Http404("gone")), 404, "not_found")


def test_unexpected_errors_are_500_without_internals(db, caplog):
    request = RequestFactory().get("/api/v1/whatever")
    try:
        raise RuntimeError("db password is hunter2")
    except RuntimeError as exc:  # as in ninja's Operation.run
        response = ninja_api.on_exception(request, exc)
    assert_error(response, 500, "internal_error")
    assert b"hunter2" not in response.content
    assert "hunter2" in caplog.text  # logged for the operator, not shown to the client


# --- OpenAPI and docs ---------------------------------------------------------------------


def test_the_openapi_schema_lists_the_endpoints(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Chappe API"
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/account", "get"), ("/api/v1/account", "patch"),
        ("/api/v1/subaccounts", "post"), ("/api/v1/subaccounts/{subaccount_id}", "delete"),
        ("/api/v1/users/{user_id}", "patch"), ("/api/v1/invitations", "post"),
        ("/api/v1/api-keys", "post"), ("/api/v1/api-keys/{key_id}", "delete"),
        ("/api/v1/services", "post"), ("/api/v1/services/{kind}", "delete"),
        ("/api/v1/audit-log", "get"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} missing from OpenAPI"
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"http", "apiKey"}
    # The created key's secret is documented as returned once.
    assert "key" in schema["components"]["schemas"]["ApiKeyCreated"]["properties"]


def test_api_docs_redirect_to_the_interactive_docs(db):
    response = Client().get("/api/docs")
    assert response.status_code in (301, 302)
    assert response["Location"] == "/api/v1/docs"
    docs = Client().get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"openapi.json" in docs.content
    # Offline: Swagger UI comes from our own static files, never from a CDN.
    page = docs.content.decode()
    assert "cdn." not in page
    assert "https://" not in page
    bundle = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', page).group(1)
    served = Client().get(bundle)
    assert served.status_code == 200
    assert b"SwaggerUIBundle" in b"".join(served.streaming_content)


def test_a_method_an_endpoint_does_not_take_is_405_in_the_error_shape(api):
    response = api.request("put", "/api/v1/account", {})
    error = assert_error(response, 405, "method_not_allowed")
    assert set(error["details"]["allowed"]) >= {"GET", "PATCH"}
    assert "GET" in response["Allow"]


def test_wrong_api_keys_from_one_address_are_throttled_then_a_right_key_clears_it(
        monkeypatch, api_for, account):
    from chappe.api.v1 import base
    from chappe.common.throttle import FailureThrottle

    now = [0.0]
    monkeypatch.setattr(base, "KEY_THROTTLE", FailureThrottle(
        free=base.KEY_FAILURES_FREE, base=1.0, cap=60.0, clock=lambda: now[0]))
    wrong = ApiClient("chp_000000000000_not-a-key")
    for _attempt in range(base.KEY_FAILURES_FREE):
        assert wrong.get("/api/v1/account").status_code == 401
    refused = wrong.get("/api/v1/account")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_attempts"
    assert refused["Retry-After"] == "1"
    right = api_for(account)
    assert right.get("/api/v1/account").status_code == 429  # the address waits, whoever
    now[0] += 1.0
    assert right.get("/api/v1/account").status_code == 200
    assert wrong.get("/api/v1/account").status_code == 401  # cleared: counted afresh
