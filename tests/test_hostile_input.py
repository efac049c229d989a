"""Every input from the network is hostile (chappe/api/hostile_input.py): NUL bytes,
huge numbers, out-of-range UTC offsets and oversized bodies get a clear 400/413 in the
one error shape on every endpoint — never a 500 from the database."""

import json

import pytest
from django.test import Client

from chappe.api.v1 import api as ninja_api
from tests.test_api_errors import assert_error


def _operations() -> list[tuple[str, dict]]:
    """Every GET of the API with no path and no required query parameter."""
    schema = json.loads(Client().get("/api/v1/openapi.json").content)
    return [(path, operation) for path, methods in schema["paths"].items()
            for method, operation in methods.items() if method == "get" and "{" not in path
            and not any(p.get("required") for p in operation.get("parameters", []))]


def _paginated() -> list[str]:
    return sorted(path for path, operation in _operations()
                  if any(p["name"] == "offset" for p in operation.get("parameters", [])))


def _text_filters() -> list[tuple[str, str]]:
    return sorted((path, p["name"]) for path, operation in _operations()
                  for p in operation.get("parameters", [])
                  if p.get("in") == "query" and p["name"] not in ("limit", "offset")
                  and "string" in json.dumps(p.get("schema", {}))
                  and "date-time" not in json.dumps(p.get("schema", {}))
                  and "enum" not in json.dumps(p.get("schema", {})))


@pytest.fixture(scope="module")
def paginated(django_db_blocker) -> list[str]:
    with django_db_blocker.unblock():
        return _paginated()


def test_every_list_is_found():
    assert ninja_api  # the schema is built from the mounted routers
    assert len(_paginated()) >= 20


def test_an_offset_beyond_64_bits_is_refused_on_every_list(api, paginated):
    for path in paginated:
        error = assert_error(api.get(path, {"offset": 2**63}), 400, "validation_error")
        assert "offset" in error["details"], path
    assert api.get(paginated[0], {"offset": 2**63 - 1}).status_code == 200


def test_nul_in_any_text_filter_is_refused(api):
    filters = _text_filters()
    assert len(filters) >= 5
    for path, name in filters:
        response = api.get(path, {name: "a\x00b"})
        error = assert_error(response, 400, "validation_error")
        assert name in error["details"], (path, name)


def test_nul_in_a_body_is_refused_and_names_the_field(api, account):
    error = assert_error(api.post("/api/v1/subaccounts", {"name": "Acme\x00"}), 400,
                         "validation_error")
    assert error["details"] == {"name": ["Text may not contain the NUL character."]}
    error = assert_error(api.post("/api/v1/sms", {"recipients": ["+33600000001", "0\x006"],
                                                  "text": "Hi", "sender": "Chappe"}),
                         400, "validation_error")
    assert list(error["details"]) == ["recipients.1"]


@pytest.mark.parametrize(("send_at", "status"), [
    ("2030-01-08T10:00:00+16:00", 400), ("2030-01-08T10:00:00-23:59", 400),
    ("2030-01-08T10:00:00+25:00", 400)])
def test_a_utc_offset_beyond_15_59_is_refused(api, send_at, status):
    response = api.post("/api/v1/sms", {"recipients": ["+33600000001"], "text": "Hi",
                                        "sender": "Chappe", "send_at": send_at})
    assert_error(response, status, "validation_error")
    error = assert_error(api.get("/api/v1/audit-log", {"since": "2030-01-08T10:00:00+20:00"}),
                         400, "validation_error")
    assert "since" in error["details"]


def test_a_body_over_the_limit_is_413(api, settings):
    body = json.dumps({"recipients": ["+33600000001"], "text": "x" * 3_000_000,
                       "sender": "Chappe"})
    response = api.client.post("/api/v1/sms", data=body, content_type="application/json",
                               headers=api.headers)
    error = assert_error(response, 413, "payload_too_large")
    assert error["details"]["limit_bytes"] == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_huge_numbers_in_a_body_are_refused(api):
    error = assert_error(api.post("/api/v1/sms", {"recipients": ["+33600000001"], "text": "Hi",
                                                  "sender": "Chappe", "max_segments": 10**30}),
                         400, "validation_error")
    assert "max_segments" in error["details"]
