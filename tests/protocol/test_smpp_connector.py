"""SmppConnector against the SMSC simulator over real TCP (127.0.0.1, ephemeral ports)."""

import socket
import struct
import time

import pytest
from django.db import transaction
from django.utils import timezone

from chappe.carriers.base import Outbound
from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.models import Connector, SmppBindState
from chappe.carriers.smpp.connector import SmppConnector
from chappe.carriers.smpp.models import SmppInbox
from tests.processes import wait_for
from tests.protocol.conftest import retry_locked

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LONG_GSM = "Bonjour à tous, ceci est un long message {avec} des € et des [crochets]. " * 5
LONG_UCS2 = "Привет мир 👋🏽 — message long en UCS-2, ça marche? " * 4


def _out(i: int, recipient: str = "+33600000001", text: str = "Bonjour",
         encoding: str = "gsm7") -> Outbound:
    return Outbound(f"msg-{i}", recipient, "Chappe", text, encoding, 1)


def _poll_until(connector: SmppConnector, count: int, timeout: float = 5.0,
                known: set[str] | None = None):
    """Poll and ack as the gateway does (one transaction). Receipts for `known` carrier
    ids match (all when None); others are left for later, like unmatched ones."""
    receipts, inbound = [], []
    deadline = time.monotonic() + timeout

    def once() -> None:
        with transaction.atomic():
            polled = connector.poll(timezone.now())
            matched = {r.carrier_message_id for r in polled.receipts
                       if known is None or r.carrier_message_id in known}
            receipts.extend(r for r in polled.receipts if r.carrier_message_id in matched)
            inbound.extend(polled.inbound)
            connector.ack(matched, polled)

    while (time.monotonic() < deadline
           and len({r.carrier_message_id for r in receipts}) + len(inbound) < count):
        retry_locked(once)
        time.sleep(0.05)
    return receipts, inbound


def test_outcomes_of_the_test_numbers(smsc, smpp_connector):
    sim = smsc(latency=0.01)
    connector = smpp_connector(sim)
    numbers = [f"+3360000000{n}" for n in range(1, 7)]
    results = connector.submit([_out(i, n) for i, n in enumerate(numbers)])
    by_number = dict(zip(numbers, results, strict=True))
    assert by_number["+33600000004"].error_code == "0x0000000B"
    assert not by_number["+33600000004"].retry
    assert by_number["+33600000006"].retry  # throttled once: back off, never fail
    assert len([r for r in results if r.carrier_message_id and not r.error_code]) == 4
    [again] = connector.submit([_out(5, "+33600000006")])
    assert again.carrier_message_id
    assert not again.retry
    receipts, _ = _poll_until(connector, 3)
    statuses = {r.carrier_message_id: (r.status, r.error_code) for r in receipts}
    assert statuses[by_number["+33600000001"].carrier_message_id] == ("delivered", "")
    assert statuses[by_number["+33600000002"].carrier_message_id] == ("undelivered", "001")
    assert statuses[again.carrier_message_id] == ("delivered", "")
    assert by_number["+33600000003"].carrier_message_id not in statuses  # silent
    assert SmppInbox.objects.count() == 0  # consumed


def test_window_caps_outstanding_submits(smsc, smpp_connector):
    sim = smsc(ack_delay=0.02)
    connector = smpp_connector(sim, window=4)
    started = time.monotonic()
    results = connector.submit([_out(i) for i in range(40)])
    assert all(r.carrier_message_id for r in results)
    assert sim.sim.stats["max_outstanding"] == 4
    assert time.monotonic() - started >= 40 / 4 * 0.02 * 0.8


def test_throughput_cap(smsc, smpp_connector):
    sim = smsc()
    connector = smpp_connector(sim, max_mps=50)
    started = time.monotonic()
    connector.submit([_out(i) for i in range(25)])
    assert time.monotonic() - started >= 0.45


def test_throttling_backs_off_and_never_fails(smsc, smpp_connector):
    sim = smsc()
    connector = smpp_connector(sim)
    sim.config.throttle = True
    results = connector.submit([_out(i) for i in range(5)])
    assert all(r.retry for r in results)
    assert {r.error_code for r in results} == {"0x00000058"}
    assert connector.engine._pause_until > time.monotonic() - 1
    sim.config.throttle = False
    results = connector.submit([_out(i) for i in range(5)])
    assert all(r.carrier_message_id for r in results)
    assert not any(r.retry for r in results)


