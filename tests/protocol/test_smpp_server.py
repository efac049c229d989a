"""The SMPP server for clients, driven by smpplib (an independent SMPP client) over TCP:
bind auth, short/long GSM and UCS-2 submits through sms_send, receipts back as deliver_sm
(queued while unbound), MOs, query_sm/cancel_sm, throttling, malformed PDUs."""

import socket
import struct

import pytest
import smpplib.exceptions
import smpplib.smpp

from chappe.accounts.actor import SYSTEM
from chappe.carriers.services import simulator_ensure
from chappe.carriers.simulator.connector import simulator_inject_mo
from chappe.messaging.models import Message
from chappe.smpp import pdu as P
from chappe.smpp_server.models import SmppSubmission
from chappe.smpp_server.services import smpp_account_create
from tests.processes import wait_for
from tests.protocol.conftest import retry_locked
from tests.protocol.smppclient import Client, deliver_all

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
LONG_GSM = "Rendez-vous demain à 10h {salle B} — non: prix 5€. " * 6
SHORT_UCS2 = "Привет, ça va? 👋"
LONG_UCS2 = "Длинное сообщение в UCS-2 с эмодзи 😀 и французским: été. " * 3  # noqa: RUF001


def test_client_sends_short_and_long_gsm_and_ucs2_and_gets_receipts(server, credentials):
    simulator_ensure(config={"latency_ms": 0})
    client = Client(server.port)
    client.smpp.bind_transceiver(system_id=credentials[0], password=credentials[1])
    texts = {"+33600000001": "Bonjour", "+33611111111": LONG_GSM,
             "+33622222222": SHORT_UCS2, "+33633333333": LONG_UCS2,
             "+33600000002": "Will fail"}
    sent = {number: client.send(number, text) for number, text in texts.items()}
    client.read_until(lambda: client.answered([s for seqs in sent.values() for s in seqs]))
    assert not client.errors
    ids = {number: client.responses[seqs[-1]].message_id.decode()
           for number, seqs in sent.items()}
    for number, text in texts.items():
        message = Message.objects.get(pk=ids[number])
        assert (message.recipient, message.text) == (number, text)
    assert Message.objects.get(pk=ids["+33633333333"]).encoding == "ucs2"
    assert SmppSubmission.objects.count() == 5
    deliver_all()
    # Every part asked for a receipt: one comes for each id given (parts' and messages').
    given = {client.responses[seq].message_id.decode(): number
             for number, seqs in sent.items() for seq in seqs}
    assert len(given) > len(ids)
    client.read_until(lambda: len(client.delivered) >= len(given))
    receipts = {pdu.receipted_message_id.decode(): pdu for pdu in client.delivered}
    assert set(receipts) == set(given)
    assert receipts[ids["+33600000002"]].message_state == 5
    assert b"stat:UNDELIV err:001" in receipts[ids["+33600000002"]].short_message
    assert all(receipts[ids[n]].message_state == 2 for n in texts if n != "+33600000002")
    client.read_until(lambda: not retry_locked(
        SmppSubmission.objects.filter(receipt_sent_at__isnull=True).exists))
    client.smpp.unbind()
    client.smpp.disconnect()


def test_receipts_wait_for_a_receiver_bind_and_mos_follow(server, credentials):
    simulator_ensure(config={"latency_ms": 0})
    tx = Client(server.port)
    tx.smpp.bind_transmitter(system_id=credentials[0], password=credentials[1])
    seqs = tx.send("+33600000001", "Hello")
    tx.read_until(lambda: tx.answered(seqs))
    message_id = tx.responses[seqs[0]].message_id.decode()
    deliver_all()
    assert Message.objects.get(pk=message_id).status == "delivered"
    rounds = server.push_rounds
    wait_for(lambda: server.push_rounds >= rounds + 2, 5, "the server to look for receivers")
    assert SmppSubmission.objects.get(pk=message_id).receipt_sent_at is None  # no receiver
    simulator_inject_mo(connector="simulator", from_number="+33600000001", to="Acme",
                        text=LONG_UCS2)
    deliver_all()
    rx = Client(server.port)
    rx.smpp.bind_receiver(system_id=credentials[0], password=credentials[1])
    rx.read_until(lambda: len(rx.delivered) >= 1 + 3)
    receipt = next(p for p in rx.delivered if p.receipted_message_id)
    assert receipt.receipted_message_id.decode() == message_id
    mo_parts = sorted((p for p in rx.delivered if not p.receipted_message_id),
                      key=lambda p: p.short_message[5])
    body = b"".join(p.short_message[6:] for p in mo_parts)
    assert body.decode("utf-16-be") == LONG_UCS2


