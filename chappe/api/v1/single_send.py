"""`POST /api/v1/sms` served straight from ASGI in the web role when the request is the
common case: a valid send by an API key on its own account (decision 0038).

Why not through Django: measured on this 2-core machine, Django's request cycle and
ninja's parsing cost 6-9 ms of CPU a request, 20 times the acceptance itself at the
group commit's batch sizes (decision 0028), and bounded the endpoint near 130-250
requests a second. This path parses the same `SmsCreate` schema, applies the same
hostile-input rule, builds the same `SmsRequest` and hands it to the same group commit,
then serialises the same `SendOut` with the API's own renderer: one send path, one
schema, one answer.

Everything else **falls through to Django** with the body it already read: no or an
unknown API key (the 401 and its header), `X-Account-Id` (a sub-account), a body that
is not valid JSON for the schema or carries a hostile value (the 400 naming the field),
a body over the upload limit (413), a language cookie. So every error answer but the
ones the acceptance itself gives (402, 403, 409…, in the one error shape) is Django's,
and this module cannot drift from it on the paths it does not serve.

API keys are looked up once and kept per process (`KeyCache`); the group commit reads
every batch's keys and accounts again in one query (`api_keys_current`), so a revoked
key or a suspended account is refused from the next batch on, as exactly as a lookup
per request would.
"""

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.utils import translation
from pydantic import ValidationError

from chappe.accounts.actor import Actor
from chappe.accounts.models import ApiKey
from chappe.accounts.services import api_key_authenticate
from chappe.api.hostile_input import hostile_values
from chappe.api.v1.base import api, error_body
from chappe.api.v1.messaging import send_answer
from chappe.common.errors import ChappeError, NotAuthenticated
from chappe.messaging.group_commit import SmsGroupCommit
from chappe.messaging.schemas import SendOut, SmsCreate
from chappe.messaging.services.accept import SmsRequest

log = logging.getLogger(__name__)

PATH = "/api/v1/sms"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# Told of every answer given here: (method, status, seconds) — the request metrics.
Observer = Callable[[str, int, float], None]


class KeyCache:
    """API keys by their raw value, per process: at most `size`, each for `ttl` seconds
    (a bound on memory, not on correctness: the group commit confirms every key)."""

    def __init__(self, *, size: int = 10_000, ttl: float = 60.0) -> None:
        self.size, self.ttl = size, ttl
        self._keys: OrderedDict[str, tuple[float, ApiKey]] = OrderedDict()

    def get(self, raw_key: str) -> ApiKey | None:
        entry = self._keys.get(raw_key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, raw_key: str, key: ApiKey) -> None:
        self._keys[raw_key] = (time.monotonic() + self.ttl, key)
        self._keys.move_to_end(raw_key)
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)

    def forget(self, raw_key: str) -> None:
        self._keys.pop(raw_key, None)


def _key_lookup(raw_key: str) -> ApiKey | None:
    try:
        return api_key_authenticate(raw_key=raw_key)
    finally:
        close_old_connections()  # the connection back to the pool at once


@lru_cache(maxsize=256)
def _language(accept_language: str) -> str:
    """The language Django's LocaleMiddleware picks for a request with this header and
    no language cookie (those fall through), by Django's own function."""
    return translation.get_language_from_request(SimpleNamespace(  # type: ignore[arg-type]
        COOKIES={}, META={"HTTP_ACCEPT_LANGUAGE": accept_language}))


