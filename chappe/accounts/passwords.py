"""The forms that change a password — a reset link in the web app, an operator setting
a user's password or changing their own in the back-office — all save through
`user_password_set`, so every change is audited with who and from where (P-13).

Django builds these forms without the request; `RequestContextMiddleware` keeps the
current request in a context variable (per thread or task) for them.
"""

import contextvars
from collections.abc import Callable
from typing import Any

from django.contrib.auth.forms import AdminPasswordChangeForm, PasswordChangeForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse

from chappe.accounts.services.sign_in import user_password_set

_REQUEST: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "chappe_request", default=None)


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _REQUEST.set(request)
        try:
            return self.get_response(request)
        finally:
            _REQUEST.reset(token)


def _save(form: Any, *, reset: bool) -> Any:
    request = _REQUEST.get()
    by = None if reset else getattr(request, "user", None)
    # The back-office may also turn password login off for a user (an unusable password).
    password = (None if getattr(form, "unusable_password", False)
                else form.cleaned_data.get("new_password1") or form.cleaned_data["password1"])
    user_password_set(user=form.user, password=password, request=request, reset=reset,
                      by=by if by is not None and by.is_authenticated else None)
    return form.user


class AuditedSetPasswordForm(SetPasswordForm):
    """A password reset link's form (web app)."""

    def save(self, commit: bool = True) -> Any:
        return _save(self, reset=True)


class AuditedPasswordChangeForm(PasswordChangeForm):
    """An operator changing their own password in the back-office."""

    def save(self, commit: bool = True) -> Any:
        return _save(self, reset=False)


class AuditedAdminPasswordChangeForm(AdminPasswordChangeForm):
    """An operator setting a user's password in the back-office."""

    def save(self, commit: bool = True) -> Any:
        return _save(self, reset=False)
