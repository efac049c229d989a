"""The gateway role: dispatch due messages, collect receipts and replies, expire the
stale. Any number of copies can run against one PostgreSQL (claims use SKIP LOCKED).

The role owns its connectors: it builds them at start (`ConnectorFleet`: SMPP binds open
then), hands them to dispatch and polling, rebuilds those whose settings changed every
`RELOAD_EVERY` seconds, and stops them all — binds unbound cleanly — when it stops."""

import logging
import time

from django.db import close_old_connections, transaction
from django.utils import timezone

from chappe.carriers.base import ConnectorType
from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.selectors import routes_load
from chappe.common.stopping import stop_on_signals
from chappe.messaging.services.dispatch import dispatch_batch, messages_expire, receipts_apply
from chappe.messaging.services.replies import inbound_receive
from chappe.queue.jobs import worker_id

log = logging.getLogger("chappe.gateway")
EXPIRE_EVERY = 10.0
RELOAD_EVERY = 30.0


def gateway_poll(connectors: dict[str, ConnectorType]) -> int:
    """Apply what each connector has for us; a connector's receipts are consumed in the
    same transaction that applies them, so a crash in between loses nothing."""
    handled = 0
    for name, connector in connectors.items():
        with transaction.atomic():
            polled = connector.poll(timezone.now())
            matched = receipts_apply(connector=name, receipts=polled.receipts)
            # Stored in the same transaction that consumes them (deduplicated by carrier
            # id): a crash between the two cannot lose an MO.
            if polled.inbound:
                inbound_receive(connector=name, inbound=polled.inbound)
            connector.ack(matched, polled)
        handled += len(polled.receipts) + len(polled.inbound)
    return handled


def run_gateway(*, poll_seconds: float = 0.2, batch: int = 500) -> None:
    stop = stop_on_signals()
    me = worker_id()
    with ConnectorFleet(process=me) as fleet:
        connectors, routes = fleet.refresh(), routes_load()
        loaded_at = last_expiry = time.monotonic()
        log.info("gateway %s ready with connectors %s", me, sorted(connectors) or "none")
        while not stop.is_set():
            close_old_connections()
            try:
                if time.monotonic() - loaded_at > RELOAD_EVERY:
                    connectors, routes = fleet.refresh(), routes_load()
                    loaded_at = time.monotonic()
                # A connector reporting itself down (an SMPP link with no bind) is routed
                # around; its messages wait when no other route exists.
                down = {name for name, connector in connectors.items() if connector.down}
                busy = dispatch_batch(worker=me, connectors=connectors, routes=routes,
                                      down=down, limit=batch)
                busy += gateway_poll(connectors)
                if time.monotonic() - last_expiry > EXPIRE_EVERY:
                    messages_expire()
                    last_expiry = time.monotonic()
            except Exception:
                log.exception("gateway loop failed; retrying")
                busy = 0
            if not busy:
                stop.wait(poll_seconds)
    log.info("gateway %s stopped", me)
