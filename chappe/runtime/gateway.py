"""The gateway role: dispatch due messages, collect receipts and replies, expire the
stale. Any number of copies can run against one PostgreSQL (claims use SKIP LOCKED).

The role owns its connectors: it builds them at start (`ConnectorFleet`: SMPP binds open
then), rebuilds those whose settings changed every `RELOAD_EVERY` seconds, and stops them
all — binds unbound cleanly — when it stops.

One dispatcher per connector (`ConnectorLane`): each connector has its own threads, one
submitting the batches routed to it, one polling its receipts and replies, so a slow or
hung carrier delays only its own messages. The main thread claims due messages, routes
them, hands each lane what it has room for (the rest goes back to the queue for a few
seconds), expires the stale, and keeps the leases of everything claimed but not yet
recorded alive (`dispatch_extend`, every third of the lease): a batch that takes longer
than the lease is never taken and resent by another gateway. If the gateway dies, the
heartbeats stop, the leases run out and another copy takes the messages over; a message
it resubmits carries the same id, which connectors recognise (the simulator, our SMSC
simulator through the SMPP reference TLV), so nothing is lost or sent twice.
"""

import logging
import queue
import threading
import time
from datetime import timedelta

from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from chappe.carriers.base import ConnectorType
from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.rcs import carries_rcs
from chappe.carriers.selectors import routes_load
from chappe.common.stopping import stop_on_signals
from chappe.inbox.carrier_events import carrier_events_apply
from chappe.messaging.models import Message
from chappe.messaging.rcs.dispatch import rcs_dispatch, rcs_fallback_due
from chappe.messaging.services.dispatch import (
    LEASE,
    dispatch_claim_routed,
    dispatch_extend,
    dispatch_release,
    dispatch_submit,
    messages_expire,
)
from chappe.queue.jobs import worker_id

log = logging.getLogger("chappe.gateway")
EXPIRE_EVERY = 10.0
RELOAD_EVERY = 30.0
# Messages given back when their connector's lane is full: due again this much later.
SATURATED_DELAY = timedelta(seconds=1)


def gateway_poll(connectors: dict[str, ConnectorType]) -> int:
    """Apply what each connector has for us; a connector's receipts are consumed in the
    same transaction that applies them, so a crash in between loses nothing."""
    handled = 0
    for name, connector in connectors.items():
        with transaction.atomic():
            polled = connector.poll(timezone.now())
            # Consumed in the same transaction that applies them (MOs deduplicated by
            # carrier id): a crash between the two cannot lose anything.
            matched = carrier_events_apply(connector=name, events=polled)
            connector.ack(matched, polled)
        handled += len(polled.receipts) + len(polled.inbound)
    return handled


class ConnectorLane:
    """The dispatcher of one connector: a sender thread submitting the batches handed
    to it in order, and a poller thread applying its receipts and replies. `held` is
    every message handed to the lane and not yet recorded: the gateway keeps their
    leases alive, and hands the lane no more than `capacity` of them at a time."""

    def __init__(self, name: str, connector: ConnectorType, *, worker: str,
                 poll_seconds: float, capacity: int) -> None:
        self.name, self.connector, self.worker = name, connector, worker
        self.poll_seconds, self.capacity = poll_seconds, capacity
        self._batches: queue.Queue[list[Message] | None] = queue.Queue()
        self._held: set = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(self._send,), daemon=True,
                             name=f"send:{name}"),
            threading.Thread(target=self._run, args=(self._poll,), daemon=True,
                             name=f"poll:{name}"),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def room(self) -> int:
        with self._lock:
            return max(0, self.capacity - len(self._held))

    def held(self) -> list:
        with self._lock:
            return list(self._held)

    def offer(self, messages: list[Message]) -> None:
        with self._lock:
            self._held.update(m.id for m in messages)
        self._batches.put(messages)

    def close(self) -> None:
        """Stop taking work; what is waiting for the sender goes back to the queue. A
        submit in progress is left to finish (the threads are daemons: a hung carrier
        does not keep the process alive, and its leases simply run out)."""
        self._closed.set()
        self._batches.put(None)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, step) -> None:
        try:
            while not self._closed.is_set():
                try:
                    busy = step()
                except Exception:
                    log.exception("connector %s: %s failed; retrying", self.name,
                                  step.__name__.strip("_"))
                    busy = False
                finally:
                    # Back to the pool before waiting (PostgreSQL): an idle lane holds no
                    # connection, so a gateway needs about one per busy thread.
                    close_old_connections()
                if not busy:
                    self._closed.wait(self.poll_seconds)
        finally:
            connection.close()

    def _send(self) -> bool:
        batch = self._batches.get()
        if batch is None or self._closed.is_set():
            self._give_back([batch, *self._drain()])
            return False
        try:
            dispatch_submit(name=self.name, connector=self.connector, messages=batch,
                            worker=self.worker)
        except Exception:
            # The outcome is unknown: the messages go back to the queue and are resent
            # with the same id, which the connector recognises.
            dispatch_release(ids=[m.id for m in batch])
            raise
        finally:
            with self._lock:
                self._held.difference_update(m.id for m in batch)
        return True

    def _drain(self) -> list[list[Message] | None]:
        batches = []
        while not self._batches.empty():
            batches.append(self._batches.get_nowait())
        return batches

    def _give_back(self, batches: list[list[Message] | None]) -> None:
        ids = [m.id for batch in batches if batch for m in batch]
        dispatch_release(ids=ids, delay=timedelta(0))
        with self._lock:
            self._held.difference_update(ids)

    def _poll(self) -> bool:
        return bool(gateway_poll({self.name: self.connector}))


