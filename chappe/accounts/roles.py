"""Roles (P-3, C-7) and the one permission map used by the API, the web app and SMPP.

A role is a fixed set of permissions. Permissions name an area and an action; new product
areas add their permissions here, next to the roles that hold them, so the whole matrix
is readable in one place (and tested cell by cell in tests/accounts/test_roles.py).
"""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    # Everything in the account, including users, keys, billing and sub-accounts.
    ADMINISTRATOR = "administrator", _("Administrator")
    # Supervises agents and statistics, manages call flows (C-7).
    SUPERVISOR = "supervisor", _("Supervisor")
    # Places and takes calls (C-7).
    AGENT = "agent", _("Agent")
    # Sends messages and manages contacts (P-3 "messaging users").
    MESSAGING_USER = "messaging_user", _("Messaging user")


class Perm(StrEnum):
    ACCOUNT_VIEW = "account.view"
    ACCOUNT_MANAGE = "account.manage"
    SUBACCOUNTS_MANAGE = "subaccounts.manage"
    USERS_VIEW = "users.view"
    USERS_MANAGE = "users.manage"
    API_KEYS_MANAGE = "api_keys.manage"
    SERVICES_VIEW = "services.view"
    SERVICES_MANAGE = "services.manage"
    AUDIT_VIEW = "audit.view"
    BILLING_VIEW = "billing.view"
    BILLING_MANAGE = "billing.manage"
    MESSAGING_SEND = "messaging.send"
    MESSAGING_VIEW = "messaging.view"
    CONTACTS_MANAGE = "contacts.manage"
    CALLS_HANDLE = "calls.handle"
    CALL_FLOWS_MANAGE = "call_flows.manage"
    # Buying, releasing and porting out numbers: billed, so the administrator's (C-7 gives
    # supervisors agents, statistics and call flows only).
    NUMBERS_MANAGE = "numbers.manage"
    # Agents, their skills and pause reasons, queues; other agents' states (C-7).
    AGENTS_SUPERVISE = "agents.supervise"
    # The number of contact-center licences (C-8): billed, so the administrator's.
    LICENCES_MANAGE = "licences.manage"
    STATISTICS_VIEW = "statistics.view"


_COMMON = {Perm.ACCOUNT_VIEW, Perm.SERVICES_VIEW}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.ADMINISTRATOR: frozenset(Perm),
    Role.SUPERVISOR: frozenset(
        _COMMON
        | {
            Perm.USERS_VIEW,
            Perm.CALLS_HANDLE,
            Perm.CALL_FLOWS_MANAGE,
            Perm.AGENTS_SUPERVISE,
            Perm.STATISTICS_VIEW,
        }
    ),
    Role.AGENT: frozenset(_COMMON | {Perm.CALLS_HANDLE}),
    Role.MESSAGING_USER: frozenset(
        _COMMON | {Perm.MESSAGING_SEND, Perm.MESSAGING_VIEW, Perm.CONTACTS_MANAGE}
    ),
}


def role_allows(role: str, perm: Perm) -> bool:
    """Whether `role` holds `perm`; an unknown role holds nothing."""
    if role not in Role.values:
        return False
    return perm in ROLE_PERMISSIONS[Role(role)]
