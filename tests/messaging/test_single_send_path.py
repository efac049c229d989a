"""The one-recipient send served outside Django's request cycle (decision 0038): the common
case answered by `SingleSendPath` exactly as Django would answer it, everything else
passed to Django, and an API key kept per process refused from the next batch once
revoked.

The ASGI application is driven in-process with hand-built ASGI messages; the group
commit runs its own thread and connection, hence `transaction=True`."""

import asyncio
import json
from collections.abc import Iterator

import pytest
from django.core.asgi import get_asgi_application
from django.test import override_settings
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import ApiKey
from chappe.accounts.services import api_key_create, api_key_revoke, service_suspend
from chappe.api.v1.single_send import KeyCache, SingleSendPath
from chappe.billing.selectors import ledger_sum
from chappe.messaging.group_commit import SCOPE_KEY, SmsGroupCommit
from chappe.messaging.models import Message
from tests.messaging.test_pipeline import DELIVERED

pytestmark = pytest.mark.django_db(transaction=True)


class Served:
    """The path in front of a real Django ASGI handler, counting what Django served."""

    def __init__(self, group_commit: SmsGroupCommit) -> None:
        self.by_django = 0
        self.observed: list[tuple[str, int]] = []
        django = get_asgi_application()

        async def counted(scope, receive, send):
            self.by_django += 1
            await django({**scope, SCOPE_KEY: group_commit}, receive, send)

        self.app = SingleSendPath(django=counted, group_commit=group_commit,
                                  observe=lambda m, s, _t: self.observed.append((m, s)))

    def post(self, body: bytes | dict, *, headers: dict[str, str] | None = None,
             chunks: int = 1) -> tuple[int, dict[str, str], bytes]:
        return asyncio.run(self._call(body, headers or {}, chunks))

    async def _call(self, body, headers, chunks):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        size = max(1, -(-len(raw) // chunks))
        parts = [raw[i:i + size] for i in range(0, len(raw), size)] or [b""]
        incoming = [{"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
                    for i, part in enumerate(parts)]

        async def receive():
            if incoming:
                return incoming.pop(0)
            await asyncio.Event().wait()  # no disconnect: Django's listener is canceled

        sent = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": "/api/v1/sms",
                 "raw_path": b"/api/v1/sms", "query_string": b"", "root_path": "",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
                 "client": ("198.51.100.7", 50000), "server": ("testserver", 80)}
        await self.app(scope, receive, send)
        start = sent[0]
        answer = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return (start["status"], answer,
                b"".join(m.get("body", b"") for m in sent[1:]))


@pytest.fixture
def group_commit() -> Iterator[SmsGroupCommit]:
    batcher = SmsGroupCommit().start()
    yield batcher
    batcher.stop()


@pytest.fixture
def served(group_commit) -> Served:
    return Served(group_commit)


@pytest.fixture
def raw_key(funded_account) -> str:
    return api_key_create(actor=SYSTEM, account=funded_account, name="hot")[1]


def json_headers(raw_key: str, **more: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {raw_key}", **more}


SMS = {"recipients": [DELIVERED], "text": "Your code is 1234", "sender": "Chappe"}


def comparable(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in ("content-length",)}


def test_a_valid_send_is_answered_without_django_as_django_answers_it(served, raw_key,
                                                                    funded_account):
    before = ledger_sum(account=funded_account, book="credit", currency="EUR")
    status, _headers, body = served.post(SMS, headers=json_headers(
        raw_key, **{"Idempotency-Key": "k-1"}))
    assert (status, served.by_django) == (201, 0), body
    answer = json.loads(body)
    assert answer["accepted"] == 1
    assert answer["replayed"] is False
    [row] = answer["recipients"]
    message = Message.objects.get(pk=row["message_id"], account=funded_account)
    assert (message.recipient, message.text) == (DELIVERED, SMS["text"])
    assert ledger_sum(account=funded_account, book="credit",
                      currency="EUR") == before - message.price_micros
    # The replay, once here and once through Django (X-Account-Id naming the key's own
    # account sends it there): the same bytes and the same headers.
    fast = served.post(SMS, headers=json_headers(raw_key, **{"Idempotency-Key": "k-1"}))
    assert served.by_django == 0
    slow = served.post(SMS, headers=json_headers(raw_key, **{
        "Idempotency-Key": "k-1", "X-Account-Id": str(funded_account.pk)}))
    assert served.by_django == 1
    assert fast[0] == slow[0] == 200
    assert fast[2] == slow[2]
    assert comparable(fast[1]) == comparable(slow[1]), (fast[1], slow[1])
    assert served.observed == [("POST", 201), ("POST", 200)]


@pytest.mark.parametrize(("headers", "body", "status", "code"), [
    ({"Content-Type": "application/json"}, SMS, 401, "not_authenticated"),
    (None, b'{"recipients": [', 400, "validation_error"),
    (None, {**SMS, "text": "nul\x00"}, 400, "validation_error"),
    (None, {**SMS, "recipients": []}, 400, "validation_error"),
])
def test_what_it_does_not_serve_django_answers_in_the_one_error_shape(
        served, raw_key, headers, body, status, code):
    got, answer_headers, answer = served.post(body, headers=headers or json_headers(raw_key))
    assert (got, served.by_django) == (status, 1)
    assert json.loads(answer)["error"]["code"] == code
    if status == 401:
        assert answer_headers["www-authenticate"].startswith("Bearer")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
def test_a_body_over_the_limit_read_in_chunks_reaches_django_whole(served, raw_key):
    body = {**SMS, "text": "x" * 4000}
    status, _headers, answer = served.post(body, headers=json_headers(raw_key), chunks=5)
    assert (status, served.by_django) == (413, 1)
    assert json.loads(answer)["error"]["code"] == "payload_too_large"


def test_a_revoked_key_is_refused_from_the_next_batch_though_kept_in_the_cache(
        served, raw_key, funded_account):
    assert served.post(SMS, headers=json_headers(raw_key))[0] == 201
    assert served.app.keys.get(raw_key) is not None  # kept: no lookup next time
    api_key_revoke(actor=SYSTEM, api_key=ApiKey.objects.get(account=funded_account,
                                                            name="hot"))
    status, _headers, answer = served.post(SMS, headers=json_headers(raw_key))
    assert status == 401, answer
    assert served.app.keys.get(raw_key) is None
    assert Message.objects.filter(account=funded_account).count() == 1


def test_a_suspended_account_is_refused_by_the_acceptance_in_the_callers_language(
        served, raw_key, funded_account):
    assert served.post(SMS, headers=json_headers(raw_key))[0] == 201
    service_suspend(actor=SYSTEM, service=funded_account.services.get(kind="messaging"),
                    reason="non_payment")
    status, headers, answer = served.post(SMS, headers=json_headers(
        raw_key, **{"Accept-Language": "fr-FR,fr;q=0.9"}))
    assert (status, served.by_django) == (403, 0), answer
    error = json.loads(answer)["error"]
    assert error["code"] == "service_suspended"
    assert headers["content-language"] == "fr"
    english = served.post(SMS, headers=json_headers(raw_key))[2]
    assert json.loads(english)["error"]["message"] != error["message"]


def test_the_key_cache_is_bounded_in_size_and_time(funded_account):
    key = ApiKey(account=funded_account, prefix="chp_x", key_hash="", role="administrator",
                 created_at=timezone.now())
    cache = KeyCache(size=2, ttl=60)
    for raw in ("a", "b", "c"):
        cache.put(raw, key)
    assert [cache.get(raw) for raw in ("a", "b", "c")] == [None, key, key]
    expired = KeyCache(ttl=-1)
    expired.put("a", key)
    assert expired.get("a") is None
