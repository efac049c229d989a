from django.http import HttpRequest

from chappe.accounts.roles import ROLE_PERMISSIONS, Role
from chappe.notices.selectors import banner_for


def current_account(request: HttpRequest) -> dict:
    """The signed-in user's account and permissions, for the layout and menus, and the
    banner of what the platform announces (notices, maintenance, terms to accept)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.account_id is None:
        return {}
    role = Role(user.role)
    return {
        "account": user.account,
        "perms_set": {str(p) for p in ROLE_PERMISSIONS[role]},
        "banner": banner_for(account=user.account, administrator=role == Role.ADMINISTRATOR),
    }