class Gateway:
    """The main thread's side of the role: lanes in step with the fleet, claims, routing,
    heartbeats, expiry."""

    def __init__(self, *, worker: str, fleet: ConnectorFleet, poll_seconds: float,
                 batch: int, lease: timedelta) -> None:
        self.worker, self.fleet, self.poll_seconds = worker, fleet, poll_seconds
        self.batch, self.lease = batch, lease
        self.lanes: dict[str, ConnectorLane] = {}
        # Lanes of connectors rebuilt or removed, until their last submit returns: what
        # they hold stays leased meanwhile.
        self.closing: list[ConnectorLane] = []
        self.routes = []
        self.last = dict.fromkeys(("reload", "expiry", "heartbeat"), time.monotonic())

    def _due(self, what: str, every: float) -> bool:
        if time.monotonic() - self.last[what] < every:
            return False
        self.last[what] = time.monotonic()
        return True

    def reload(self) -> None:
        """Lanes in step with the fleet: a connector rebuilt (its settings changed) gets
        a new lane, one removed loses its lane."""
        connectors, self.routes = self.fleet.refresh(), routes_load()
        for name, lane in list(self.lanes.items()):
            if connectors.get(name) is not lane.connector:
                lane.close()
                self.closing.append(self.lanes.pop(name))
        for name, connector in connectors.items():
            if name not in self.lanes:
                self.lanes[name] = ConnectorLane(name, connector, worker=self.worker,
                                                 poll_seconds=self.poll_seconds,
                                                 capacity=self.batch * 2)

    def heartbeat(self) -> None:
        self.closing = [lane for lane in self.closing if lane.held()]
        held = [i for lane in [*self.lanes.values(), *self.closing] for i in lane.held()]
        if held:
            dispatch_extend(worker=self.worker, ids=held, lease=self.lease)

    def dispatch(self) -> int:
        """Claim one batch and hand it to the lanes; returns how many claimed messages
        were dealt with (those given back because their lane is full are not: when that
        is all, the loop rests). With no connector at all, claims still run: the messages
        are rejected for want of a route, as by any gateway."""
        if self.lanes and not any(lane.room for lane in self.lanes.values()):
            return 0
        now = timezone.now()
        # A connector reporting itself down (an SMPP link with no bind) is routed around;
        # its messages wait when no other route exists.
        down = {name for name, lane in self.lanes.items() if lane.connector.down}
        claimed, routed = dispatch_claim_routed(worker=self.worker, limit=self.batch,
                                                routes=self.routes, running=self.lanes,
                                                down=down, now=now, lease=self.lease)
        given_back = 0
        for name, messages in routed.items():
            lane = self.lanes[name]
            room = lane.room
            if messages[:room]:
                lane.offer(messages[:room])
            dispatch_release(ids=[m.id for m in messages[room:]], now=now,
                             delay=SATURATED_DELAY)
            given_back += len(messages[room:])
        return claimed - given_back

    def step(self) -> int:
        if self._due("reload", RELOAD_EVERY):
            self.reload()
        if self._due("heartbeat", self.lease.total_seconds() / 3):
            self.heartbeat()
        busy = self.dispatch()
        # RCS (decision 0049): capability, rich send or SMS fallback, in this thread.
        busy += rcs_dispatch(worker=self.worker, limit=self.batch, connectors={
            name: lane.connector for name, lane in self.lanes.items()
            if carries_rcs(lane.connector)})
        if self._due("expiry", EXPIRE_EVERY):
            messages_expire()
            rcs_fallback_due()
        return busy

    def close(self) -> None:
        for lane in self.lanes.values():
            lane.close()
        for lane in [*self.lanes.values(), *self.closing]:
            lane.join(timeout=10)


def run_gateway(*, poll_seconds: float = 0.2, batch: int = 500, lease: timedelta = LEASE,
                stop: threading.Event | None = None) -> None:
    """Run until `stop` is set (by SIGINT/SIGTERM when not given)."""
    stop = stop or stop_on_signals()
    me = worker_id()
    with ConnectorFleet(process=me) as fleet:
        gateway = Gateway(worker=me, fleet=fleet, poll_seconds=poll_seconds, batch=batch,
                          lease=lease)
        try:
            gateway.reload()
            log.info("gateway %s ready with connectors %s", me, sorted(gateway.lanes) or "none")
            while not stop.is_set():
                close_old_connections()
                try:
                    busy = gateway.step()
                except Exception:
                    log.exception("gateway loop failed; retrying")
                    busy = 0
                if not busy:
                    stop.wait(poll_seconds)
        finally:
            gateway.close()
            connection.close()
    log.info("gateway %s stopped", me)
