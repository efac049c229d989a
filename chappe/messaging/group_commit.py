"""Group commit of single sends (decision 0028): one thread per web process accepts the
one-recipient `POST /api/v1/sms` requests waiting at that moment in one `sms_send_many`
call — one transaction, one rating pass and one debit per account — and answers each
request through its own future.

Batches form by themselves: while a batch is being written, the requests that arrive
queue up and become the next batch, so a lone request waits for nobody (no timer) and a
burst is written a few hundred at a time. Each request keeps its own outcome, its own
Idempotency-Key and its own error (`sms_send_many`). Requests in different languages are
accepted in separate calls, each under its own language, since the answers carry
translated messages.

The web role starts one with its ASGI application (`config/asgi.py`) and hands it to
the views in the request's scope (`SCOPE_KEY`); without one (a test client, another
server) the view calls `sms_send` itself.
"""

import asyncio
import logging
import queue
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from itertools import groupby

from django.db import close_old_connections
from django.utils import translation

from chappe.accounts.services import api_keys_current
from chappe.common.errors import NotAuthenticated
from chappe.messaging.services.accept import SendOutcome, SmsRequest, sms_send_many

log = logging.getLogger(__name__)

SCOPE_KEY = "chappe.sms_group_commit"


@dataclass
class _Waiting:
    request: SmsRequest
    language: str
    future: Future = field(default_factory=Future)


class SmsGroupCommit:
    """The per-process batcher of single sends; `start()` it once, `await send(...)`."""

    def __init__(self, *, max_batch: int = 256) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="sms-group-commit",
                                        daemon=True)
        # Sizes of the last batches written (for tests and profiles).
        self.batches: deque[int] = deque(maxlen=1000)

    def start(self) -> "SmsGroupCommit":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        self._queue.put(None)
        self._thread.join()

    def submit(self, request: SmsRequest, *, language: str) -> Future:
        """Queue `request`; the future resolves to its `SendOutcome` or its error."""
        waiting = _Waiting(request=request, language=language)
        self._queue.put(waiting)
        return waiting.future

    async def send(self, request: SmsRequest, *, language: str) -> SendOutcome:
        return await asyncio.wrap_future(self.submit(request, language=language))

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    stopping = True
                    break
                batch.append(waiting)
            # A request whose client left before its batch began is dropped (nothing of
            # it is written); once running, its future can no longer be canceled.
            batch = [w for w in batch if w.future.set_running_or_notify_cancel()]
            if batch:
                self._write(batch)

    def _write(self, batch: list[_Waiting]) -> None:
        self.batches.append(len(batch))
        try:
            for language, same in groupby(sorted(batch, key=lambda w: w.language),
                                          key=lambda w: w.language):
                with translation.override(language):
                    waiting = _confirmed(list(same))
                    try:
                        results = sms_send_many(requests=[w.request for w in waiting])
                    except Exception as exc:  # not one request's error: all of them fail
                        log.exception("group commit of %d sends failed", len(waiting))
                        results = [exc] * len(waiting)
                for one, result in zip(waiting, results, strict=True):
                    if isinstance(result, Exception):
                        one.future.set_exception(result)
                    else:
                        one.future.set_result(result)
        finally:
            # As at the end of a request: give back a broken or expired connection.
            close_old_connections()


def _confirmed(batch: list[_Waiting]) -> list[_Waiting]:
    """The requests whose API key is still active, with their key and account read again
    now in one query for the batch, the others answered `NotAuthenticated`: a key the web
    role kept in a per-process cache (decision 0038) stops working from the next batch
    after it is revoked, and a suspension is seen on a fresh account row."""
    current = api_keys_current(ids={w.request.actor.api_key.pk for w in batch
                                     if w.request.actor.api_key is not None})
    kept = []
    for one in batch:
        actor = one.request.actor
        if actor.api_key is None:
            kept.append(one)
            continue
        key = current.get(actor.api_key.pk)
        if key is None:
            one.future.set_exception(NotAuthenticated())
            continue
        if actor.account is not None and actor.account.pk == key.account_id:
            actor = replace(actor, api_key=key, account=key.account)
            one.request = replace(one.request, actor=actor, account=key.account)
        else:  # on a sub-account it manages, read by the request itself
            one.request = replace(one.request, actor=replace(actor, api_key=key))
        kept.append(one)
    return kept
