"""The CRM lookup on the database (C-11; decisions 0042, 0057): the `CrmLookup` the voice
role hands the engine. For a call to one of an account's numbers: the number's CRM
endpoint, else that of a queue the number's flow leads to, else the account's; a GET of
its URL with `remote_number`, `local_number` and `apikey` (Graam's custom-CRM
parameters), signed as webhooks are (`Chappe-Signature`, HMAC-SHA256 with the account's
webhook secret over "<t>.<query string>"), sent only where webhooks may go
(chappe.common.outbound_http: no private or loopback address unless the operator opens
it), within the endpoint's timeout. A redirect names a queue, an agent or a flow of the
account (by id, or by name — an agent by extension); it becomes the flow the call runs
(an agent: rung directly, then the call's own flow). Every lookup is written
(`CrmLookupRecord`: outcome, status, latency — no caller data) and counted (Prometheus)."""

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone
from prometheus_client import Counter, Histogram

from chappe.agents.models import Agent, CrmEndpoint, CrmLookupRecord, Queue, QueueMember
from chappe.callcenter.models import CallFlow
from chappe.common.outbound_http import get
from chappe.voice.crm import DEFAULT_TIMEOUT, CrmAnswer, CrmGarbage, CrmReply, parse_reply
from chappe.voice.directory import CallTarget
from chappe.voice.flows import FlowDefinition, QueueNode, flow_parse
from chappe.webhooks.models import WebhookSettings
from chappe.webhooks.signing import HEADER, sign

logger = logging.getLogger(__name__)

LOOKUPS = Counter("chappe_crm_lookups_total", "CRM lookups on inbound calls", ["outcome"])
LATENCY = Histogram("chappe_crm_lookup_seconds", "CRM lookup latency",
                    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0))


class CrmFailed(RuntimeError):
    def __init__(self, outcome: str, status_code: int | None = None) -> None:
        super().__init__(outcome)
        self.outcome, self.status_code = outcome, status_code


def flow_queue_ids(definition: FlowDefinition | None) -> list[str]:
    """The queues a flow can send a call to, nearest to its start first (a walk through
    the nodes its nodes name: a menu's options, a node's `next`, `on_failure`...)."""
    if definition is None:
        return []
    order, seen, queues = [definition.start], {definition.start}, []
    for name in order:
        node = definition.nodes.get(name)
        if node is None:
            continue
        if node.type == "queue":
            queues.append(node.queue_id)
        for value in [*(getattr(node, f, None) for f in _LINKS),
                      *getattr(node, "options", {}).values()]:
            if value in definition.nodes and value not in seen:
                seen.add(value)
                order.append(value)
    return queues


# The fields of a flow's nodes that name another node (a menu's `options` as well).
_LINKS = ("next", "on_failure", "open", "closed")


def endpoint_for(*, account_id: str, number: str,
                 queue_ids: Sequence[str] = ()) -> CrmEndpoint | None:
    """The most specific endpoint: the number's, else that of the first of `queue_ids`
    that has one, else the account's (None: no lookup)."""
    queues = []
    for value in queue_ids:
        try:
            queues.append(uuid.UUID(value))
        except ValueError:
            continue  # a flow naming something that is no queue id: no queue endpoint
    rows = CrmEndpoint.objects.filter(account_id=account_id).filter(
        Q(queue__isnull=True, number__in=[number, ""]) | Q(queue_id__in=queues))
    found = {(e.number, e.queue_id): e for e in rows}
    candidates = [(number, None), *(("", q) for q in queues), ("", None)]
    return next((found[c] for c in candidates if c in found), None)


def signed_url(endpoint: CrmEndpoint, *, remote: str, local: str,
               now: float) -> tuple[str, dict[str, str]]:
    query = urlencode({"remote_number": remote, "local_number": local,
                       "apikey": endpoint.api_key})
    parts = urlsplit(endpoint.url)
    full_query = f"{parts.query}&{query}" if parts.query else query
    settings, _created = WebhookSettings.objects.get_or_create(account_id=endpoint.account_id)
    headers = {HEADER: sign(settings.secret, full_query.encode(), int(now)),
               "Accept": "application/json", "User-Agent": "Chappe-CRM/1"}
    return urlunsplit((parts.scheme, parts.netloc, parts.path, full_query, "")), headers