def test_dropped_bind_loses_nothing_and_sends_nothing_twice(smsc, smpp_connector):
    sim = smsc(latency=0.01, ack_delay=0.005)
    connector = smpp_connector(sim, window=5)
    sim.config.drop_after_submits = 7
    pending = [_out(i, text=LONG_GSM if i % 3 == 0 else "Court") for i in range(30)]
    done = {}
    for _attempt in range(10):
        results = connector.submit(pending)
        done |= {r.message_id: r.carrier_message_id for r in results if r.carrier_message_id}
        pending = [o for o, r in zip(pending, results, strict=True) if r.retry]
        if not pending:
            break
        wait_for(lambda: connector.engine.transmitters, 5, "the rebind")
    assert not pending
    assert sim.sim.stats["dropped_binds"] == 1
    assert connector.engine.slots[0].reconnects >= 1
    # Every part reached the SMSC once; a part resent after the drop was recognised.
    assert sim.sim.stats["duplicates"] >= 1
    refs = [m.ref for m in sim.sim.messages.values()]
    assert len(refs) == len(set(refs)) == 10 * 3 + 20
    receipts, _ = _poll_until(connector, 30, timeout=15, known=set(done.values()))
    # A receipt stored just before the drop may come again (its resp was lost): at least
    # once, and applying it twice changes nothing.
    assert {r.carrier_message_id for r in receipts} == set(done.values())
    assert all(r.status == "delivered" for r in receipts)


def test_unbound_connector_is_down_and_rebinds(smsc, smpp_connector, smpp_start):
    sim = smsc()
    connector = smpp_connector(sim)
    sim.call(sim.sim.drop_binds)
    wait_for(lambda: connector.engine.slots[0].reconnects == 1, 5, "the rebind")
    assert not connector.down
    nowhere = socket.socket()
    nowhere.bind(("127.0.0.1", 0))
    port = nowhere.getsockname()[1]
    nowhere.close()
    dead = smpp_start("smpp-dead", {"host": "127.0.0.1", "port": port, "system_id": "x",
                                    "password": "y", "reconnect_min": 0.1})
    wait_for(lambda: dead.down, 5, "the dead connector to report down")
    [result] = dead.submit([_out(1)])
    assert result.retry
    assert result.error_code == "unbound"
    wrong = smpp_start("smpp-wrong", {"host": "127.0.0.1", "port": sim.port,
                                      "system_id": "chappe", "password": "nope"})
    wait_for(lambda: wrong.down, 5, "a refused bind to report down")
    assert "ESME_RINVPASWD" in wrong.engine.slots[0].last_error


@pytest.mark.parametrize("method", ["udh8", "udh16", "sar", "payload"])
@pytest.mark.parametrize("text", [LONG_GSM, LONG_UCS2], ids=["gsm", "ucs2"])
def test_long_messages_each_method(smsc, smpp_connector, method, text):
    sim = smsc(latency=0.01)
    connector = smpp_connector(sim, long_method=method)
    encoding = "gsm7" if text == LONG_GSM else "ucs2"
    [result] = connector.submit([_out(1, text=text, encoding=encoding)])
    messages = sorted(sim.sim.messages.values(), key=lambda m: (m.concat or (0, 0, 1))[2])
    if method == "payload":
        assert len(messages) == 1
        assert messages[0].payload
        assert "#" not in result.carrier_message_id
    else:
        assert len(messages) > 1
        assert result.carrier_message_id == f"{messages[0].id}#{len(messages)}"
    assert {m.data_coding for m in messages} == {0 if encoding == "gsm7" else 8}
    body = b"".join(m.body for m in messages)
    if encoding == "ucs2":
        assert body == text.encode("utf-16-be")  # byte-exact
    assert "".join(m.text for m in messages) == text if encoding == "gsm7" else True
    receipts, _ = _poll_until(connector, 1, known={result.carrier_message_id})
    assert [(r.carrier_message_id, r.status) for r in receipts] == [
        (result.carrier_message_id, "delivered")]


def test_multipart_is_undelivered_if_a_part_is(smsc, smpp_connector):
    sim = smsc(latency=0.01)
    connector = smpp_connector(sim)
    [result] = connector.submit([_out(1, "+33600000002", text=LONG_GSM)])
    receipts, _ = _poll_until(connector, 1, known={result.carrier_message_id})
    assert [(r.carrier_message_id, r.status, r.error_code) for r in receipts] == [
        (result.carrier_message_id, "undelivered", "001")]


@pytest.mark.parametrize(("sim_ids", "receipt_ids"), [("hex", "hex"), ("hex", "decimal"),
                                                      ("decimal", "decimal")])
def test_receipt_ids_from_text_hex_and_decimal(smsc, smpp_connector, sim_ids, receipt_ids):
    sim = smsc(latency=0.01, id_format=sim_ids, receipt_id_format=receipt_ids,
               receipt_tlvs=False)
    connector = smpp_connector(sim, message_id_format=sim_ids, receipt_id_format=receipt_ids)
    results = connector.submit([_out(i) for i in range(5)])
    receipts, _ = _poll_until(connector, 5)
    assert sorted(r.carrier_message_id for r in receipts) == sorted(
        r.carrier_message_id for r in results)