def test_bind_authentication(server, credentials):
    """An unknown system_id and a wrong password get the same answer."""
    for system_id, password in (("acme", "wrong"), ("nobody", "x")):
        client = Client(server.port)
        with pytest.raises(smpplib.exceptions.PDUError) as error:
            client.smpp.bind_transceiver(system_id=system_id, password=password)
        assert error.value.args[1] == P.RBINDFAIL
        client.smpp.disconnect()


def test_throttling_and_credit_map_to_smpp_statuses(server, account, make_account,
                                                    credentials):
    from chappe.smpp_server.models import SmppAccount

    SmppAccount.objects.filter(system_id="acme").update(max_msg_per_s=5)
    client = Client(server.port)
    client.smpp.bind_transceiver(system_id="acme", password="pw123")
    seqs = [s for i in range(15) for s in client.send(f"+336123450{i:02d}", "Hi")]
    client.read_until(lambda: client.answered(seqs))
    assert 0x58 in client.errors.values()  # ESME_RTHROTTLED
    assert 1 <= len(set(client.responses) - set(client.errors)) <= 6
    poor = make_account("Poor")
    smpp_account_create(actor=SYSTEM.on(poor), account=poor, system_id="poor", password="pw")
    other = Client(server.port)
    other.smpp.bind_transceiver(system_id="poor", password="pw")
    seqs = other.send("+33612345678", "Hi")
    other.read_until(lambda: other.answered(seqs))
    assert list(other.errors.values()) == [0x45]  # ESME_RSUBMITFAIL: no credit
    assert not Message.objects.filter(account=poor).exists()


def test_query_and_cancel(server, credentials):
    client = Client(server.port)
    client.smpp.bind_transceiver(system_id="acme", password="pw123")
    pdu = client.smpp.send_message(
        source_addr_ton=5, source_addr="Acme", dest_addr_ton=1, destination_addr="33612345678",
        short_message=b"Cancel me", schedule_delivery_time="000001000000000R")  # in 1 day
    client.read_until(lambda: client.answered([pdu.sequence]))
    message_id = client.responses[pdu.sequence].message_id.decode()
    assert Message.objects.get(pk=message_id).status == "scheduled"
    query = smpplib.smpp.make_pdu("query_sm", client=client.smpp, message_id=message_id,
                                  source_addr="Acme")
    client.smpp.send_pdu(query)
    response = client.smpp.read_pdu()
    assert (response.command, response.message_state) == ("query_sm_resp", 1)  # ENROUTE
    # smpplib has no cancel_sm: encode it with our codec, read the answer's header.
    cancel = P.op.CancelSM(seqNum=900, service_type="", message_id=message_id,
                           source_addr_ton=P.ton(5), source_addr_npi=P.npi(0),
                           source_addr="Acme", dest_addr_ton=P.ton(1), dest_addr_npi=P.npi(1),
                           destination_addr="33612345678")
    sock = client.smpp._socket
    sock.sendall(P.encode(cancel))
    assert struct.unpack(">IIII", sock.recv(16))[1:] == (0x80000008, 0, 900)
    assert Message.objects.get(pk=message_id).status == "canceled"
    sock.sendall(P.encode(cancel))
    assert struct.unpack(">IIII", sock.recv(16))[1:3] == (0x80000008, 0x11)  # RCANCELFAIL


def test_malformed_pdus_do_not_disturb_other_binds(server, credentials):
    client = Client(server.port)
    client.smpp.bind_transceiver(system_id="acme", password="pw123")
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as raw:
        submit = P.submit_sm(source="Acme", source_ton=5, source_npi=0, destination="336",
                             dest_ton=1, dest_npi=1, short_message=b"Hi", data_coding_value=0)
        submit.seqNum = 1
        raw.sendall(P.encode(submit))  # before any bind
        assert struct.unpack(">IIII", raw.recv(16))[1:3] == (0x80000004, 0x04)
        raw.sendall(struct.pack(">IIII", 16, 0x000000AA, 0, 2))  # unknown command
        assert struct.unpack(">IIII", raw.recv(16))[1:3] == (0x80000000, 0x03)
        raw.sendall(struct.pack(">IIII", 24, 0x00000009, 0, 3) + b"ab")  # truncated
        raw.shutdown(socket.SHUT_WR)
        assert raw.recv(16) == b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as raw:
        raw.sendall(struct.pack(">IIII", 0xFFFFFF, 0x00000004, 0, 4))  # oversized
        assert struct.unpack(">IIII", raw.recv(16))[1:3] == (0x80000000, 0x02)
    seqs = client.send("+33612345678", "Still here")
    client.read_until(lambda: client.answered(seqs))
    assert not client.errors
    assert Message.objects.filter(text="Still here").count() == 1
