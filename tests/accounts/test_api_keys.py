"""API keys (P-3): shown once, stored hashed, revocable, audited (P-13)."""

import hashlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from chappe.accounts.models import ApiKey
from chappe.audit.models import AuditEntry
from tests.conftest import ApiClient

FROM = {"REMOTE_ADDR": "203.0.113.9", "headers": {"User-Agent": "integration-test/1.0"}}


@pytest.fixture
def created(api):
    response = api.post("/api/v1/api-keys", {"name": "CI", "role": "messaging_user"}, **FROM)
    assert response.status_code == 201, response.content
    return response.json()


def _secret_part(raw: str) -> str:
    return raw.split("_", 2)[2]


def test_create_returns_the_secret_once(api, created):
    raw = created["key"]
    assert raw.startswith("chp_")
    assert created["prefix"] == raw[:16]
    assert created["role"] == "messaging_user"
    assert len(_secret_part(raw)) >= 40

    one = api.get(f"/api/v1/api-keys/{created['id']}")
    listed = api.get("/api/v1/api-keys")
    for response in (one, listed):
        assert response.status_code == 200
        assert raw not in response.content.decode()
        assert _secret_part(raw) not in response.content.decode()
    assert "key" not in one.json()
    assert one.json()["prefix"] == created["prefix"]
    assert created["id"] in listed.content.decode()


def test_only_a_hash_is_stored(created):
    raw = created["key"]
    key = ApiKey.objects.get(pk=created["id"])
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    # Nowhere in the database — keys, audit trail, job queue — is the secret kept.
    secret = _secret_part(raw)
    for model in apps.get_models():
        for row in model.objects.values():
            for column, value in row.items():
                assert secret not in str(value), f"{model._meta.label}.{column} holds the key"


@pytest.mark.parametrize("scheme", ["bearer", "x-api-key"])
def test_the_key_authenticates_and_records_its_use(created, account, scheme):
    raw = created["key"]
    headers = {"Authorization": f"Bearer {raw}"} if scheme == "bearer" else {"X-Api-Key": raw}
    assert ApiKey.objects.get(pk=created["id"]).last_used_at is None

    response = Client().get("/api/v1/account", headers=headers)

    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(account.pk)
    used = ApiKey.objects.get(pk=created["id"]).last_used_at
    assert used is not None
    assert timezone.now() - used < timedelta(seconds=30)


def test_last_use_is_written_at_most_once_a_minute(created):
    client = ApiClient(created["key"])
    long_ago = timezone.now() - timedelta(minutes=5)
    ApiKey.objects.filter(pk=created["id"]).update(last_used_at=long_ago)

    assert client.get("/api/v1/account").status_code == 200
    first = ApiKey.objects.get(pk=created["id"]).last_used_at
    assert first > long_ago
    assert client.get("/api/v1/account").status_code == 200
    assert ApiKey.objects.get(pk=created["id"]).last_used_at == first


def test_a_revoked_key_answers_401(api, created):
    raw = created["key"]
    assert ApiClient(raw).get("/api/v1/account").status_code == 200

    response = api.delete(f"/api/v1/api-keys/{created['id']}")
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None

    for headers in ({"Authorization": f"Bearer {raw}"}, {"X-Api-Key": raw}):
        response = Client().get("/api/v1/account", headers=headers)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["error"]["code"] == "not_authenticated"

    again = api.delete(f"/api/v1/api-keys/{created['id']}")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def _tamper(raw: str) -> str:
    last = raw[-1]
    return raw[:-1] + ("A" if last != "A" else "B")


@pytest.mark.parametrize(
    "make_header",
    [
        lambda raw: {},
        lambda raw: {"Authorization": "Bearer "},
        lambda raw: {"Authorization": "Bearer garbage"},
        lambda raw: {"Authorization": "Bearer chp_"},
        lambda raw: {"Authorization": f"Bearer {raw[:16]}"},
        lambda raw: {"Authorization": f"Bearer {raw[:16]}x{_secret_part(raw)}"},
        lambda raw: {"Authorization": f"Bearer {_tamper(raw)}"},
        lambda raw: {"Authorization": "Bearer chp_00000000_" + "A" * 43},
        lambda raw: {"Authorization": f"Basic {raw}"},
        lambda raw: {"X-Api-Key": _tamper(raw)},
        lambda raw: {"X-Api-Key": _secret_part(raw)},
    ],
    ids=["none", "empty", "garbage", "prefix-only-chp", "prefix-only", "bad-separator",
         "tampered", "unknown", "basic-scheme", "x-api-key-tampered", "secret-without-prefix"],
)
def test_malformed_or_unknown_keys_answer_401(created, make_header):
    response = Client().get("/api/v1/account", headers=make_header(created["key"]))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert "WWW-Authenticate" in response


def test_create_and_revoke_are_audited_with_actor_ip_and_user_agent(api, account, created):
    acting_key = ApiKey.objects.get(prefix=api.raw_key[:16])
    assert api.delete(f"/api/v1/api-keys/{created['id']}", **FROM).status_code == 200

    for action in ("api_key.create", "api_key.revoke"):
        entry = AuditEntry.objects.get(action=action, target_id=created["id"])
        assert entry.account_id == account.pk
        assert entry.actor_api_key_id == acting_key.pk
        assert entry.actor_label == f"api-key:{acting_key.prefix}"
        assert entry.ip == "203.0.113.9"
        assert entry.user_agent == "integration-test/1.0"
        assert entry.target_type == "accounts.apikey"
        assert entry.details["prefix"] == created["prefix"]

    # The audit log shows them to the account's administrator.
    log = api.get("/api/v1/audit-log", {"action": "api_key."}).json()["items"]
    assert [e["action"] for e in log if e["target_id"] == created["id"]] == [
        "api_key.revoke", "api_key.create"]
