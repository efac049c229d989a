"""The built-in RCS simulator, the RCS connector the demo uses (decision 0049).

It keeps its state in the SMS simulator's tables (`SimulatorMessage`,
`SimulatorInbound`): receipts and replies survive restarts and are never delivered twice.
Test numbers force each outcome (README "RCS test numbers"):

| number | outcome |
|---|---|
| +33600000201 | RCS-capable, delivered |
| +33600000202 | not RCS-capable: the SMS fallback goes instead |
| +33600000203 | delivered, then read |
| +33600000204 | delivered, then the user replies "Yes please" |
| +33600000205 | delivered, then the user taps the first suggestion |
| +33600000206 | capable but never delivered: the delayed fallback goes |
| any other | capable and delivered (`capable_by_default`), else not capable |
"""

import hashlib
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from pydantic import BaseModel, ConfigDict, Field

from chappe.carriers.base import ConnectionCheck, Outbound, PollResult, Receipt, SubmitResult
from chappe.carriers.rcs import READ, RcsInbound, RcsOutbound
from chappe.carriers.simulator.models import SimulatorInbound, SimulatorMessage

CAPABLE, NOT_CAPABLE, READS = "+33600000201", "+33600000202", "+33600000203"
REPLIES, CLICKS, SILENT = "+33600000204", "+33600000205", "+33600000206"
REPLY_TEXT = "Yes please"


class RcsSimulatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: int = Field(200, ge=0)
    capable_by_default: bool = True


def _first_suggestion(content: dict) -> dict | None:
    cards = content.get("cards") or ([content["card"]] if content.get("card") else [])
    for suggestion in [*(s for c in cards for s in c.get("suggestions", [])),
                       *content.get("suggestions", [])]:
        return suggestion
    return None


class RcsSimulatorConnector:
    Config = RcsSimulatorConfig
    label = gettext_lazy("Built-in RCS simulator")
    down = False
    carries_rcs = True

    def __init__(self, *, name: str, config: RcsSimulatorConfig) -> None:
        self.name = name
        self.latency = timedelta(milliseconds=config.latency_ms)
        self.capable_by_default = config.capable_by_default

    def start(self, *, process: str) -> None:
        """Nothing to open: the simulator lives in the database."""

    def stop(self) -> None:
        """Nothing to close."""

    def test(self, *, timeout: float) -> ConnectionCheck:
        return ConnectionCheck(ok=True, detail=_("The RCS simulator is always reachable."))

    def capabilities(self, recipients: list[str]) -> dict[str, bool]:
        return {r: r != NOT_CAPABLE and (self.capable_by_default or r in (
            CAPABLE, READS, REPLIES, CLICKS, SILENT)) for r in recipients}

    def submit(self, batch: list[Outbound]) -> list[SubmitResult]:
        """Plain SMS are not carried: each is refused (route SMS to another connector)."""
        return [SubmitResult(out.message_id, error_code="rcs_only") for out in batch]

    def submit_rich(self, batch: list[RcsOutbound]) -> list[SubmitResult]:
        now = timezone.now()
        results, rows, replies = [], [], []
        known = dict(SimulatorMessage.objects.filter(
            message_id__in=[out.message_id for out in batch]).values_list("message_id",
                                                                          "carrier_id"))
        for out in batch:
            if carrier_id := known.get(out.message_id):
                results.append(SubmitResult(out.message_id, carrier_message_id=carrier_id))
                continue
            if not self.capabilities([out.recipient])[out.recipient]:
                results.append(SubmitResult(out.message_id, error_code="rcs_not_capable"))
                continue
            carrier_id = "rcs-" + hashlib.sha1(out.message_id.encode()).hexdigest()[:16]  # noqa: S324
            outcome = READ if out.recipient == READS else "delivered"
            rows.append(SimulatorMessage(
                message_id=out.message_id, carrier_id=carrier_id, connector=self.name,
                recipient=out.recipient, sender=out.agent, text=str(out.content.get("type")),
                received_at=now, outcome=outcome,
                receipt_due_at=None if out.recipient == SILENT else now + self.latency))
            suggestion = _first_suggestion(out.content) if out.recipient == CLICKS else None
            if out.recipient == REPLIES or suggestion is not None:
                replies.append(SimulatorInbound(
                    connector=self.name, carrier_id=f"mo-{carrier_id}", from_number=out.recipient,
                    to=out.agent, text=suggestion["text"] if suggestion else REPLY_TEXT,
                    postback_data=(suggestion or {}).get("postback_data", "")))
            results.append(SubmitResult(out.message_id, carrier_message_id=carrier_id))
        with transaction.atomic():
            SimulatorMessage.objects.bulk_create(rows, ignore_conflicts=True)
            SimulatorInbound.objects.bulk_create(replies, ignore_conflicts=True)
        return results

    def poll(self, now: datetime) -> PollResult:
        result = PollResult()
        due = list(SimulatorMessage.objects.filter(
            connector=self.name, receipt_sent_at__isnull=True, receipt_due_at__lte=now,
        ).order_by("receipt_due_at")[:1000])
        for row in due:
            result.receipts.append(Receipt(row.carrier_id, "delivered", "", now))
            if row.outcome == READ:
                result.receipts.append(Receipt(row.carrier_id, READ, "", now))
        delivered = {row.carrier_id for row in due}
        # A reply comes after the message it answers was delivered.
        for mo in SimulatorInbound.objects.filter(
                connector=self.name, delivered_at__isnull=True).order_by("id")[:1000]:
            answered = mo.carrier_id.removeprefix("mo-")
            if answered in delivered or SimulatorMessage.objects.filter(
                    carrier_id=answered, receipt_sent_at__isnull=False).exists() or not \
                    answered.startswith("rcs-"):
                result.inbound.append(RcsInbound(mo.carrier_id, mo.from_number, mo.to, mo.text,
                                                 mo.created_at, postback_data=mo.postback_data))
        return result

    def ack(self, matched: set[str], polled: PollResult) -> None:
        now = timezone.now()
        SimulatorMessage.objects.filter(connector=self.name, carrier_id__in={
            r.carrier_message_id for r in polled.receipts}).update(receipt_sent_at=now)
        SimulatorInbound.objects.filter(
            connector=self.name, carrier_id__in=[mo.carrier_id for mo in polled.inbound]
        ).update(delivered_at=now)
