"""The `/api/v1/` NinjaAPI: authentication, the acting account, the one error shape.

Authentication is by API key only, as `Authorization: Bearer <key>` or `X-Api-Key: <key>`.
A parent account's key may act on one of its sub-accounts by naming it in
`X-Account-Id` (P-2) if its role manages sub-accounts (else 403); any other id there
answers 404, like any object of another tenant.

Failed keys go through the one back-off of every credential check (`common.throttle`,
shared with the compatibility APIs): after `KEY_FAILURES_FREE` wrong keys in a row from
one address, its next attempts are refused at once with 429 and `Retry-After`, the wait
doubling up to a minute; a right key clears it. One throttle per web process.
"""

import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import close_old_connections
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.errors import AuthorizationError as NinjaAuthorizationError
from ninja.security import APIKeyHeader, HttpBearer

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.accounts.selectors import managed_account_get
from chappe.accounts.services import api_key_authenticate
from chappe.api.hostile_input import refuse_hostile_values
from chappe.common.errors import ChappeError, NotAuthenticated, PermissionDenied, TooManyAttempts
from chappe.common.throttle import FailureThrottle
from chappe.messaging.group_commit import SCOPE_KEY

log = logging.getLogger(__name__)

ACCOUNT_HEADER = "X-Account-Id"
KEY_FAILURES_FREE = 5
# Tests replace it (`base.KEY_THROTTLE = FailureThrottle(clock=…)`) to drive the clock.
KEY_THROTTLE = FailureThrottle(free=KEY_FAILURES_FREE, base=1.0, cap=60.0)


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _actor_for_key(request: HttpRequest, raw_key: str) -> Actor | None:
    address = f"ip:{client_ip(request) or 'unknown'}"
    if wait := KEY_THROTTLE.retry_after(address):
        raise TooManyAttempts(details={"retry_after": wait})
    key = api_key_authenticate(raw_key=raw_key)
    if key is None:
        KEY_THROTTLE.failed(address)
        return None
    KEY_THROTTLE.succeeded(address)
    actor = Actor(
        account=key.account,
        api_key=key,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", "")[:400],
    )
    if target := request.headers.get(ACCOUNT_HEADER):
        account = managed_account_get(account=key.account, id=target.strip())
        if account != key.account:
            # Working on a sub-account is managing it (P-2): not for every role.
            actor.require(Perm.SUBACCOUNTS_MANAGE)
            actor = actor.on(account)
    request.actor = actor  # type: ignore[attr-defined]
    return actor


class BearerKey(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        return _actor_for_key(request, token)


class HeaderKey(APIKeyHeader):
    param_name = "X-Api-Key"

    def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        return _actor_for_key(request, key) if key else None


def _actor_released(request: HttpRequest, raw_key: str) -> Actor | None:
    """`_actor_for_key`, the connection it borrowed given back to the pool at once."""
    try:
        return _actor_for_key(request, raw_key)
    finally:
        close_old_connections()


async def _actor_for_key_async(request: HttpRequest, raw_key: str) -> Actor | None:
    """`_actor_for_key` for an async endpoint. In the web role (its group commit in the
    ASGI scope, decision 0028) concurrent requests authenticate in parallel, each in a
    worker thread of its own, not one after another in the request's one sync thread;
    elsewhere (the test client) in that sync thread, which sees the caller's
    transaction."""
    if SCOPE_KEY in getattr(request, "scope", {}):
        return await sync_to_async(_actor_released, thread_sensitive=False)(request, raw_key)
    return await sync_to_async(_actor_for_key)(request, raw_key)


class AsyncBearerKey(HttpBearer):
    async def authenticate(self, request: HttpRequest, token: str) -> Actor | None:
        return await _actor_for_key_async(request, token)


class AsyncHeaderKey(APIKeyHeader):
    param_name = "X-Api-Key"

    async def authenticate(self, request: HttpRequest, key: str | None) -> Actor | None:
        return await _actor_for_key_async(request, key) if key else None


# The authentication of the hot async endpoints (one-recipient sends).
ASYNC_AUTH = [AsyncBearerKey(), AsyncHeaderKey()]



def actor_of(request: HttpRequest, *perms: Perm) -> Actor:
    """The request's actor (its API key's, on the account it acts on), holding every
    permission given (403 `permission_denied` otherwise)."""
    actor: Actor = request.auth  # type: ignore[attr-defined]
    for perm in perms:
        actor.require(perm)
    return actor


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


api = NinjaAPI(
    title="Chappe API",
    version="1",
    description=(
        "Business messaging and cloud contact center. Authenticate with an API key "
        "(`Authorization: Bearer <key>` or `X-Api-Key`). Errors always read "
        '`{"error": {"code", "message", "details"}}`.'
    ),
    urls_namespace="api-v1",
    docs_url="/docs",
    auth=[BearerKey(), HeaderKey()],
)
api.add_decorator(refuse_hostile_values)


def _respond(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    response = api.create_response(request, body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="chappe"'
    if status == 429 and (wait := body["error"]["details"].get("retry_after")):
        response["Retry-After"] = str(wait)
    return response


@api.exception_handler(ChappeError)
def _chappe_error(request: HttpRequest, exc: ChappeError) -> HttpResponse:
    return _respond(request, exc.status, error_body(exc.code, exc.message, exc.details))


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    details: dict[str, list[str]] = {}
    for error in exc.errors:
        # loc is ("body", "payload", "field", …) or ("query", "field"): keep the field path.
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
        details.setdefault(".".join(location[-2:] if location[:1] == ["query"] else location)
                           or "request", []).append(error.get("msg", ""))
    return _respond(request, 400, error_body("validation_error", _("Some fields are invalid."),
                                             details))


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    err = NotAuthenticated()
    return _respond(request, 401, error_body(err.code, err.message))


@api.exception_handler(NinjaAuthorizationError)
def _authorization_error(request: HttpRequest, exc: NinjaAuthorizationError) -> HttpResponse:
    err = PermissionDenied()
    return _respond(request, 403, error_body(err.code, err.message))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        # A request ninja could not parse at all (a body that is not JSON).
        return _respond(request, 400, error_body("validation_error", str(exc),
                                                 {"body": [str(exc)]}))
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return _respond(request, exc.status_code, error_body(code, str(exc)))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # Ninja registers its own Http404 handler ({"detail": …}); replace it with ours.
    return _respond(request, 404, error_body("not_found", _("No such object in this account.")))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _respond(request, 413, error_body(
        "payload_too_large", _("The request body is larger than %(limit)d bytes.")
        % {"limit": limit}, {"limit_bytes": limit}))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unhandled API error on %s %s", request.method, request.path)
    return _respond(request, 500, error_body("internal_error", _("An internal error occurred.")))
