"""What the SMPP server's wire tests share: smpplib (an independent SMPP client) with
handlers collecting what arrives, raw PDUs over a socket, and delivering every queued
message through the simulator so that receipts come back."""

import socket
import struct
import time
from typing import Any

import pytest
import smpplib.client
import smpplib.consts
import smpplib.gsm

from chappe.carriers.fleet import ConnectorFleet
from chappe.carriers.selectors import routes_load
from chappe.messaging.models import Message
from chappe.messaging.services.dispatch import dispatch_batch
from chappe.runtime.gateway import gateway_poll
from chappe.smpp import pdu as P
from tests.protocol.conftest import retry_locked


class Client:
    """smpplib with its handlers collecting what arrives."""

    def __init__(self, port: int) -> None:
        self.smpp = smpplib.client.Client("127.0.0.1", port, timeout=5,
                                          allow_unknown_opt_params=True)
        self.responses: dict[int, Any] = {}
        self.errors: dict[int, int] = {}
        self.delivered: list = []
        self.smpp.set_message_sent_handler(lambda pdu: self.responses.__setitem__(
            pdu.sequence, pdu))
        self.smpp.set_message_received_handler(lambda pdu: self.delivered.append(pdu))
        self.smpp.set_error_pdu_handler(lambda pdu: self.errors.__setitem__(
            pdu.sequence, pdu.status))
        self.smpp.connect()

    def send(self, destination: str, text: str, *, receipt: bool = True) -> list[int]:
        parts, encoding, esm = smpplib.gsm.make_parts(text)
        sequences = []
        for part in parts:
            pdu = self.smpp.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM, source_addr="Acme",
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL, destination_addr=destination,
                short_message=part, data_coding=encoding, esm_class=esm,
                registered_delivery=receipt)
            sequences.append(pdu.sequence)
        return sequences

    def read_until(self, condition, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        self.smpp._socket.settimeout(0.2)
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail("timed out reading from the SMPP server")
            try:
                self.smpp.read_once(auto_send_enquire_link=False)
            except TimeoutError:
                continue

    def answered(self, sequences: list[int]) -> bool:
        return all(s in self.responses or s in self.errors for s in sequences)


class Raw:
    """PDUs encoded by our codec over a plain socket, read back header first."""

    def __init__(self, port: int, source: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5,
                                             source_address=(source, 0))

    def send(self, pdu: Any, seq: int) -> None:
        pdu.seqNum = seq
        self.sock.sendall(P.encode(pdu))

    def read(self) -> tuple[int, int, int, bytes]:
        """(command_id, command_status, sequence_number, whole PDU) of the next PDU."""
        header = self._exactly(16)
        length, command, status, seq = struct.unpack(">IIII", header)
        return command, status, seq, header + self._exactly(length - 16)

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk
        return data

    def bind(self, system_id: str, password: str, seq: int = 1, mode: str = "trx") -> int:
        self.send(P.bind(mode, system_id=system_id, password=password), seq)
        return self.read()[1]

    def close(self) -> None:
        self.sock.close()


def deliver_all() -> None:
    """Dispatch what is queued to the simulator and poll its receipts, until nothing is
    left queued or sent."""
    connectors = retry_locked(ConnectorFleet(process="test").refresh)
    routes = retry_locked(routes_load)
    deadline = time.monotonic() + 30  # returns as soon as all is delivered
    while time.monotonic() < deadline:
        retry_locked(dispatch_batch, worker="test:1", connectors=connectors, routes=routes)
        retry_locked(gateway_poll, connectors)
        if not Message.objects.filter(status__in=["queued", "sent"]).exists():
            return
    pytest.fail("messages still queued or sent")
