"""Django's login signals, recorded in the audit trail (`services.sign_in`)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from chappe.accounts.activity import activity_touch
from chappe.accounts.services.sign_in import login_failure_record, login_record


def client_ip(request) -> str | None:
    """The address a login comes from, for the lockout (the same as the audit's)."""
    return request.META.get("REMOTE_ADDR") or None


def login_email(request, credentials: dict | None) -> str:
    """The e-mail a login attempt names, as logins compare it (e-mails are stored lower
    case): what the lockout counts by."""
    raw = (credentials or {}).get("username") or request.POST.get("username") or ""
    return str(raw).strip().lower()


@receiver(user_logged_in, dispatch_uid="accounts.login_record")
def _logged_in(sender, request, user, **kwargs) -> None:
    admin = request is not None and request.path.startswith("/admin/")
    login_record(user=user, request=request, admin=admin)
    activity_touch(account_id=user.account_id)


@receiver(user_login_failed, dispatch_uid="accounts.login_failure_record")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    login_failure_record(email=str(credentials.get("username") or ""), request=request)
