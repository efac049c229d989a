"""Shared fixtures: accounts, users, and API clients authenticated with real API keys;
the `tools` marker for tests that need a program from Debian."""

import os
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account, ServiceKind, User
from chappe.accounts.roles import Role
from chappe.accounts.services import account_create, api_key_create, service_order

# Programs a test may need, and the Debian package `scripts/test` installs them from.
TOOL_PACKAGES = {"sipp": "sip-tester", "espeak-ng": "espeak-ng", "sox": "sox",
                 "chromium": "chromium", "bearerbox": "kannel", "smsbox": "kannel",
                 "baresip": "baresip"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "tools(*names): the test needs these programs (sipp, espeak-ng, sox, "
        "chromium, bearerbox, smsbox, baresip); skipped without them, but a failure when CI is set")


def missing_tools(*names: str) -> list[str]:
    return [name for name in names if shutil.which(name) is None]


def require_tools(*names: str) -> None:
    """Skip the running test without these programs, or fail it in CI: a missing tool must
    never make a suite vanish while CI stays green."""
    if missing := missing_tools(*names):
        message = (f"{', '.join(missing)} missing (scripts/test installs "
                   f"{', '.join(TOOL_PACKAGES.get(name, name) for name in missing)})")
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("tools"):
        require_tools(*marker.args)


# The only skips CI accepts: a test that needs the other database of the two passes.
EXPECTED_SKIPS = ("PostgreSQL", "embedded default")
_unexpected_skips: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple)
                     else report.longrepr)
        if not any(expected in reason for expected in EXPECTED_SKIPS):
            _unexpected_skips.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a test skipped for any other reason (a missing tool, a forgotten skipif)
    fails the run: nothing may vanish from the suite while CI stays green."""
    if os.environ.get("CI") and _unexpected_skips and exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("Skipped in CI, which only PostgreSQL/SQLite-only tests may be:",
                                red=True)
            for line in _unexpected_skips:
                reporter.write_line(f"  {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


@pytest.fixture(autouse=True)
def _fresh_key_throttle(monkeypatch):
    """Each test starts with no failed API keys on record (the back-off is per process)."""
    from chappe.api.v1 import base
    from chappe.common.throttle import FailureThrottle

    monkeypatch.setattr(base, "KEY_THROTTLE", FailureThrottle(
        free=base.KEY_FAILURES_FREE, base=1.0, cap=60.0))


@pytest.fixture(autouse=True)
def _one_launch_lane(settings):
    """A campaign launch in one lane, in the test's own thread and transaction: lanes in
    threads of their own need committed data (`tests/campaigns/test_launch_lanes.py`
    and the kill test of a real worker run them)."""
    settings.CHAPPE_LAUNCH_LANES = 1


@pytest.fixture
def tenant_a(db):
    """The first of two accounts the tenant-isolation tests set against each other."""
    from tests.tenancy import build_tenant

    return build_tenant("a")


@pytest.fixture
def tenant_b(db):
    from tests.tenancy import build_tenant

    return build_tenant("b")


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
