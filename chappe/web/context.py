from django.http import HttpRequest

from chappe.accounts.roles import ROLE_PERMISSIONS, Role


def current_account(request: HttpRequest) -> dict:
    """The signed-in user's account and permissions, for the layout and menus."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.account_id is None:
        return {}
    return {
        "account": user.account,
        "perms_set": {str(p) for p in ROLE_PERMISSIONS[Role(user.role)]},
    }