def redirect_flow(*, account_id: str, reply: CrmReply,
                  own: FlowDefinition | None = None) -> FlowDefinition | None:
    """The flow a reply's redirect means (None: no redirect, or nothing of that name).
    `own`: the call's own flow, where a redirect to an agent goes on when they do not
    take the call."""
    if reply.redirect_kind == "queue":
        queue = _by_id_or_name(Queue.objects.filter(account_id=account_id), reply.redirect_to)
        if queue is not None:
            return flow_parse({"start": "crm", "nodes": {
                "crm": {"type": "queue", "queue_id": str(queue.pk)}}})
    elif reply.redirect_kind == "flow":
        flow = _by_id_or_name(CallFlow.objects.filter(account_id=account_id),
                              reply.redirect_to)
        version = flow.current if flow is not None else None
        if version is not None:
            return flow_parse(version.definition)
    elif reply.redirect_kind == "agent":
        return _agent_flow(account_id=account_id, to=reply.redirect_to, own=own)
    return None


def _agent_flow(*, account_id: str, to: str, own: FlowDefinition | None) -> FlowDefinition | None:
    """The call's own flow, started by ringing the agent (by id or extension) directly
    in one of their queues — one the own flow leads to, else their first — so the
    queue log, the statistics and their state see the call (decision 0057). Not free or
    not answering: the own flow from its start. An agent in no queue: no redirect."""
    agents = Agent.objects.filter(account_id=account_id)
    try:
        agent = agents.filter(pk=uuid.UUID(to)).first()
    except ValueError:
        agent = agents.filter(extension=to).first()
    if agent is None:
        return None
    queues = [str(q) for q in QueueMember.objects.filter(agent=agent)
              .values_list("queue_id", flat=True)]
    if not queues:
        logger.info("CRM redirect to agent %s, who answers no queue: the call goes on",
                    agent.pk)
        return None
    flow_queues = [q for q in flow_queue_ids(own) if q in queues]
    nodes = dict(own.nodes) if own is not None else {}
    name = next(f"crm-agent-{i}" for i in range(len(nodes) + 1)
                if f"crm-agent-{i}" not in nodes)
    nodes[name] = QueueNode(type="queue", queue_id=(flow_queues or queues)[0],
                            agent_id=str(agent.pk), next=own.start if own else None)
    return FlowDefinition(start=name, nodes=nodes)


def _by_id_or_name(rows, value: str):
    try:
        return rows.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        return rows.filter(name__iexact=value).first()