def test_mo_single_and_concatenated_ucs2(smsc, smpp_connector):
    sim = smsc()
    connector = smpp_connector(sim)
    long_reply = "Réponse longue 😀 en UCS-2 — " * 8
    sim.call(sim.sim.inject_mo, system_id="chappe", source="+33612345678",
             destination="Chappe", text="STOP")
    parts = sim.call(sim.sim.inject_mo, system_id="chappe", source="+33612345679",
                     destination="Chappe", text=long_reply, method="udh16", ref=700)
    sar = sim.call(sim.sim.inject_mo, system_id="chappe", source="+33612345670",
                   destination="Chappe", text=LONG_GSM, method="sar", ref=3)
    assert parts > 1
    assert sar > 1
    _, inbound = _poll_until(connector, 3)
    texts = {mo.from_number: mo.text for mo in inbound}
    assert texts == {"+33612345678": "STOP", "+33612345679": long_reply,
                     "+33612345670": LONG_GSM}
    assert retry_locked(SmppInbox.objects.count) == 0


def test_a_failed_inbox_write_is_retried_by_the_smsc(smsc, smpp_connector, monkeypatch):
    from chappe.carriers.smpp import engine as module

    sim = smsc()
    connector = smpp_connector(sim)
    real, calls = module._store_rows, []

    def flaky(rows):
        calls.append(len(rows))
        if len(calls) == 1:
            raise RuntimeError("database unavailable")
        real(rows)

    monkeypatch.setattr(module, "_store_rows", flaky)
    sim.call(sim.sim.inject_mo, system_id="chappe", source="+33612345678",
             destination="Chappe", text="Hello")
    _, inbound = _poll_until(connector, 1)
    assert [mo.text for mo in inbound] == ["Hello"]
    assert sim.sim.stats["mo_retried"] == 1


def test_garbage_gets_generic_nack_and_the_session_goes_on(smsc):
    sim = smsc()
    with socket.create_connection(("127.0.0.1", sim.port), timeout=2) as sock:
        sock.sendall(struct.pack(">IIII", 16, 0x00000077, 0, 1))  # unknown command id
        _length, command, status, seq = struct.unpack(">IIII", sock.recv(16))
        assert (command, status, seq) == (0x80000000, 0x03, 1)
        sock.sendall(struct.pack(">IIII", 16, 0x00000015, 0, 2))  # enquire_link
        assert struct.unpack(">IIII", sock.recv(16))[1:] == (0x80000015, 0, 2)
        # A submit_sm whose body does not decode: its own resp with an error status.
        sock.sendall(struct.pack(">IIII", 20, 0x00000004, 0, 3) + b"\x00\x01\x02\x03")
        _length, command, status, seq = struct.unpack(">IIII", sock.recv(16))
        assert (command, seq) == (0x80000004, 3)
        assert status != 0
        sock.sendall(struct.pack(">IIII", 9_000_000, 0x00000004, 0, 4))  # oversized
        assert struct.unpack(">IIII", sock.recv(16))[1:] == (0x80000000, 0x02, 4)
        assert sock.recv(16) == b""  # framing lost: closed


def test_the_gateways_fleet_owns_the_binds(smsc):
    """Built at start, rebuilt when its settings change (old binds closed first), all
    unbound when the gateway stops: no engine outlives the fleet that started it."""
    sim = smsc()
    config = {"host": "127.0.0.1", "port": sim.port, "system_id": "chappe",
              "password": "secret", "reconnect_min": 0.1}
    Connector.objects.create(name="carrier-a", type="smpp", config=config)
    with ConnectorFleet(process="gw:1") as fleet:
        first = fleet.refresh()["carrier-a"]
        wait_for(lambda: first.engine.transmitters, 5, "the first bind")
        Connector.objects.filter(name="carrier-a").update(config={**config, "binds": 2})
        second = fleet.refresh()["carrier-a"]
        assert second is not first
        assert not first.engine.running
        wait_for(lambda: len(second.engine.transmitters) == 2, 5, "the two new binds")
        wait_for(lambda: retry_locked(SmppBindState.objects.filter(
            connector="carrier-a", state="bound").count) == 2, 5, "the bind state report")
    assert not second.engine.running
    wait_for(lambda: sim.call(lambda: not sim.sim.sessions), 5, "every bind to close")
    assert sim.sim.stats["binds"] == 3
    assert not retry_locked(SmppBindState.objects.exists)
