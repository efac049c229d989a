"""The SMPP carrier connector against an SMSC peer that shares none of our code: a small
SMSC written here on smpplib's PDU classes (an independent SMPP 3.4 implementation) —
bind, submit_sm (GSM-7 and UCS-2), delivery receipts and an MO by deliver_sm, unbind."""

import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.utils import timezone
from smpplib import consts
from smpplib.smpp import make_pdu, parse_pdu

from chappe.carriers.base import Outbound
from tests.processes import wait_for
from tests.protocol.conftest import retry_locked

pytestmark = pytest.mark.slow
SMSC_DELIVERY_RECEIPT = 0x04  # esm_class of a receipt (SMPP 3.4 §5.2.12; not in smpplib)


class Sequences:
    """The sequence numbers smpplib's PDUs draw from (its client's part)."""

    sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


class ForeignSmsc:
    """One ESME at a time over blocking sockets: answers binds (system_id "chappe",
    password "secret"), acknowledges each submit_sm with an id of its own, then sends a
    receipt for it (text and TLVs, as the specification's appendix B); a deliver_sm the
    ESME answers with an error is sent again, as SMSCs do."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.submits: list = []
        self.received: list[str] = []
        self.receipts_acked = 0
        self._unanswered: dict[int, dict] = {}
        self._sequences = Sequences()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _send(self, conn: socket.socket, command: str, answering=None, **fields) -> None:
        """Send a request (next sequence number) or the answer to `answering`."""
        with self._lock:
            pdu = make_pdu(command, client=self._sequences, **fields)
            if answering is not None:
                pdu.sequence = answering.sequence
            elif command == "deliver_sm":
                self._unanswered[pdu.sequence] = fields
            conn.sendall(pdu.generate())

    def _read(self, conn: socket.socket) -> bytes | None:
        head = conn.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            return None
        (length,) = struct.unpack(">L", head)
        return head + conn.recv(length - 4, socket.MSG_WAITALL)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while (data := self._read(conn)) is not None:
                pdu = parse_pdu(data, client=self._sequences, allow_unknown_opt_params=True)
                self.received.append(pdu.command)
                if pdu.command.startswith("bind_"):
                    ok = (pdu.system_id, pdu.password) == (b"chappe", b"secret")
                    self._send(conn, f"{pdu.command}_resp", answering=pdu,
                               status=consts.SMPP_ESME_ROK if ok else consts.SMPP_ESME_RBINDFAIL,
                               system_id="foreign")
                elif pdu.command == "enquire_link":
                    self._send(conn, "enquire_link_resp", answering=pdu)
                elif pdu.command == "submit_sm":
                    self._submit(conn, pdu)
                elif pdu.command == "deliver_sm_resp":
                    fields = self._unanswered.pop(pdu.sequence)
                    if pdu.status == consts.SMPP_ESME_ROK:
                        self.receipts_acked += 1
                    else:
                        self._send(conn, "deliver_sm", **fields)
                elif pdu.command == "unbind":
                    self._send(conn, "unbind_resp", answering=pdu)
                    return

    def _submit(self, conn: socket.socket, pdu) -> None:
        self.submits.append(pdu)
        smsc_id = f"F{len(self.submits):05d}"
        self._send(conn, "submit_sm_resp", answering=pdu, message_id=smsc_id)
        report = (f"id:{smsc_id} sub:001 dlvr:001 submit date:2612071200 done date:"
                  f"2612071201 stat:DELIVRD err:000 text:").encode()
        self._send(conn, "deliver_sm", source_addr=pdu.destination_addr.decode(),
                   destination_addr=pdu.source_addr.decode(),
                   esm_class=SMSC_DELIVERY_RECEIPT, short_message=report,
                   receipted_message_id=smsc_id, message_state=consts.SMPP_MESSAGE_STATE_DELIVERED)

    def mo(self, *, source: str, destination: str, text: str) -> None:
        self._send(self._conns[-1], "deliver_sm", source_addr=source, source_addr_ton=1,
                   source_addr_npi=1, destination_addr=destination, short_message=text.encode())

    def close(self) -> None:
        self.listener.close()
        for conn in self._conns:
            conn.close()


@pytest.fixture
def foreign_smsc() -> Iterator[ForeignSmsc]:
    smsc = ForeignSmsc()
    yield smsc
    smsc.close()


def _poll(connector):
    with transaction.atomic():
        polled = connector.poll(timezone.now())
        connector.ack({r.carrier_message_id for r in polled.receipts}, polled)
    return polled


@pytest.mark.django_db(transaction=True)
def test_connector_against_an_smsc_built_on_smpplib(foreign_smsc, smpp_start):
    connector = smpp_start("foreign", {
        "host": "127.0.0.1", "port": foreign_smsc.port, "system_id": "chappe",
        "password": "secret", "reconnect_min": 0.1, "reconnect_max": 0.5,
        "response_timeout": 2.0, "bind_wait": 3.0, "enquire_link": 0.3})
    wait_for(lambda: not connector.engine.is_down() and connector.engine.transmitters, 5,
             "the connector to bind")

    results = connector.submit([
        Outbound(message_id="m-1", recipient="+33612345678", sender="Chappe",
                 text="Bonjour à vous", encoding="gsm7", segments=1),
        Outbound(message_id="m-2", recipient="+33612345679", sender="+33755555555",
                 text="Votre colis 📦", encoding="ucs2", segments=1),
    ])

    assert [(r.message_id, r.carrier_message_id, r.error_code) for r in results] == [
        ("m-1", "F00001", ""), ("m-2", "F00002", "")]
    gsm, ucs2 = foreign_smsc.submits
    assert (gsm.destination_addr, gsm.dest_addr_ton, gsm.dest_addr_npi) == (
        b"33612345678", 1, 1)
    assert (gsm.source_addr, gsm.source_addr_ton) == (b"Chappe", 5)
    assert gsm.data_coding == 0
    assert gsm.registered_delivery == 1
    assert ucs2.data_coding == 8
    assert ucs2.short_message.decode("utf-16-be") == "Votre colis 📦"
    assert (ucs2.source_addr, ucs2.source_addr_ton) == (b"33755555555", 1)

    receipts = []
    wait_for(lambda: receipts.extend(retry_locked(_poll, connector).receipts) or
             len(receipts) == 2, 10, "both receipts")
    assert sorted((r.carrier_message_id, r.status) for r in receipts) == [
        ("F00001", "delivered"), ("F00002", "delivered")]
    wait_for(lambda: foreign_smsc.receipts_acked == 2, 5, "both receipts acknowledged")

    foreign_smsc.mo(source="33612345678", destination="Chappe", text="STOP")
    inbound = []
    wait_for(lambda: inbound.extend(retry_locked(_poll, connector).inbound) or inbound, 10,
             "the MO")
    assert [(mo.from_number, mo.text) for mo in inbound] == [("+33612345678", "STOP")]
    wait_for(lambda: "enquire_link" in foreign_smsc.received, 5, "a keep-alive")

    connector.stop()
    assert foreign_smsc.received[-1] == "unbind"