class DatabaseCrm:
    """`chappe.voice.crm.CrmLookup` on the database and the network (blocking work in a
    thread: the engine's loop never waits on it)."""

    def __init__(self, *, clock=time.time) -> None:
        self._clock = clock
        self._timeouts: dict[str, float] = {}

    def timeout_for(self, target: CallTarget) -> float:
        # The endpoint's timeout as last read, plus the thread's start (small), else the
        # default: known after the first lookup of the number.
        return self._timeouts.get(target.e164, DEFAULT_TIMEOUT) + 0.05

    async def lookup(self, target: CallTarget, remote_number: str) -> CrmAnswer | None:
        return await asyncio.to_thread(self.lookup_now, target, remote_number)

    def lookup_now(self, target: CallTarget, remote_number: str) -> CrmAnswer | None:
        """The lookup, in a thread of the engine's default executor: its connection goes
        back to the pool when it is done, not kept by the thread for its next task (an
        engine's idle executor threads held most of a process's pool)."""
        try:
            return self._lookup(target, remote_number)
        finally:
            connection.close()

    def _lookup(self, target: CallTarget, remote_number: str) -> CrmAnswer | None:
        close_old_connections()
        endpoint = endpoint_for(account_id=target.account_id, number=target.e164,
                                queue_ids=flow_queue_ids(target.definition))
        if endpoint is None:
            return None
        timeout = endpoint.timeout_ms / 1000
        self._timeouts[target.e164] = timeout
        url, headers = signed_url(endpoint, remote=remote_number, local=target.e164,
                                  now=self._clock())
        outcome = get(url, headers=headers, timeout=timeout)
        if outcome.failure:
            raise CrmFailed(outcome.failure, outcome.status_code)
        if not 200 <= (outcome.status_code or 0) < 300:
            raise CrmFailed(f"http_{outcome.status_code}", outcome.status_code)
        reply = parse_reply(outcome.body)
        return CrmAnswer(reply, redirect_flow(account_id=target.account_id, reply=reply,
                                              own=target.definition))

    async def observe(self, target: CallTarget, outcome: str, seconds: float,
                      redirected: bool) -> None:
        LOOKUPS.labels(outcome).inc()
        LATENCY.observe(seconds)
        logger.info("CRM lookup for %s: %s in %.0f ms%s", target.e164, outcome,
                    seconds * 1000, " (redirected)" if redirected else "")
        if outcome != "none":
            await asyncio.to_thread(self.record, target, outcome, seconds, redirected)

    @staticmethod
    def record(target: CallTarget, outcome: str, seconds: float, redirected: bool) -> None:
        try:
            CrmLookupRecord.objects.create(
                account_id=target.account_id, at=timezone.now(),
                call_number=target.e164[:16], outcome=outcome[:20],
                latency_ms=int(seconds * 1000), redirected=redirected)
        finally:
            connection.close()  # as in `lookup_now`


__all__ = ["CrmFailed", "CrmGarbage", "DatabaseCrm"]


# --- setting the endpoints (API) ------------------------------------------------------------


def crm_endpoint_set(*, actor, account, url: str, number: str = "", queue_id=None,
                     api_key: str = "", timeout_ms: int = 1500) -> CrmEndpoint:
    """Set the account's (or one of its numbers', or one of its queues') CRM endpoint,
    replacing the one before. A number that is not the account's is refused (422), a
    queue that is not the account's is not found (404)."""
    from django.conf import settings
    from django.db import transaction
    from django.utils.translation import gettext as _

    from chappe.agents.selectors import queue_get
    from chappe.audit.services import audit_record
    from chappe.callcenter.selectors import rental_list
    from chappe.common.errors import ValidationFailed
    from chappe.common.numbers import InvalidNumber, normalize
    from chappe.webhooks.services import callback_url_problem

    problem = callback_url_problem(url)
    if problem:
        raise ValidationFailed(details={"url": [problem]})
    if number and queue_id:
        raise ValidationFailed(details={"queue_id": [_("Name a number or a queue, not "
                                                       "both.")]})
    queue = queue_get(account=account, queue_id=queue_id) if queue_id else None
    if number:
        try:
            number = normalize(number, default_country=settings.CHAPPE_DEFAULT_COUNTRY).e164
        except InvalidNumber as exc:
            raise ValidationFailed(details={"number": [str(exc)]}) from exc
        if not rental_list(account=account).filter(number__e164=number).exists():
            raise ValidationFailed(details={"number": [_("This is not one of the "
                                                         "account's numbers.")]})
    with transaction.atomic():
        if queue is not None:
            endpoint, _created = CrmEndpoint.objects.update_or_create(
                account=account, queue=queue,
                defaults={"url": url, "api_key": api_key, "timeout_ms": timeout_ms})
        else:
            endpoint, _created = CrmEndpoint.objects.update_or_create(
                account=account, number=number, queue=None,
                defaults={"url": url, "api_key": api_key, "timeout_ms": timeout_ms})
        audit_record(actor=actor, account=account, action="agents.crm_endpoint.set",
                     target=endpoint, details={"url": url, "number": number,
                                               "queue_id": str(queue.pk) if queue else ""})
    return endpoint


def crm_endpoint_delete(*, actor, endpoint: CrmEndpoint) -> None:
    from django.db import transaction

    from chappe.audit.services import audit_record

    with transaction.atomic():
        audit_record(actor=actor, account=endpoint.account, action="agents.crm_endpoint.delete",
                     target=endpoint, details={"url": endpoint.url})
        endpoint.delete()
