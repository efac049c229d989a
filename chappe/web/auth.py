"""The web app's edge: who is acting (an `Actor` per request) and how service errors
turn into pages.

Every page behind login is wrapped in `account_view`, which
* sends anonymous visitors to the login page, and operator staff (users without an
  account) to the back-office at /admin/;
* builds the request's `Actor` in one place and passes it to the view;
* checks the page's permission with the same map as the API (`chappe.accounts.roles`);
* renders the account's time zone;
* turns `PermissionDenied` into a 403 page, `NotFound` into a 404 and any other
  `ChappeError` that a view did not handle itself into an error page with its status.
"""

import logging
import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from chappe.accounts.actor import Actor
from chappe.accounts.models import AccountStatus
from chappe.accounts.roles import Perm
from chappe.common.errors import ChappeError, NotFound, PermissionDenied, ValidationFailed

log = logging.getLogger(__name__)

View = Callable[..., HttpResponse]

# Errors a view never shows inline: they become the 403 and 404 pages.
REFUSALS = (PermissionDenied, NotFound)


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def actor_for(request: HttpRequest) -> Actor:
    """The `Actor` of a signed-in client user, as every service expects it."""
    user = request.user
    return Actor(
        account=user.account,  # type: ignore[union-attr]
        user=user,  # type: ignore[arg-type]
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:400],
    )


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def error_page(request: HttpRequest, exc: ChappeError) -> HttpResponse:
    template = "403.html" if exc.status == 403 else "web/error.html"
    return render(request, template, {"error": exc}, status=exc.status)


def _account_timezone(actor: Actor) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(actor.account.timezone)  # type: ignore[union-attr]
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return None


def account_view(perm: Perm | None = None, *,
                 terminated_ok: bool = False) -> Callable[[View], View]:
    """Decorate a view `view(request, actor, ...)` of the client web app.

    A terminated account (P-9) is read-only until its purge: its administrators reach
    only the pages marked `terminated_ok` (the account's closure and export page);
    every other page sends them there."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if user.account_id is None:  # type: ignore[union-attr]
                if user.is_staff:
                    return redirect("admin:index")
                return error_page(request, PermissionDenied())
            actor = actor_for(request)
            if not terminated_ok and actor.account.status == AccountStatus.TERMINATED:
                return redirect("web:closure")
            try:
                with timezone.override(_account_timezone(actor)):
                    if perm is not None:
                        actor.require(perm)
                    return view(request, actor, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except ChappeError as exc:
                log.info("web: %s refused %s: %s", request.path, exc.code, exc.message)
                return error_page(request, exc)

        return wrapper

    return decorator


def apply_service_error(form: forms.Form, exc: ChappeError) -> None:
    """Show a service error on a form: `ValidationFailed.details` on their fields, the
    message of anything else (a conflict, a refusal) above the form. A permission
    refusal or a missing object is not a form error: it goes on to the 403 / 404 pages."""
    if isinstance(exc, REFUSALS):
        raise exc
    details = exc.details if isinstance(exc, ValidationFailed) else {}
    shown = False
    for field, messages in details.items():
        if not isinstance(messages, list | tuple):
            messages = [messages]
        form.add_error(field if field in form.fields else None, [str(m) for m in messages])
        shown = True
    if not shown:
        form.add_error(None, exc.message)
