"""The forms that change a password — a reset link in the web app, an operator changing
their own in the back-office — save through `user_password_set` (as the back-office's
user page does), so every change is audited with who and from where (P-13).

Django builds these forms without the request; `RequestContextMiddleware` keeps the
current request in a context variable (per thread or task) for them.
"""

import contextvars
from typing import Any

from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from chappe.accounts.actor import Actor
from chappe.accounts.services.people import user_password_set

_REQUEST: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "chappe_request", default=None)


class RequestContextMiddleware(MiddlewareMixin):
    """A `MiddlewareMixin`, so that it serves async views as well (decision 0028): the
    variable set in `process_request` is carried back into the request's context."""

    def process_request(self, request: HttpRequest) -> None:
        _REQUEST.set(request)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        _REQUEST.set(None)
        return response


def _request_actor(user: Any, *, operator: bool) -> Actor:
    request = _REQUEST.get()
    return Actor(account=user.account, user=user, is_operator=operator,
                 ip=request.META.get("REMOTE_ADDR") or None if request else None,
                 user_agent=request.headers.get("User-Agent", "")[:400] if request else "")


class AuditedSetPasswordForm(SetPasswordForm):
    """A password reset link's form (web app): the user sets their own password."""

    def save(self, commit: bool = True) -> Any:
        return user_password_set(actor=_request_actor(self.user, operator=False),
                                 user=self.user, password=self.cleaned_data["new_password1"],
                                 reset=True)


class AuditedPasswordChangeForm(PasswordChangeForm):
    """An operator changing their own password in the back-office."""

    def save(self, commit: bool = True) -> Any:
        return user_password_set(actor=_request_actor(self.user, operator=True),
                                 user=self.user, password=self.cleaned_data["new_password1"])
