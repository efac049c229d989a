"""The audit of signing in and of passwords (P-13): every login, failed login and
password change or reset, with who, when and from where.

Logins go through Django's own views (the web app's and the back-office's), so they are
recorded from Django's `user_logged_in` / `user_login_failed` signals (connected in
`apps.py`); lockout after repeated failures is django-axes' (settings `AXES_*`).
Passwords change only through `people.user_password_set`.
"""

from typing import Any

from chappe.accounts.actor import Actor
from chappe.accounts.models import User
from chappe.audit.services import audit_record


def _request_facts(request: Any) -> dict[str, Any]:
    if request is None:
        return {"ip": None, "user_agent": ""}
    return {"ip": request.META.get("REMOTE_ADDR") or None,
            "user_agent": request.headers.get("User-Agent", "")[:400]}


def _actor(user: User, request: Any) -> Actor:
    return Actor(account=user.account, user=user, is_operator=user.account_id is None,
                 **_request_facts(request))


def login_record(*, user: User, request: Any, admin: bool) -> None:
    audit_record(actor=_actor(user, request), action="user.login", target=user,
                 details={"site": "back-office" if admin else "web app"})


def login_failure_record(*, email: str, request: Any) -> None:
    """A failed login names the e-mail tried (never the password); it is recorded on the
    account of the user it names, or platform-wide when it names nobody."""
    user = User.objects.filter(email__iexact=email.strip()).select_related("account").first()
    actor = Actor(account=user.account if user else None, **_request_facts(request))
    audit_record(actor=actor, action="user.login_failed", account=actor.account,
                 target=user, details={"email": email[:254]})
