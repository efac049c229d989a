"""Shared fixtures: accounts, users, and API clients authenticated with real API keys."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account, ServiceKind, User
from chappe.accounts.roles import Role
from chappe.accounts.services import account_create, api_key_create, service_order


class ApiClient:
    """A Django test client that sends an API key and JSON bodies."""

    def __init__(self, raw_key: str, account_header: str | None = None) -> None:
        self.client = Client()
        self.raw_key = raw_key
        self.headers = {"Authorization": f"Bearer {raw_key}"}
        if account_header:
            self.headers["X-Account-Id"] = account_header

    def request(self, method: str, path: str, data: Any = None, **extra: Any):
        kwargs: dict[str, Any] = {"headers": {**self.headers, **extra.pop("headers", {})}}
        if data is not None:
            if method == "get":
                kwargs["data"] = data
            else:
                kwargs["data"] = data
                kwargs["content_type"] = "application/json"
        return getattr(self.client, method)(path, **kwargs, **extra)

    def get(self, path: str, data: Any = None, **extra: Any):
        return self.request("get", path, data, **extra)

    def post(self, path: str, data: Any = None, **extra: Any):
        return self.request("post", path, data, **extra)

    def patch(self, path: str, data: Any = None, **extra: Any):
        return self.request("patch", path, data, **extra)

    def delete(self, path: str, **extra: Any):
        return self.request("delete", path, None, **extra)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 is slow on purpose (~0.3 s a user); tests need no brute-force resistance."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_account(db) -> Callable[..., Account]:
    def make(name: str = "Acme", parent: Account | None = None, **fields: Any) -> Account:
        if parent is None:
            account = account_create(actor=SYSTEM, name=name, **fields)
            for kind in ServiceKind.values:
                service_order(actor=SYSTEM, account=account, kind=kind)
            return account
        return account_create(actor=SYSTEM, name=name, parent=parent, **fields)

    return make


@pytest.fixture
def account(make_account) -> Account:
    return make_account("Acme")


@pytest.fixture
def other_account(make_account) -> Account:
    return make_account("Globex")


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(account: Account, role: str = Role.ADMINISTRATOR, **fields: Any) -> User:
        email = fields.pop("email", f"user{next(counter)}@{account.pk.hex[:8]}.example")
        return User.objects.create_user(email, "correct-horse-battery-9", account=account,
                                        role=role, **fields)

    return make


@pytest.fixture
def api_for(db) -> Callable[..., ApiClient]:
    """An API client with a fresh key of `role` on `account`."""

    def make(account: Account, role: str = Role.ADMINISTRATOR, acting_on: Account | None = None):
        _key, raw = api_key_create(actor=SYSTEM, account=account, name=f"test {role}", role=role)
        return ApiClient(raw, str(acting_on.pk) if acting_on else None)

    return make


@pytest.fixture
def api(api_for, account) -> ApiClient:
    return api_for(account)


@pytest.fixture
def admin_actor(account, make_user) -> Actor:
    return Actor(account=account, user=make_user(account), ip="192.0.2.1", user_agent="pytest")
