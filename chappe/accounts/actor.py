"""Who is acting, on which account, from where: passed explicitly to every service.

An `Actor` is built at the edge (API key or session in HTTP, a bind in SMPP, the CLI) and
carries what the audit trail needs (P-13) and what permission checks need.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from chappe.accounts.models import Account, ApiKey, User
from chappe.accounts.roles import Perm, Role, role_allows
from chappe.common.errors import PermissionDenied


@dataclass(frozen=True)
class Actor:
    # The account the actor works on: its own, or a sub-account it manages (P-2).
    account: Account | None
    user: User | None = None
    api_key: ApiKey | None = None
    # Operator staff act from the back-office or the CLI and hold every permission.
    is_operator: bool = False
    ip: str | None = None
    user_agent: str = ""
    # A principal that is neither a user nor an API key — an SMPP bind, "smpp:<system_id>"
    # — acting on its own account with `grants` only; it is its label in the audit trail.
    principal: str = ""
    grants: frozenset[Perm] = frozenset()

    @property
    def role(self) -> Role | None:
        if self.principal:
            return None
        if self.api_key is not None:
            return Role(self.api_key.role)
        if self.user is not None and self.user.account_id is not None:
            return Role(self.user.role)
        return None

    @property
    def label(self) -> str:
        if self.principal:
            return self.principal
        if self.api_key is not None:
            return f"api-key:{self.api_key.prefix}"
        if self.user is not None:
            return self.user.email
        return "operator" if self.is_operator else "system"

    def can(self, perm: Perm) -> bool:
        if self.principal:
            return perm in self.grants
        if self.is_operator:
            return True
        role = self.role
        return role is not None and role_allows(role, perm)

    def require(self, perm: Perm) -> None:
        if not self.can(perm):
            raise PermissionDenied(details={"permission": str(perm)})

    def require_operator(self) -> None:
        """For what only the platform operator does (prices, plans, accounts, refunds…)."""
        if not self.is_operator:
            raise PermissionDenied(_("Only the platform operator can do this."))

    def on(self, account: Account) -> "Actor":
        """The same actor working on another account (a sub-account it manages)."""
        return Actor(
            account=account,
            user=self.user,
            api_key=self.api_key,
            is_operator=self.is_operator,
            ip=self.ip,
            user_agent=self.user_agent,
            principal=self.principal,
            grants=self.grants,
        )


SYSTEM = Actor(account=None, is_operator=True)
