"""`SmppConnector`: the platform as an ESME bound to a carrier's SMSC (connector type
"smpp"; its settings are `SmppConfig`).

The gateway that runs it calls `start()`, which opens the binds (an `Engine`, owned by
this connector until `stop()`); `submit(batch)` hands the batch to the engine's loop and
blocks until every message has its submit_sm_resp (or an error). A single-part message's
carrier id is the SMSC's id; a multi-part message's is `<part 1 id>#<parts>`, and each
part's id is recorded in `SmppPart` so per-part receipts aggregate: delivered when every
part is, else the first failing part's status.

Receipts and MOs reach `SmppInbox` through the engine before they are acknowledged;
`poll()` reads the inbox (rows locked for this gateway's transaction, skipped by others),
`ack()` deletes what the gateway applied, in its transaction. Concatenated MOs (UDH 8/16,
SAR) are kept per part and reassembled at poll time (bytes joined, then decoded: UCS-2
exact).

`test()` opens one bind of its own with the configured credentials and unbinds, for the
admin's "Test connection": it needs no engine and leaves the gateway's binds alone.
"""

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chappe.carriers.base import (
    ConnectionCheck,
    Inbound,
    Outbound,
    PollResult,
    Receipt,
    SubmitResult,
)
from chappe.carriers.smpp.config import SmppConfig
from chappe.carriers.smpp.engine import Engine
from chappe.carriers.smpp.models import SmppInbox, SmppPart
from chappe.common.leases import lease_free, rows_lock
from chappe.smpp import pdu as P
from chappe.smpp import text as T
from chappe.smpp.transport import CommandStatusError, Session, SmppError

RETRY_UNMATCHED = timedelta(seconds=2)
GIVE_UP_AFTER = timedelta(days=1)
MO_PART_TIMEOUT = timedelta(hours=1)
POLL_LIMIT = 2000


@dataclass
class SmppPoll(PollResult):
    # Inbox row ids behind each receipt's carrier id / each MO.
    receipt_rows: dict[str, list[int]] = field(default_factory=dict)
    inbound_rows: dict[str, list[int]] = field(default_factory=dict)
    # Rows to offer again later (parts waiting for the others).
    deferred: list[int] = field(default_factory=list)