def _response_headers(language: str) -> list[tuple[bytes, bytes]]:
    """The headers Django's middlewares put on an API answer."""
    headers = [(b"content-type", b"application/json; charset=utf-8"),
               (b"vary", b"Accept-Language"),
               (b"content-language", language.encode()),
               (b"x-frame-options", settings.X_FRAME_OPTIONS.encode())]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append((b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy",
                        settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    return headers


class SingleSendPath:
    """The ASGI application in front of Django: serves what it can, passes the rest."""

    def __init__(self, *, django: ASGIApp, group_commit: SmsGroupCommit,
                 observe: Observer | None = None, keys: KeyCache | None = None) -> None:
        self.django, self.group_commit = django, group_commit
        self.observe = observe
        self.keys = keys or KeyCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST"
                and scope["path"] == PATH):
            await self.django(scope, receive, send)
            return
        started = time.perf_counter()
        read: list[Message] = []
        body = await self._body(receive, read)
        if body is None:  # over the limit or the client gone: Django says what it says
            await self.django(scope, _replaying(read, receive), send)
            return
        answer = await self._answer(scope, body)
        if answer is None:
            await self.django(scope, _replaying(read, receive), send)
            return
        status, payload, language = answer
        await send({"type": "http.response.start", "status": status,
                    "headers": [*_response_headers(language),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})
        if self.observe is not None:
            self.observe("POST", status, time.perf_counter() - started)

    @staticmethod
    async def _body(receive: Receive, read: list[Message]) -> bytes | None:
        """The whole body, every message kept in `read`; None past the limit or if the
        client left."""
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        size, chunks = 0, []
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if limit and size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _answer(self, scope: Scope, body: bytes) -> tuple[int, bytes, str] | None:
        """(status, JSON body, language), or None for Django to answer."""
        headers: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            headers[name.lower()] = value
        cookie = settings.LANGUAGE_COOKIE_NAME.encode()
        if b"x-account-id" in headers or cookie in headers.get(b"cookie", b""):
            return None
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
            return None
        raw_key = _raw_key(headers)
        if not raw_key:
            return None
        idempotency_key = headers.get(b"idempotency-key")
        try:
            payload = SmsCreate.model_validate_json(body)
        except ValidationError:
            return None
        idempotency = idempotency_key.decode("latin-1") if idempotency_key is not None else None
        if hostile_values({"payload": payload, "idempotency_key": idempotency}):
            return None
        key = self.keys.get(raw_key)
        if key is None:
            key = await sync_to_async(_key_lookup, thread_sensitive=False)(raw_key)
            if key is None:
                return None
            self.keys.put(raw_key, key)
        language = _language(headers.get(b"accept-language", b"").decode("latin-1"))
        client = scope.get("client")
        actor = Actor(account=key.account, api_key=key, ip=client[0] if client else None,
                      user_agent=headers.get(b"user-agent", b"").decode("latin-1")[:400])
        request = SmsRequest(actor=actor, account=key.account, idempotency_key=idempotency,
                             **payload.dict())
        try:
            outcome = await self.group_commit.send(request, language=language)
        except NotAuthenticated:
            self.keys.forget(raw_key)  # revoked since: Django answers the 401
            return None
        except Exception as exc:
            return (*_refusal(exc, language), language)
        status = 200 if outcome.replayed else 201
        with translation.override(language):
            data = SendOut.model_validate(send_answer(outcome)).model_dump()
            return status, _render(data, status), language


def _refusal(exc: Exception, language: str) -> tuple[int, bytes]:
    """The one error shape for an exception of the acceptance, as the API's handlers."""
    with translation.override(language):
        if isinstance(exc, ChappeError):
            return exc.status, _render(error_body(exc.code, exc.message, exc.details),
                                       exc.status)
        log.exception("unhandled API error on POST %s", PATH, exc_info=exc)
        return 500, _render(error_body("internal_error", translation.gettext(
            "An internal error occurred.")), 500)


def _render(data: Any, status: int) -> bytes:
    return api.renderer.render(None, data, response_status=status).encode()  # type: ignore[arg-type]


def _raw_key(headers: dict[bytes, bytes]) -> str | None:
    """The key of `Authorization: Bearer <key>` or `X-Api-Key`, as ninja reads them."""
    if authorization := headers.get(b"authorization"):
        scheme, _space, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    key = headers.get(b"x-api-key")
    return key.decode("latin-1") if key else None


def _replaying(read: list[Message], receive: Receive) -> Receive:
    """`receive` that first gives back the messages this path already read."""
    pending = list(read)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
