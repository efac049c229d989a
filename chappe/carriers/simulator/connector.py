"""The built-in carrier simulator, a connector like any other.

Test numbers force each outcome (documented in README "Test numbers"):

| number | outcome |
|---|---|
| +33600000001 | delivered after the configured latency |
| +33600000002 | undelivered, error `001` (unknown subscriber) |
| +33600000003 | never answered: the message expires after its validity |
| +33600000004 | rejected at submission, error `0x0000000B` (invalid destination) |
| +33600000005 | delivered slowly (after `slow_seconds`, 120 s by default) |
| +33600000006 | refused once with a throttling error, then accepted |
| any other | drawn from `outcomes` (default: all delivered) |

Settings (`SimulatorConfig`): `latency_ms` (default 200), `slow_seconds` (120),
`outcomes` (weights by outcome name, e.g. {"delivered": 95, "undelivered": 5}), `seed`.
It keeps no live link: starting, stopping and testing it have nothing to do.
"""

import hashlib
import random
from datetime import datetime, timedelta
from typing import Literal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field, field_validator

from chappe.carriers.base import (
    ConnectionCheck,
    Inbound,
    Outbound,
    PollResult,
    Receipt,
    SubmitResult,
)
from chappe.carriers.simulator.models import SimulatorInbound, SimulatorMessage
from chappe.smpp.test_numbers import TEST_NUMBERS

THROTTLE_CODE = "0x00000058"  # ESME_RTHROTTLED
RETRY_UNMATCHED = timedelta(seconds=2)
GIVE_UP_AFTER = timedelta(days=1)
Outcome = Literal["delivered", "undelivered", "expired", "rejected", "silent", "slow",
                  "throttled_once"]


class SimulatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: int = Field(200, ge=0)
    slow_seconds: int = Field(120, ge=0)
    # Weights of the outcomes drawn for numbers other than the test numbers; empty: all
    # delivered.
    outcomes: dict[Outcome, float] = Field(default_factory=dict)
    seed: int | str | None = None

    @field_validator("outcomes")
    @classmethod
    def _weights(cls, outcomes: dict[str, float]) -> dict[str, float]:
        if any(weight < 0 for weight in outcomes.values()) or (
                outcomes and not sum(outcomes.values()) > 0):
            raise ValueError(_("Weights are zero or more, and not all zero."))
        return outcomes


class SimulatorConnector:
    Config = SimulatorConfig
    label = gettext_lazy("Built-in simulator")
    down = False

    def __init__(self, *, name: str, config: SimulatorConfig) -> None:
        self.name = name
        self.latency = timedelta(milliseconds=config.latency_ms)
        self.slow = timedelta(seconds=config.slow_seconds)
        self.outcomes = config.outcomes or {"delivered": 1}
        self.random = random.Random(config.seed)  # noqa: S311 (a simulation, not crypto)
        self._throttled: set[str] = set()

    def start(self, *, process: str) -> None:
        """Nothing to open: the simulator lives in the database."""

    def stop(self) -> None:
        """Nothing to close."""

    def test(self, *, timeout: float) -> ConnectionCheck:
        return ConnectionCheck(ok=True, detail=_("The simulator is always reachable."))

    def _outcome(self, recipient: str) -> tuple[str, str]:
        if recipient in TEST_NUMBERS:
            return TEST_NUMBERS[recipient]
        names = list(self.outcomes)
        pick = self.random.choices(names, weights=[self.outcomes[n] for n in names])[0]
        return pick, ("001" if pick == "undelivered" else "")

    def submit(self, batch: list[Outbound]) -> list[SubmitResult]:
        now = timezone.now()
        results: list[SubmitResult] = []
        rows: list[SimulatorMessage] = []
        known = dict(SimulatorMessage.objects.filter(
            message_id__in=[out.message_id for out in batch]).values_list("message_id",
                                                                          "carrier_id"))
        if known:
            SimulatorMessage.objects.filter(message_id__in=known).update(
                resubmissions=F("resubmissions") + 1)
        for out in batch:
            if carrier_id := known.get(out.message_id):
                results.append(SubmitResult(out.message_id, carrier_message_id=carrier_id))
                continue
            outcome, error = self._outcome(out.recipient)
            if outcome == "rejected":
                results.append(SubmitResult(out.message_id, error_code=error))
                continue
            if outcome == "throttled_once" and out.message_id not in self._throttled:
                self._throttled.add(out.message_id)
                results.append(SubmitResult(out.message_id, error_code=THROTTLE_CODE, retry=True))
                continue
            carrier_id = hashlib.sha1(out.message_id.encode()).hexdigest()[:20]  # noqa: S324
            due = {"silent": None, "slow": now + self.slow}.get(outcome, now + self.latency)
            rows.append(SimulatorMessage(
                message_id=out.message_id, carrier_id=carrier_id, connector=self.name,
                recipient=out.recipient, sender=out.sender, text=out.text, received_at=now,
                outcome="delivered" if outcome in ("slow", "throttled_once") else outcome,
                error_code=error, receipt_due_at=due,
            ))
            results.append(SubmitResult(out.message_id, carrier_message_id=carrier_id))
        # ignore_conflicts: a message resubmitted after a crash is already here, once.
        with transaction.atomic():
            SimulatorMessage.objects.bulk_create(rows, ignore_conflicts=True)
        return results

    def poll(self, now: datetime) -> PollResult:
        result = PollResult()
        due = SimulatorMessage.objects.filter(
            connector=self.name, receipt_sent_at__isnull=True, receipt_due_at__lte=now,
        ).order_by("receipt_due_at")[:1000]
        for row in due:
            result.receipts.append(Receipt(row.carrier_id, row.outcome, row.error_code, now))
        for mo in SimulatorInbound.objects.filter(
                connector=self.name, delivered_at__isnull=True).order_by("id")[:1000]:
            result.inbound.append(Inbound(mo.carrier_id, mo.from_number, mo.to, mo.text,
                                          mo.created_at))
        return result

    def ack(self, matched: set[str], polled: PollResult) -> None:
        """Receipts the platform matched are consumed; an unmatched one (its message's
        submission not recorded yet) is offered again a little later, for a day."""
        now = timezone.now()
        SimulatorMessage.objects.filter(connector=self.name, carrier_id__in=matched).update(
            receipt_sent_at=now)
        unmatched = [r.carrier_message_id for r in polled.receipts
                     if r.carrier_message_id not in matched]
        stale = SimulatorMessage.objects.filter(connector=self.name, carrier_id__in=unmatched)
        stale.filter(received_at__lt=now - GIVE_UP_AFTER).update(receipt_sent_at=now)
        stale.filter(receipt_sent_at__isnull=True).update(receipt_due_at=now + RETRY_UNMATCHED)
        SimulatorInbound.objects.filter(
            connector=self.name, carrier_id__in=[mo.carrier_id for mo in polled.inbound]
        ).update(delivered_at=now)


def simulator_inject_mo(
    *, connector: str, from_number: str, to: str, text: str
) -> SimulatorInbound:
    """Queue an inbound message (a reply from a handset) for the simulator to deliver."""
    while True:
        carrier_id = f"mo-{random.getrandbits(64):016x}"
        try:
            with transaction.atomic():
                return SimulatorInbound.objects.create(connector=connector, carrier_id=carrier_id,
                                                       from_number=from_number, to=to, text=text)
        except IntegrityError:
            continue