class SmppConnector:
    Config = SmppConfig
    label = gettext_lazy("SMPP 3.4")

    def __init__(self, *, name: str, config: SmppConfig) -> None:
        self.name = name
        self.settings = config
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError(f"SMPP connector {self.name} is not started")
        return self._engine

    @property
    def down(self) -> bool:
        return self.engine.is_down()

    def start(self, *, process: str) -> None:
        self._engine = Engine(self.name, self.settings, process)

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.stop()

    def test(self, *, timeout: float) -> ConnectionCheck:
        return asyncio.run(self._bind_once(timeout))

    async def _bind_once(self, timeout: float) -> ConnectionCheck:
        s = self.settings
        mode = "trx" if s.bind_mode == "trx" else "tx"
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(s.host, s.port)
                session = Session(reader, writer, window=1, response_timeout=timeout + 1,
                                  enquire_link=s.enquire_link, name=f"{self.name}-test")
                runner = asyncio.create_task(session.run())
                try:
                    await session.request(P.bind(mode, system_id=s.system_id,
                                                 password=s.password,
                                                 system_type=s.system_type),
                                          windowed=False)
                    session.mode = mode
                    await session.unbind(timeout=timeout)
                finally:
                    session.close()
                    await runner
        except TimeoutError:
            return ConnectionCheck(ok=False, detail=_(
                "No answer from %(host)s:%(port)s within %(seconds)s s.")
                % {"host": s.host, "port": s.port, "seconds": timeout})
        except CommandStatusError as exc:
            return ConnectionCheck(ok=False, detail=_("Bind refused by the SMSC: %(status)s.")
                                   % {"status": P.status_name(exc.status)})
        except (OSError, SmppError) as exc:
            return ConnectionCheck(ok=False, detail=_(
                "Could not connect to %(host)s:%(port)s: %(error)s.")
                % {"host": s.host, "port": s.port, "error": exc})
        return ConnectionCheck(ok=True, detail=_(
            "Bound to %(host)s:%(port)s as %(system_id)s (%(mode)s) and unbound in "
            "%(ms)d ms.") % {"host": s.host, "port": s.port, "system_id": s.system_id,
                             "mode": mode, "ms": (time.monotonic() - started) * 1000})

    # -- submit ---------------------------------------------------------------------
    def submit(self, batch: list[Outbound]) -> list[SubmitResult]:
        s = self.settings
        # Keep a call well inside the dispatcher's 60 s lease: at a low cap, take what
        # fits in ~20 s now and let the rest come back shortly.
        budget = len(batch) if s.max_mps <= 0 else max(1, int(s.max_mps * 20))
        now_batch, later = batch[:budget], batch[budget:]
        timeout = s.bind_wait + s.response_timeout * 3 + 30
        outcomes = self.engine.call(self.engine.submit_many(now_batch), timeout)
        parts = [SmppPart(connector=self.name, head=o.result.carrier_message_id, smsc_id=smsc,
                          seq=seq, total=o.total)
                 for o in outcomes if o.total > 1 and o.result.carrier_message_id
                 for seq, smsc in o.parts.items()]
        if parts:
            SmppPart.objects.bulk_create(parts)
        return [o.result for o in outcomes] + [
            SubmitResult(out.message_id, error_code="paced", retry=True) for out in later]

    # -- receipts and MOs -----------------------------------------------------------
    def poll(self, now: datetime) -> SmppPoll:
        result = SmppPoll()
        # Called in the gateway's transaction: the rows stay locked until it commits the
        # receipts they carry, and another gateway polling meanwhile skips them.
        due = (SmppInbox.objects.filter(connector=self.name)
               .filter(lease_free(now, "next_try_at")).order_by("id"))
        rows = rows_lock(due, limit=POLL_LIMIT)
        if not rows:
            return result
        receipts = [r for r in rows if r.kind == SmppInbox.RECEIPT]
        part_of = {p.smsc_id: p for p in SmppPart.objects.filter(
            connector=self.name, smsc_id__in=[r.carrier_id for r in receipts])}
        heads: set[str] = set()
        for row in receipts:
            part = part_of.get(row.carrier_id)
            if part is None:
                result.receipts.append(Receipt(row.carrier_id, row.status, row.error_code,
                                               row.at))
                result.receipt_rows.setdefault(row.carrier_id, []).append(row.id)
            else:
                heads.add(part.head)
        if heads:
            self._aggregate(heads, result)
        mos = [r for r in rows if r.kind == SmppInbox.MO]
        for row in mos:
            if not row.concat_key:
                result.inbound.append(Inbound(row.carrier_id, row.from_number, row.to,
                                              T.decode(bytes(row.body), row.data_coding),
                                              row.at))
                result.inbound_rows[row.carrier_id] = [row.id]
        keys = {r.concat_key for r in mos if r.concat_key}
        if keys:
            self._reassemble(keys, now, result)
        return result

    def _aggregate(self, heads: set[str], result: SmppPoll) -> None:
        parts: dict[str, dict[int, str]] = defaultdict(dict)
        for part in SmppPart.objects.filter(connector=self.name, head__in=heads):
            parts[part.head][part.seq] = part.smsc_id
        ids = [smsc for by_seq in parts.values() for smsc in by_seq.values()]
        receipts = defaultdict(list)
        for row in SmppInbox.objects.filter(connector=self.name, kind=SmppInbox.RECEIPT,
                                            carrier_id__in=ids):
            receipts[row.carrier_id].append(row)
        for head, by_seq in parts.items():
            total = int(head.rsplit("#", 1)[1])
            got = {seq: receipts[smsc][0] for seq, smsc in by_seq.items() if receipts[smsc]}
            rows = [row.id for smsc in by_seq.values() for row in receipts[smsc]]
            failed = [got[seq] for seq in sorted(got) if got[seq].status != "delivered"]
            if failed:
                first = failed[0]
                result.receipts.append(Receipt(head, first.status, first.error_code, first.at))
            elif len(got) == total:
                result.receipts.append(Receipt(head, "delivered", "",
                                               max(row.at for row in got.values())))
            else:
                result.deferred.extend(rows)
                continue
            result.receipt_rows[head] = rows

    def _reassemble(self, keys: set[str], now: datetime, result: SmppPoll) -> None:
        groups = defaultdict(list)
        for row in SmppInbox.objects.filter(connector=self.name, kind=SmppInbox.MO,
                                            concat_key__in=keys).order_by("id"):
            groups[row.concat_key].append(row)
        for _key, rows in groups.items():
            first = rows[0]
            by_seq = {row.part_seq: bytes(row.body) for row in rows}
            text = T.reassemble(by_seq, first.part_total, first.data_coding)
            if text is None and now - first.at > MO_PART_TIMEOUT:
                # Parts lost by the network: deliver what arrived rather than nothing.
                text = T.decode(b"".join(by_seq[k] for k in sorted(by_seq)), first.data_coding)
            if text is None:
                result.deferred.extend(row.id for row in rows)
                continue
            result.inbound.append(Inbound(first.carrier_id, first.from_number, first.to, text,
                                          first.at))
            result.inbound_rows[first.carrier_id] = [row.id for row in rows]

    def ack(self, matched: set[str], polled: PollResult) -> None:
        if not isinstance(polled, SmppPoll):
            return
        now = timezone.now()
        consumed = [i for cid in matched for i in polled.receipt_rows.get(cid, [])]
        consumed += [i for rows in polled.inbound_rows.values() for i in rows]
        unmatched = [i for r in polled.receipts if r.carrier_message_id not in matched
                     for i in polled.receipt_rows.get(r.carrier_message_id, [])]
        stale = [r.carrier_message_id for r in polled.receipts
                 if r.carrier_message_id not in matched and r.at and now - r.at > GIVE_UP_AFTER]
        if consumed:
            SmppInbox.objects.filter(pk__in=consumed).delete()
        multi = [cid for cid in matched if "#" in cid]
        if multi:
            SmppPart.objects.filter(connector=self.name, head__in=multi).delete()
        if stale:
            SmppInbox.objects.filter(
                pk__in=[i for cid in stale for i in polled.receipt_rows.get(cid, [])]).delete()
        later = [i for i in unmatched + polled.deferred]
        if later:
            SmppInbox.objects.filter(pk__in=later).update(next_try_at=now + RETRY_UNMATCHED)
