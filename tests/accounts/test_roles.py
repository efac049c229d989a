"""The role matrix (P-3, C-7), cell by cell.

The expectations below are written out by hand from the spec, NOT computed from
`ROLE_PERMISSIONS`, so a wrong permission map is caught here:

* Administrator: everything in the account (P-3).
* Supervisor: supervises agents and statistics, manages call flows (C-7) — so it sees the
  account's users, but manages neither users, keys, sub-accounts, services, billing nor
  numbers (buying or releasing one is billed).
* Agent: places and takes calls (C-7).
* Messaging user: sends messages and manages contacts (P-3).
Every role may read the account it works on and the services ordered on it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account, ApiKey, Service, ServiceKind, User
from chappe.accounts.roles import ROLE_PERMISSIONS, Perm, Role, role_allows
from chappe.accounts.services import account_create, api_key_create
from chappe.audit.models import AuditEntry

ADMIN, SUPERVISOR, AGENT, MESSAGING = (
    "administrator", "supervisor", "agent", "messaging_user",
)
ROLES = [ADMIN, SUPERVISOR, AGENT, MESSAGING]
EVERYONE = {ADMIN, SUPERVISOR, AGENT, MESSAGING}

# --- role → permissions, by hand --------------------------------------------------------

EXPECTED_PERMISSIONS: dict[str, set[str]] = {
    ADMIN: {
        "account.view", "account.manage", "subaccounts.manage", "users.view", "users.manage",
        "api_keys.manage", "services.view", "services.manage", "audit.view", "billing.view",
        "billing.manage", "messaging.send", "messaging.view", "contacts.manage",
        "calls.handle", "call_flows.manage", "numbers.manage", "agents.supervise",
        "licences.manage", "statistics.view",
    },
    SUPERVISOR: {
        "account.view", "services.view", "users.view", "calls.handle", "call_flows.manage",
        "agents.supervise", "statistics.view",
    },
    AGENT: {"account.view", "services.view", "calls.handle"},
    MESSAGING: {
        "account.view", "services.view", "messaging.send", "messaging.view", "contacts.manage",
    },
}
ALL_PERMISSIONS = set().union(*EXPECTED_PERMISSIONS.values())


def test_the_table_names_every_role_and_permission():
    """A new role or permission must be added to the table above, deliberately."""
    assert set(Role.values) == set(EXPECTED_PERMISSIONS)
    assert {p.value for p in Perm} == ALL_PERMISSIONS


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("perm", sorted(ALL_PERMISSIONS))
def test_role_allows_cell(role, perm):
    assert role_allows(role, Perm(perm)) is (perm in EXPECTED_PERMISSIONS[role])


def test_role_permissions_map_matches_the_table():
    assert {r.value: {p.value for p in perms} for r, perms in ROLE_PERMISSIONS.items()} == \
        EXPECTED_PERMISSIONS


# --- role x API action ------------------------------------------------------------------


@dataclass
class World:
    account: Account
    sub: Account
    target_user: User
    spare_key: ApiKey


@dataclass(frozen=True)
class Action:
    method: str
    path: Callable[[World], str]
    body: Callable[[World], Any] = lambda w: None
    prepare: Callable[[World], None] = lambda w: None
    headers: Callable[[World], dict[str, str]] = lambda w: {}
    # A write is audited (P-13); a denial writes nothing.
    audited: bool = False


def _drop_contact_center(world: World) -> None:
    Service.objects.filter(account=world.account, kind=ServiceKind.CONTACT_CENTER).delete()


ACTIONS: dict[str, Action] = {
    "account.read": Action("get", lambda w: "/api/v1/account"),
    "account.patch": Action("patch", lambda w: "/api/v1/account", lambda w: {"city": "Lyon"},
                            audited=True),
    "subaccounts.list": Action("get", lambda w: "/api/v1/subaccounts"),
    "subaccounts.create": Action("post", lambda w: "/api/v1/subaccounts",
                                 lambda w: {"name": "New sub"}, audited=True),
    "users.list": Action("get", lambda w: "/api/v1/users"),
    "users.patch": Action("patch", lambda w: f"/api/v1/users/{w.target_user.pk}",
                          lambda w: {"first_name": "Renamed"}, audited=True),
    "invitations.create": Action("post", lambda w: "/api/v1/invitations",
                                 lambda w: {"email": "new@example.com", "role": "agent"},
                                 audited=True),
    "api_keys.list": Action("get", lambda w: "/api/v1/api-keys"),
    "api_keys.create": Action("post", lambda w: "/api/v1/api-keys", lambda w: {"name": "ci"},
                              audited=True),
    "api_keys.revoke": Action("delete", lambda w: f"/api/v1/api-keys/{w.spare_key.pk}",
                              audited=True),
    "services.list": Action("get", lambda w: "/api/v1/services"),
    "services.order": Action("post", lambda w: "/api/v1/services",
                             lambda w: {"kind": "contact_center"}, prepare=_drop_contact_center,
                             audited=True),
    "audit_log.read": Action("get", lambda w: "/api/v1/audit-log"),
    # Working on a sub-account through X-Account-Id is managing it (P-2).
    "subaccount.act_on": Action("get", lambda w: "/api/v1/account",
                                headers=lambda w: {"X-Account-Id": str(w.sub.pk)}),
    # Contact center (C-7, C-8): supervisors manage agents and queues, agents read the
    # pause reasons they pick from, licences are billed (the administrator's).
    "agents.list": Action("get", lambda w: "/api/v1/agents"),
    "queues.create": Action("post", lambda w: "/api/v1/queues", lambda w: {"name": "Sales"},
                            audited=True),
    "pause_reasons.list": Action("get", lambda w: "/api/v1/pause-reasons"),
    "queue_events.read": Action("get", lambda w: "/api/v1/queue-events"),
    # 0: no licence to pay for from credit (the permission is what this checks).
    "licences.update": Action("put", lambda w: "/api/v1/licences", lambda w: {"licences": 0},
                              audited=True),
}

ALLOWED: dict[str, set[str]] = {
    "account.read": EVERYONE,
    "account.patch": {ADMIN},
    "subaccounts.list": {ADMIN},
    "subaccounts.create": {ADMIN},
    "users.list": {ADMIN, SUPERVISOR},
    "users.patch": {ADMIN},
    "invitations.create": {ADMIN},
    "api_keys.list": {ADMIN},
    "api_keys.create": {ADMIN},
    "api_keys.revoke": {ADMIN},
    "services.list": EVERYONE,
    "services.order": {ADMIN},
    "audit_log.read": {ADMIN},
    "subaccount.act_on": {ADMIN},
    "agents.list": {ADMIN, SUPERVISOR},
    "queues.create": {ADMIN, SUPERVISOR},
    "pause_reasons.list": {ADMIN, SUPERVISOR, AGENT},
    "queue_events.read": {ADMIN, SUPERVISOR},
    "licences.update": {ADMIN},
}


def test_every_action_has_an_expectation():
    assert set(ACTIONS) == set(ALLOWED)


@pytest.fixture
def world(account, make_user) -> World:
    sub = account_create(actor=SYSTEM, name="Sub", parent=account)
    make_user(account, Role.ADMINISTRATOR)
    target = make_user(account, Role.SUPERVISOR)
    spare, _ = api_key_create(actor=SYSTEM, account=account, name="spare")
    return World(account=account, sub=sub, target_user=target, spare_key=spare)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ACTIONS))
def test_role_matrix(name, role, world, api_for):
    action = ACTIONS[name]
    action.prepare(world)
    client = api_for(world.account, role)
    audit_before = AuditEntry.objects.count()

    response = client.request(action.method, action.path(world), action.body(world),
                              headers=action.headers(world))

    if role in ALLOWED[name]:
        assert 200 <= response.status_code < 300, (name, role, response.content)
        if action.audited:
            assert AuditEntry.objects.count() > audit_before
    else:
        assert response.status_code == 403, (name, role, response.content)
        assert response.json()["error"]["code"] == "permission_denied"
        assert AuditEntry.objects.count() == audit_before


def test_denied_writes_change_nothing(world, api_for):
    client = api_for(world.account, Role.SUPERVISOR)
    assert client.patch("/api/v1/account", {"city": "Lyon"}).status_code == 403
    assert client.post("/api/v1/subaccounts", {"name": "Nope"}).status_code == 403
    assert client.delete(f"/api/v1/api-keys/{world.spare_key.pk}").status_code == 403
    assert client.patch(f"/api/v1/users/{world.target_user.pk}",
                        {"role": "administrator"}).status_code == 403
    world.account.refresh_from_db()
    world.spare_key.refresh_from_db()
    world.target_user.refresh_from_db()
    assert world.account.city == ""
    assert world.account.children.count() == 1
    assert world.spare_key.revoked_at is None
    assert world.target_user.role == Role.SUPERVISOR
